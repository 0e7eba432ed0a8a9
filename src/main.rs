//! `bulkwriter`: converts datasets into Milvus bulk-import files.
//!
//! Layout: `cli` parses arguments (clap); `convert` validates them into a configuration and
//! runs the pipeline (convert and validate); `input` reads every input format as rows or
//! Arrow batches; `report` draws progress and prints messages on stderr; `schema_cmd` writes
//! schema templates and infers schemas; `interrupt` turns Ctrl-C into a clean stop;
//! `import_cmd` starts, watches and lists import jobs
//! through `bulkwriter_import`. The libraries do the work: `bulkwriter_schema`
//! (schemas and rules), `bulkwriter_writer` (segments and encodings) and `bulkwriter_sink`
//! (storage).

mod cli;
mod convert;
mod import_cmd;
mod input;
mod interrupt;
mod report;
mod schema_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Convert(args) => args.input.log_format,
        Command::Validate(args) => args.input.log_format,
        Command::Schema(_) | Command::Import(_) => LogFormat::Text,
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            report::print_error(log_format, &error);
            if error.downcast_ref::<interrupt::Interrupted>().is_some() {
                ExitCode::from(interrupt::EXIT_CODE)
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
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.into())
                    .build_global()
                    .map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
            }
            let config = convert::ConvertConfig::try_from(*args)?;
            interrupt::install()?;
            let mut manifest = convert::run(&config)?;
            if let Some((target, job)) = &config.import {
                match import_cmd::submit_manifest(target, job, &serde_json::to_value(&manifest)?) {
                    Ok(job) => manifest.import = Some(job),
                    Err(error) => {
                        // The files are written: print where, so the import can be retried.
                        println!("{}", serde_json::to_string(&manifest)?);
                        return Err(error.context(
                            "the files were written (manifest on stdout), but the import failed; retry with `bulkwriter import create --manifest`",
                        ));
                    }
                }
            }
            println!("{}", serde_json::to_string(&manifest)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(command) => {
            println!("{}", serde_json::to_string(&import_cmd::run(*command)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => {
            let config = convert::InputConfig::try_from(args.input)?;
            let report = convert::validate(config)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Schema(command) => {
            println!("{}", schema_cmd::run(command)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
