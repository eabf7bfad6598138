//! One module per subcommand family; each turns parsed arguments into output.

pub mod grep;
pub mod history;
pub mod inventory;
pub mod journal;
pub mod rollout;
pub mod run;
pub mod schedule;
mod show_gather;
pub mod show_guardrails;
pub mod ssh;
pub mod stdout;
