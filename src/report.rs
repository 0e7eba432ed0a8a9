//! What the user sees on stderr: a progress bar when stderr is a terminal, warnings, and a
//! final summary — as text, or as one JSON object per line with `--log-format json`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use bulkwriter_convert::{ConvertError, Progress};
use bulkwriter_input::RowPosition;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::LogFormat;

/// Messages and progress for one run.
pub struct Reporter {
    format: LogFormat,
    quiet: bool,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Reporter {
    /// A reporter; the bar is drawn once the run starts, only for text output to a terminal,
    /// without `--quiet`.
    pub fn new(format: LogFormat, quiet: bool) -> Reporter {
        Reporter {
            format,
            quiet,
            bar: None,
            started: Instant::now(),
        }
    }

    /// Draws the bar: `total_bytes` is the size of all inputs, when known.
    fn draw_bar(&mut self, total_bytes: Option<u64>) {
        let draw = self.format == LogFormat::Text
            && !self.quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("BULKWRITER_NO_PROGRESS").is_none();
        let bar = draw.then(|| {
            let bar = match total_bytes {
                Some(total) => ProgressBar::with_draw_target(
                    Some(total),
                    ProgressDrawTarget::stderr_with_hz(8),
                )
                .with_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8))
                    .with_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec}) {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    ),
            };
            bar.enable_steady_tick(Duration::from_millis(125));
            bar
        });
        self.bar = bar;
        self.started = Instant::now();
    }

    /// Time since the reporter started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Prints a line above the bar (text) or a JSON event.
    fn emit(&self, level: &str, text: &str, event: Value) {
        match self.format {
            LogFormat::Json => eprintln!("{event}"),
            LogFormat::Text => {
                let line = format!("{level}: {text}");
                match &self.bar {
                    Some(bar) => bar.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
        }
    }

    /// Clears the bar and prints the summary (`fields` become the JSON event).
    pub fn finish(&self, text: &str, fields: Value) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.quiet && self.format == LogFormat::Text {
            return;
        }
        let mut event = json!({"level": "info", "event": "summary"});
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        self.emit("done", text, event);
    }

    /// Clears the bar without a summary (on failure).
    pub fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Reporter {
    fn start(&mut self, total_bytes: Option<u64>) {
        self.draw_bar(total_bytes);
    }

    /// Moves the bar: input bytes consumed, rows so far, the segment being filled.
    fn progress(&mut self, bytes: u64, rows: u64, rejected: u64, segment: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            let rejected = if rejected > 0 {
                format!(", {rejected} rejected")
            } else {
                String::new()
            };
            bar.set_message(format!(
                "{rows} rows ({rate:.0}/s{rejected}), segment {segment}"
            ));
        }
    }

    /// A warning (always shown, even with `--quiet`).
    fn warn(&mut self, message: &str) {
        self.emit(
            "warning",
            message,
            json!({"level": "warning", "message": message}),
        );
    }

    /// A rejected row (validate lists them all).
    fn rejected_row(&mut self, message: &str) {
        self.emit(
            "rejected",
            message,
            json!({"level": "warning", "event": "rejected", "message": message}),
        );
    }
}

/// Prints a fatal error the way the run's messages are printed.
/// In JSON, an error about a row also carries its file, row, line and field as keys.
pub fn print_error(format: LogFormat, error: &anyhow::Error) {
    let message = crate::hints::describe(error);
    match format {
        LogFormat::Json => {
            let mut event = json!({"level": "error", "message": message});
            if let Some((file, position, field)) = bad_row(error) {
                event["file"] = json!(file);
                event["row"] = json!(position.row);
                if let Some(line) = position.line {
                    event["line"] = json!(line);
                }
                if !field.is_empty() {
                    event["field"] = json!(field);
                }
            }
            eprintln!("{event}");
        }
        LogFormat::Text => eprintln!("error: {message}"),
    }
}

/// The bad row an error is about, also when it stopped a run that had written segments.
fn bad_row(error: &anyhow::Error) -> Option<(&str, RowPosition, &str)> {
    let mut convert = error.downcast_ref::<ConvertError>()?;
    loop {
        match convert {
            ConvertError::Partial { source, .. } => convert = source,
            ConvertError::BadRow {
                file,
                position,
                field,
                ..
            } => return Some((file, *position, field)),
            _ => return None,
        }
    }
}
