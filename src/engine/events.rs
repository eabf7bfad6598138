//! The events one job instance emits, in order. Every consumer (journal
//! writer, headless reporter, TUI store) sees the same sequence, so a run in
//! the TUI and the same run headless leave the same journal.
//!
//! Hosts and steps are referred to by index into the lists announced in
//! `InstanceStarted`, which keeps high-volume events (output) small.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A job instance's id, as allocated by the journal.
pub type InstanceId = i64;
/// Index into `InstanceStarted::hosts`.
pub type HostIndex = usize;
/// Index into `InstanceStarted::steps`.
pub type StepIndex = usize;
/// Index into `InstanceStarted::batches`.
pub type BatchIndex = usize;

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

pub fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where a host stands. The terminal states after `Running` describe how its
/// last step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Pending,
    Connecting,
    Running,
    Ok,
    /// The command exited non-zero (or was killed by a signal).
    Failed,
    TimedOut,
    Unreachable,
    AuthFailed,
    HostKeyRejected,
    Cancelled,
    /// An operator skipped the host, or the run ended before it started.
    Skipped,
    /// A step failed and the flow's rollback section ran on the host.
    RolledBack,
    /// jobdeck stopped while the host was running.
    Interrupted,
}

impl HostStatus {
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            HostStatus::Pending | HostStatus::Connecting | HostStatus::Running
        )
    }

    /// Counts against `--max-fail`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            HostStatus::Failed
                | HostStatus::TimedOut
                | HostStatus::Unreachable
                | HostStatus::AuthFailed
                | HostStatus::HostKeyRejected
                | HostStatus::RolledBack
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Running,
    /// Between batches: waiting out an interval or for a confirmation.
    Waiting,
    Paused,
    Ok,
    /// Finished, with at least one host failed.
    Failed,
    /// Stopped by an operator or by `--max-fail`.
    Aborted,
    /// jobdeck stopped (or was killed) before the instance finished; resumable.
    Interrupted,
}

impl InstanceStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            InstanceStatus::Ok
                | InstanceStatus::Failed
                | InstanceStatus::Aborted
                | InstanceStatus::Interrupted
        )
    }
}

/// How one step ended on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub status: HostStatus,
    pub exit_code: Option<i32>,
    /// The signal name when the command was killed by one (`KILL`, `TERM`).
    pub signal: Option<String>,
    /// A human reason for non-command failures (refused, auth, host key).
    pub error: Option<String>,
}

/// Why the engine is waiting before the next batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The batch interval (`--interval 2h`); `until` says when it ends.
    Interval,
    /// Mode `confirm`: an operator must confirm the next batch.
    Confirm,
    /// Mode `pause-on-failure`: a host failed; an operator must resume.
    Failure,
    /// Before the first batch: another run holds the run's lock.
    Lock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    InstanceStarted {
        flow: String,
        hosts: Vec<String>,
        /// The flow's steps, then its rollback steps (named `rollback: NAME`).
        steps: Vec<String>,
        /// Host indexes of each batch, in run order.
        batches: Vec<Vec<HostIndex>>,
    },
    BatchStarted {
        batch: BatchIndex,
    },
    /// The host's connection is being opened (before its first step runs).
    HostConnecting {
        host: HostIndex,
    },
    StepStarted {
        host: HostIndex,
        step: StepIndex,
        /// 1 for the first try; retries count up.
        attempt: u32,
    },
    Output {
        host: HostIndex,
        step: StepIndex,
        stream: Stream,
        /// Raw bytes as the host sent them (not necessarily UTF-8).
        #[serde(with = "bytes_lossy")]
        data: Bytes,
    },
    StepFinished {
        host: HostIndex,
        step: StepIndex,
        attempt: u32,
        outcome: StepOutcome,
    },
    HostFinished {
        host: HostIndex,
        status: HostStatus,
    },
    /// Sent again, with new counts, when hosts of a finished batch were
    /// retried while the run waited between batches.
    BatchFinished {
        batch: BatchIndex,
        ok: usize,
        failed: usize,
    },
    Waiting {
        /// The batch that starts when the wait ends.
        next_batch: BatchIndex,
        reason: WaitReason,
        /// When an interval ends (Unix ms); `None` when an operator decides.
        until: Option<UnixMillis>,
    },
    /// An approval step was reached in a batch; hosts wait at it.
    ApprovalRequested {
        batch: BatchIndex,
        step: StepIndex,
        message: String,
    },
    Approved {
        batch: BatchIndex,
        step: StepIndex,
    },
    Paused,
    Resumed,
    /// Values a step printed with `::set name=value`, for later steps.
    Exported {
        host: HostIndex,
        step: StepIndex,
        name: String,
        value: String,
    },
    InstanceFinished {
        status: InstanceStatus,
        /// Why, when it did not end ok (max-fail exceeded, aborted by operator).
        reason: Option<String>,
    },
    /// A guard rule matched what the run will send to its hosts; `outcome`
    /// says what came of it. Comes before `InstanceStarted`.
    GuardHit {
        hit: Box<crate::guard::HitRecord>,
    },
    /// Confirm rules matched: the run waits until an operator typed each
    /// rule's word (`Control::ConfirmGuard`). A headless run is refused.
    GuardConfirmNeeded {
        hits: Vec<crate::guard::HitRecord>,
    },
    /// The run waits for a lock another run holds; `until` is when it
    /// gives up (`None`: it does not wait, and is refused).
    LockWaiting {
        name: String,
        holder: Box<Holder>,
        until: Option<UnixMillis>,
    },
    LockAcquired {
        name: String,
    },
    /// Pre-flight results for every host checked (after `InstanceStarted`).
    PreflightChecked {
        mode: crate::preflight::PreflightMode,
        hosts: Vec<crate::preflight::Readiness>,
    },
    /// A step waits for its turn on its host: `limit` jobdeck steps already
    /// run there (the per-host limit), held by `holders`.
    HostSlotWaiting {
        host: HostIndex,
        step: StepIndex,
        limit: u32,
        holders: Vec<Holder>,
    },
    /// The run did not start: the guard blocked it, nobody confirmed a
    /// confirm rule, its lock was held, or a strict pre-flight failed. Its
    /// hosts end skipped; `InstanceFinished` (aborted) follows.
    RunRefused {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub instance: InstanceId,
    pub at: UnixMillis,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn now(instance: InstanceId, kind: EventKind) -> Event {
        Event {
            instance,
            at: now_millis(),
            kind,
        }
    }
}

