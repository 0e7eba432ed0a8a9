//! What the user sees on stderr: a progress bar when stderr is a terminal, warnings, and a
//! final summary — as text, or as one JSON object per line with `--log-format json`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

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
    /// A reporter; the bar is drawn only for text output to a terminal, without `--quiet`.
    /// `total_bytes` is the size of all inputs, when known.
    pub fn new(format: LogFormat, quiet: bool, total_bytes: Option<u64>) -> Reporter {
        let draw = format == LogFormat::Text
            && !quiet
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
        Reporter {
            format,
            quiet,
            bar,
            started: Instant::now(),
        }
    }

    /// Time since the reporter started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Moves the bar: input bytes consumed, rows so far, the segment being filled.
    pub fn progress(&self, bytes: u64, rows: u64, rejected: u64, segment: u64) {
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

    /// A warning (always shown, even with `--quiet`).
    pub fn warn(&self, message: &str) {
        self.emit(
            "warning",
            message,
            json!({"level": "warning", "message": message}),
        );
    }

    /// A rejected row (validate lists them all).
    pub fn rejected_row(&self, message: &str) {
        self.emit(
            "rejected",
            message,
            json!({"level": "warning", "event": "rejected", "message": message}),
        );
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

/// Prints a fatal error the way the run's messages are printed.
pub fn print_error(format: LogFormat, error: &anyhow::Error) {
    let message = describe(error);
    match format {
        LogFormat::Json => eprintln!("{}", json!({"level": "error", "message": message})),
        LogFormat::Text => eprintln!("error: {message}"),
    }
}

/// An error and its causes on one line, `outer: inner: ...`. Our error types already spell
/// out their source in their own message, so a cause whose text is already there is skipped.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
