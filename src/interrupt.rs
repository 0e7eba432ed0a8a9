//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `convert`: the first one sets the run's cancel
//! flag, so the run stops after the current row, writes the segment in progress and reports
//! how to resume; a second one ends the process at once (the manifest still lists only
//! complete segments). Either way the exit code is 128 + the signal's number, as shells
//! report a process a signal ended: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The first signal received.
static SIGNAL: AtomicI32 = AtomicI32::new(SIGINT);

/// Installs the handler: a thread that waits for the signals.
pub fn install() -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if REQUESTED.swap(true, Ordering::SeqCst) {
                    eprintln!("interrupted again: stopping now");
                    std::process::exit(128 + signal);
                }
                SIGNAL.store(signal, Ordering::SeqCst);
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start the signal thread: {e}"))?;
    Ok(())
}

/// The cancel flag the handler sets, for the run.
pub fn flag() -> &'static AtomicBool {
    &REQUESTED
}

/// The exit code after an interruption: 128 + the number of the signal that asked for it.
pub fn exit_code() -> u8 {
    u8::try_from(128 + SIGNAL.load(Ordering::SeqCst)).unwrap_or(130)
}
