//! What a run tells its caller while it works, and how the caller stops it: the [`Progress`]
//! trait (a terminal bar, a log, a Python callback) and a cancel flag.

/// Receives a run's progress and messages. Every method has a default that does nothing.
pub trait Progress {
    /// The run starts; `total_bytes` is the size of every input, when known.
    fn start(&mut self, total_bytes: Option<u64>) {
        let _ = total_bytes;
    }

    /// After each chunk: input bytes consumed, rows accepted and rejected so far, and the
    /// segment being filled (1-based).
    fn progress(&mut self, bytes: u64, rows: u64, rejected: u64, segment: u64) {
        let _ = (bytes, rows, rejected, segment);
    }

    /// Something the user should know that does not stop the run.
    fn warn(&mut self, message: &str) {
        let _ = message;
    }

    /// A row was rejected (validation reports each one): `file: position, field: reason`.
    fn rejected_row(&mut self, message: &str) {
        let _ = message;
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
