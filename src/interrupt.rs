//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `convert`: the first one asks the pipeline to
//! stop after the current row, write the segment in progress and report how to resume; a
//! second one ends the process at once (the manifest still lists only complete segments).

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code after an interruption: 128 + SIGINT, as shells report Ctrl-C.
pub const EXIT_CODE: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler.
pub fn install() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("interrupted again: stopping now");
            std::process::exit(EXIT_CODE.into());
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// Whether an interruption was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// The error a run ends with after an interruption: where it stopped and how to go on.
#[derive(Debug)]
pub struct Interrupted {
    /// The run's folder.
    pub data_url: String,
    /// Input rows read (and written or rejected).
    pub input_rows: u64,
    /// Rows in complete segments.
    pub rows: u64,
    /// Complete segments.
    pub segments: usize,
    /// Whether the run can be resumed (not for validate).
    pub resumable: bool,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted after {} input rows: {} rows are in {} complete segment(s) under {}, listed in its manifest.json",
            self.input_rows, self.rows, self.segments, self.data_url
        )?;
        if self.resumable {
            write!(
                f,
                "; to continue, run the same command with --resume {}",
                self.data_url
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Interrupted {}
