//! Which process owns a running instance, and whether it is still alive.
//!
//! A pid alone is not enough: after a crash the pid can be reused by an
//! unrelated process. The process start time (`/proc/<pid>/stat` field 22)
//! and the boot id tell the original owner from a newcomer.

use std::ffi::CStr;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    pub host: String,
    /// Clock ticks after boot at which the process started (Linux only).
    pub start: Option<i64>,
    pub boot_id: Option<String>,
}

impl ProcessIdentity {
    pub fn current() -> ProcessIdentity {
        let pid = std::process::id();
        ProcessIdentity {
            pid,
            host: hostname(),
            start: process_start_time(pid),
            boot_id: boot_id(),
        }
    }
}

/// What we can tell about a recorded owner from this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    Alive,
    Gone,
    /// It ran on another host: we cannot tell, so we leave it alone.
    Elsewhere,
}

pub fn owner_state(owner: &ProcessIdentity, here: &ProcessIdentity) -> OwnerState {
    if owner.host != here.host {
        return OwnerState::Elsewhere;
    }
    if let (Some(then), Some(now)) = (&owner.boot_id, &here.boot_id)
        && then != now
    {
        return OwnerState::Gone; // the machine rebooted since
    }
    if !pid_alive(owner.pid) {
        return OwnerState::Gone;
    }
    match (owner.start, process_start_time(owner.pid)) {
        (Some(then), Some(now)) if then != now => OwnerState::Gone, // pid reused
        _ => OwnerState::Alive,
    }
}

/// Whether a row held by `owner`, last renewed at `heartbeat_at`, no
/// longer holds at `now`: its heartbeat is older than `expiry` (or far in
/// the future: the clock went back), or this machine can tell its process
/// is gone. The scheduler lease, run locks and host slots all use this.
pub fn is_stale(
    owner: &ProcessIdentity,
    heartbeat_at: i64,
    now: i64,
    expiry: std::time::Duration,
) -> bool {
    let expiry = expiry.as_millis() as i64;
    let age = now - heartbeat_at;
    age > expiry
        || age < -expiry
        || owner_state(owner, &ProcessIdentity::current()) == OwnerState::Gone
}

/// Whether two identities are the same process (pid, host, start, boot).
pub fn same_process(a: &ProcessIdentity, b: &ProcessIdentity) -> bool {
    a.pid == b.pid && a.host == b.host && a.start == b.start && a.boot_id == b.boot_id
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // A zombie has exited; it only waits for its parent to reap it.
    if let Some(state) =
        proc_stat_fields(pid as u32).and_then(|f| f.first().and_then(|s| s.chars().next()))
    {
        return !matches!(state, 'Z' | 'X');
    }
    // Signal 0 checks existence; EPERM means it exists but belongs to someone else.
    // SAFETY: kill with signal 0 sends nothing; it only probes the pid.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The fields of `/proc/<pid>/stat` after the command name, starting with
/// field 3 (state). The name is in parentheses and may itself contain
/// spaces or parentheses, so split after the last `)`.
fn proc_stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

pub fn process_start_time(pid: u32) -> Option<i64> {
    // Field 22 (starttime) is index 22 - 3 in the fields after the name.
    proc_stat_fields(pid)?.get(22 - 3)?.parse().ok()
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned()).filter(|s| !s.is_empty())
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // on success when the name fits, and we force a final NUL regardless.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return "localhost".to_owned();
    }
    CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// The OS user running jobdeck, for the `os_user` column.
pub fn current_user() -> String {
    // SAFETY: getpwuid_r writes into our buffer; we read the name only when it
    // reports success and a non-null result.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            return CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
        }
        std::env::var("USER").unwrap_or_else(|_| format!("uid:{uid}"))
    }
}

/// Reads the owner columns (pid, host, start, boot id) starting at `first`.
pub(crate) fn owner_from_row(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Option<ProcessIdentity>> {
    let Some(pid) = row.get::<_, Option<u32>>(first)? else {
        return Ok(None);
    };
    Ok(Some(ProcessIdentity {
        pid,
        host: row.get::<_, Option<String>>(first + 1)?.unwrap_or_default(),
        start: row.get(first + 2)?,
        boot_id: row.get(first + 3)?,
    }))
}

/// A process of this machine that has exited: what a crashed owner looks
/// like to the owner check (for tests).
#[cfg(test)]
pub(crate) fn exited_process() -> ProcessIdentity {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    ProcessIdentity {
        pid,
        start: None,
        ..ProcessIdentity::current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_its_start_time_is_known() {
        let me = ProcessIdentity::current();
        assert!(me.start.is_some(), "Linux exposes /proc/self/stat");
        assert_eq!(owner_state(&me, &me), OwnerState::Alive);
    }

    #[test]
    fn a_reused_pid_counts_as_gone() {
        let me = ProcessIdentity::current();
        let earlier = ProcessIdentity {
            start: me.start.map(|s| s - 1),
            ..me.clone()
        };
        assert_eq!(owner_state(&earlier, &me), OwnerState::Gone);
    }

    #[test]
    fn another_host_is_left_alone() {
        let me = ProcessIdentity::current();
        let remote = ProcessIdentity {
            host: format!("{}-elsewhere", me.host),
            pid: 1,
            ..me.clone()
        };
        assert_eq!(owner_state(&remote, &me), OwnerState::Elsewhere);
    }

    #[test]
    fn an_exited_child_is_gone() {
        let me = ProcessIdentity::current();
        assert_eq!(owner_state(&exited_process(), &me), OwnerState::Gone);
    }
}