/// Output bytes in JSON: UTF-8 text when valid (lossy otherwise). Exact
/// bytes are kept in the journal; JSON lines are for reading.
mod bytes_lossy {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(Bytes::from(String::deserialize(d)?))
    }
}

/// Stable snake_case names (the same as serde's), for the journal's TEXT
/// columns and for plain-text reports.
macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            pub fn parse(name: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(Stream { Stdout => "stdout", Stderr => "stderr" });
names!(HostStatus {
    Pending => "pending",
    Connecting => "connecting",
    Running => "running",
    Ok => "ok",
    Failed => "failed",
    TimedOut => "timed_out",
    Unreachable => "unreachable",
    AuthFailed => "auth_failed",
    HostKeyRejected => "host_key_rejected",
    Cancelled => "cancelled",
    Skipped => "skipped",
    RolledBack => "rolled_back",
    Interrupted => "interrupted",
});
names!(InstanceStatus {
    Running => "running",
    Waiting => "waiting",
    Paused => "paused",
    Ok => "ok",
    Failed => "failed",
    Aborted => "aborted",
    Interrupted => "interrupted",
});
names!(WaitReason { Interval => "interval", Confirm => "confirm", Failure => "failure", Lock => "lock" });

/// Who holds a lock or a host slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The run (`None` for a holder that recorded none).
    pub instance: Option<InstanceId>,
    pub user: String,
    /// The machine the holding jobdeck runs on.
    pub host: String,
    pub pid: u32,
    /// Since when (Unix ms).
    pub since: UnixMillis,
}

impl Holder {
    /// `run 12 (ops on ctl1, pid 4242)`; the caller adds the time.
    pub fn describe(&self) -> String {
        let run = match self.instance {
            Some(id) => format!("run {id}"),
            None => "a run".to_owned(),
        };
        format!("{run} ({} on {}, pid {})", self.user, self.host, self.pid)
    }

    /// `run 12 (ops on ctl1, pid 4242) since 2026-03-01 14:02:11`
    pub fn describe_since(&self) -> String {
        use chrono::TimeZone;
        let since = chrono::Local
            .timestamp_millis_opt(self.since)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| format!("@{}ms", self.since));
        format!("{} since {since}", self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_name<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn names_match_serde_and_parse_back() {
        for &s in HostStatus::ALL {
            assert_eq!(s.as_str(), serde_name(s));
            assert_eq!(HostStatus::parse(s.as_str()), Some(s));
        }
        for &s in InstanceStatus::ALL {
            assert_eq!(s.as_str(), serde_name(s));
            assert_eq!(InstanceStatus::parse(s.as_str()), Some(s));
        }
        for &s in Stream::ALL {
            assert_eq!(s.as_str(), serde_name(s));
        }
        for &s in WaitReason::ALL {
            assert_eq!(s.as_str(), serde_name(s));
        }
        assert_eq!(HostStatus::parse("nope"), None);
    }
}
