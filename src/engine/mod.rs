//! The engine: runs a planned job instance over hosts in staged batches and
//! reports everything it does as `Event`s. It owns no terminal and no
//! database; the TUI, the headless reporter and the journal writer all
//! consume the same events.

pub mod control;
pub mod events;
pub mod exports;
pub mod gates;
pub mod host;
mod opening;
pub mod plan;
pub mod runner;
pub mod scrub;
pub mod sink;

pub use control::{Control, ControlHandle};
pub use events::{Event, EventKind, HostStatus, InstanceStatus};
pub use gates::{Coordinator, Gates, Holder, LockRequest};
pub use plan::{Action, HostStart, OnFailure, Plan, PlannedHost, PlannedStep, Policy, StartPoint};
pub use runner::run;
pub use sink::EventSink;
