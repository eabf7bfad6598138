//! The process's open-file limit (RLIMIT_NOFILE): raised to its hard
//! limit at start, read back when a run asks whether its connections fit.
//!
//! Every SSH connection is a socket and every local command three pipes,
//! so a wide run needs thousands of descriptors while most systems start
//! programs with a soft limit of 1024. The soft limit may be raised up to
//! the hard one without privileges; past that only the operator can help.

use std::io;

/// The soft (enforced) and hard (ceiling) limits on open files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub soft: u64,
    pub hard: u64,
}

/// The limits as they are now.
pub fn limits() -> io::Result<Limits> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Limits {
        soft: limit.rlim_cur,
        hard: limit.rlim_max,
    })
}

/// Raises the soft limit to the hard one and returns the limits after.
/// An unlimited hard limit is capped by the kernel's `fs.nr_open` (the
/// kernel refuses more than that); a failure leaves the limits as they
/// were, for the run's check to speak about.
pub fn raise_to_hard() -> io::Result<Limits> {
    let before = limits()?;
    let wanted = before.hard.min(kernel_ceiling());
    if wanted <= before.soft {
        return Ok(before);
    }
    let limit = libc::rlimit {
        rlim_cur: wanted as libc::rlim_t,
        rlim_max: before.hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    limits()
}

/// Descriptors this process has open now (`/proc/self/fd`), or `None`
/// where that cannot be read.
pub fn in_use() -> Option<u64> {
    // The listing's own descriptor is among the entries; it is gone after.
    let entries = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(entries.saturating_sub(1))
}

/// The most the kernel lets a process open (`fs.nr_open`, 1048576 unless
/// changed).
fn kernel_ceiling() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit_and_counts_open_files() {
        let after = raise_to_hard().unwrap();
        assert_eq!(after.soft, after.hard.min(kernel_ceiling()));
        // stdin, stdout, stderr at least.
        assert!(in_use().unwrap() >= 3);
    }
}
