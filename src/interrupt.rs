//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `convert`: the first one sets the run's cancel
//! flag, so the run stops after the current row, writes the segment in progress and reports
//! how to resume; a second one ends the process at once (the manifest still lists only
//! complete segments).

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

/// The cancel flag the handler sets, for the run.
pub fn flag() -> &'static AtomicBool {
    &REQUESTED
}
