//! Notifications: word of a run to a person — a webhook POST or a local
//! command with a JSON document on stdin.

pub mod target;

pub use target::{Channel, NotifyEvent, Target};
