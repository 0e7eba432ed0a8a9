//! `bulkwriter`: converts datasets into Milvus bulk-import files. This binary is only the
//! command-line front: `cli` parses arguments (clap); `config` turns them into the
//! libraries' checked options; `report` draws progress and prints messages on stderr (it is
//! the run's `Progress`); `hints` words library errors with the flags that fix them;
//! `interrupt` turns Ctrl-C into the run's cancel flag; `cpus` makes `--threads N` N cores;
//! `schema_cmd` writes schema templates; `import_cmd` starts, watches and lists import jobs
//! through `bulkwriter_import`.
//!
//! The libraries do the work: `bulkwriter_convert` (the run), `bulkwriter_input` (readers
//! and schema inference), `bulkwriter_writer` (segments and encodings), `bulkwriter_sink`
//! (storage) and `bulkwriter_schema` (schemas and rules).

mod cli;
mod config;
mod cpus;
mod hints;
mod import_cmd;
mod interrupt;
mod report;
mod schema_cmd;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use bulkwriter_convert::{ConvertError, RunSummary, ValidationReport};
use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, Command, LogFormat};
use crate::report::Reporter;

fn main() -> ExitCode {
    bulkwriter_writer::memory::keep_freed_memory_for_reuse();
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Convert(args) => args.input.log_format,
        Command::Validate(args) => args.input.log_format,
        Command::Schema(_) | Command::Import(_) | Command::Plan(_) => LogFormat::Text,
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            report::print_error(log_format, &error);
            let interrupted = matches!(
                error.downcast_ref::<ConvertError>(),
                Some(ConvertError::Interrupted { .. })
            );
            if interrupted {
                ExitCode::from(interrupt::exit_code())
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Convert(args) => {
            if let Some(threads) = args.threads {
                // Before any thread starts: they inherit the restriction.
                cpus::limit_to(threads.into()).map_err(|e| {
                    anyhow::anyhow!("--threads: cannot restrict the run's CPUs: {e}")
                })?;
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.into())
                    .build_global()
                    .map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
            }
            let config = config::ConvertConfig::try_from(*args)?;
            interrupt::install()?;
            let mut reporter = Reporter::new(config.output.log_format, config.output.quiet);
            let mut summary =
                bulkwriter_convert::run(&config.options, &mut reporter, interrupt::flag())
                    .inspect_err(|_| reporter.abandon())?;
            report_written(&reporter, &summary);
            if let Some((target, job)) = &config.import {
                // The run's manifest gives each group's rows and bytes to the plan.
                let manifest = run_manifest(&summary).unwrap_or(serde_json::to_value(&summary)?);
                match import_cmd::submit_manifest(target, job, &manifest, None) {
                    Ok(job) => summary.import = Some(job),
                    Err(error) => {
                        // The files are written: print where, so the import can be retried.
                        print_out(&serde_json::to_string(&summary)?);
                        return Err(error.context(
                            "the files were written (manifest on stdout), but the import failed; retry with `bulkwriter import create --manifest`",
                        ));
                    }
                }
            }
            print_out(&serde_json::to_string(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(command) => {
            print_out(&serde_json::to_string(&import_cmd::run(*command)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => {
            let (input, output) = config::input_options(args.input, Some(&args.target))?;
            let mut reporter = Reporter::new(output.log_format, output.quiet);
            // Validation writes nothing, so Ctrl-C simply ends it.
            let report =
                bulkwriter_convert::validate(&input, &mut reporter, &AtomicBool::new(false))
                    .inspect_err(|_| reporter.abandon())?;
            report_checked(&reporter, &report);
            print_out(&serde_json::to_string(&report)?);
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Schema(command) => {
            print_out(&schema_cmd::run(command)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(args) => {
            let plan = bulkwriter_convert::runs::plan(
                &args.runs,
                &args.storage_options,
                args.limits.limits(),
            )?;
            if plan.rows.unwrap_or(0) == 0 && plan.groups == 0 && !args.allow_empty {
                anyhow::bail!(
                    "the runs hold no rows ({} runs): nothing to import (--allow-empty accepts that)",
                    plan.runs.len()
                );
            }
            let text = serde_json::to_string_pretty(&plan)?;
            match &args.output {
                Some(path) => std::fs::write(path, text + "\n").map_err(|e| {
                    anyhow::anyhow!("cannot write --output {}: {e}", path.display())
                })?,
                None => print_out(&text),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints a result line on stdout. A reader that went away (`... | head -c 0`) is not an
/// error of the run: its files are complete and listed in its manifest, so the process ends
/// quietly instead of panicking as `println!` does.
fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// The run's own manifest (with each segment's rows and bytes), when it is a local file.
fn run_manifest(summary: &RunSummary) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(&summary.manifest).ok()?;
    serde_json::from_str(&text).ok()
}

/// The one-line summary of a conversion on stderr.
fn report_written(reporter: &Reporter, summary: &RunSummary) {
    let seconds = reporter.elapsed().as_secs_f64();
    let rate = summary.rows as f64 / seconds.max(1e-3);
    reporter.finish(
        &format!(
            "{} rows written ({} rejected) to {} {} segment(s) under {} in {seconds:.1} s ({rate:.0} rows/s)",
            summary.rows, summary.rejected, summary.segments, summary.format, summary.data_url,
        ),
        json!({"rows": summary.rows, "rejected": summary.rejected, "segments": summary.segments,
               "seconds": seconds, "data_url": summary.data_url}),
    );
}

/// The one-line summary of a validation on stderr.
fn report_checked(reporter: &Reporter, report: &ValidationReport) {
    reporter.finish(
        &format!(
            "{} rows checked: {} valid, {} rejected",
            report.rows, report.accepted, report.rejected
        ),
        json!({"rows": report.rows, "accepted": report.accepted, "rejected": report.rejected}),
    );
}
