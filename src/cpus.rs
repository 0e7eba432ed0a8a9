//! `--threads N` means N cores for the whole run, not only N parsing and encoding threads:
//! the run also has a storing thread, the reader's decoding and the uploads' runtime, which
//! would otherwise spread over every core. Restricting the process to N of the CPUs it may
//! use, before any of those threads start, makes `--threads 1` a one-core measurement.

/// Restricts the calling thread, and so every thread it starts later, to the first `cores`
/// of the CPUs it may run on. Nothing changes if it may use no more than that already, or on
/// systems without CPU affinity (there `--threads` sets only the worker threads).
pub fn limit_to(cores: usize) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use nix::sched::{CpuSet, sched_setaffinity};
        use nix::unistd::Pid;

        let usable = allowed_cpus().map_err(|e| e.to_string())?;
        if usable.len() <= cores {
            return Ok(());
        }
        let mut limited = CpuSet::new();
        for &cpu in &usable[..cores] {
            limited.set(cpu).map_err(|e| e.to_string())?;
        }
        sched_setaffinity(Pid::from_raw(0), &limited).map_err(|e| e.to_string())?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cores;
    Ok(())
}

/// The CPUs the calling thread may run on.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> nix::Result<Vec<usize>> {
    use nix::sched::{CpuSet, sched_getaffinity};

    let allowed = sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .collect())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    fn usable_cpus() -> usize {
        super::allowed_cpus().unwrap().len()
    }

    #[test]
    fn a_limited_thread_and_the_threads_it_starts_run_on_that_many_cpus() {
        let before = usable_cpus();
        // In a thread of its own: affinity is per thread, the test harness keeps its own.
        let (limited, inherited, unchanged) = std::thread::spawn(move || {
            super::limit_to(1).unwrap();
            let limited = usable_cpus();
            let inherited = std::thread::spawn(usable_cpus).join().unwrap();
            super::limit_to(before + 1).unwrap();
            (limited, inherited, usable_cpus())
        })
        .join()
        .unwrap();
        assert_eq!(limited, 1);
        assert_eq!(inherited, 1);
        // Asking for more than is allowed changes nothing (and is no error).
        assert_eq!(unchanged, 1);
        assert_eq!(usable_cpus(), before);
    }
}
