//! How the process's allocator treats freed memory, set once by a program that writes
//! segments (the command line, the Python module).
//!
//! The level and page buffers the Parquet encoder fills for every row group, and the batches
//! the readers decode, are a few to tens of MiB each. glibc serves blocks that large with a
//! fresh `mmap` and gives them back to the kernel on `free`, and trims free memory at the
//! top of the heap beyond 128 KiB, so each row group's buffers are new pages that the kernel
//! zeroes one fault at a time: measured, a fifth of the CPU time of writing medium_articles
//! segments (benches/python_api.py). Keeping blocks up to 64 MiB in the heap for reuse
//! removes most of it. Larger blocks (a segment's column buffers) keep their own mappings:
//! NumPy buffers are reused whole by the writer, and in the heap such blocks fragment it. With
//! a 256 MiB threshold a 1M-row Parquet run peaked at 1,014 MB instead of 729 MB, and was
//! not measurably faster.

/// Blocks up to this size come from the heap (and are reused) instead of their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 64 << 20;
/// Free memory at the top of the heap is given back to the kernel only beyond this much.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 128 << 20;

/// Makes glibc keep freed large blocks for reuse (see the module docs). Does nothing on
/// other platforms and C libraries, whose allocators keep such memory already or are not
/// tuned this way.
pub fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes two allocator parameters. It takes glibc's arena lock
    // itself, so it may be called at any time from any thread, and it touches no memory of
    // ours; the parameters are valid values (positive, below `INT_MAX`).
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
