//! `bulkwriter`: converts datasets into Milvus bulk-import files.
//!
//! Layout: `cli` parses arguments (clap), `convert` validates them into a configuration and
//! runs the conversion, `input` streams rows from JSON and JSONL. The libraries do the work:
//! `bulkwriter_schema` (schemas and rules), `bulkwriter_writer` (segments and encodings) and
//! `bulkwriter_sink` (storage).

mod cli;
mod convert;
mod input;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Convert(args) => {
            let config = convert::ConvertConfig::try_from(args)?;
            let manifest = convert::run(config)?;
            println!("{}", serde_json::to_string(&manifest)?);
            Ok(())
        }
    }
}
