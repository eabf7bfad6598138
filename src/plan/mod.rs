//! The planning layer: what a run will be, decided in one place for the
//! command line, the console and the scheduler.
//!
//! - `options`: run options as given (text) checked into a `Rollout` and
//!   the connection options; each problem names its option (`RunField`), so
//!   the command line names the flag and a form marks the field.
//! - `spec`: a run before it has an id (`RunSpec`), the flow's targets as
//!   the default selection, run order, ad-hoc command flows, the questions a
//!   run asks its operator.
//! - `build`: a spec and the inventory into the engine's `Plan`.
//! - `gates`: the plan's guard, lock, pre-flight and notification targets.
//! - `open_files`: whether the run's connections fit in the process's
//!   open-file limit, checked before anything is recorded or connects.
//! - `record`: a planned run recorded in the journal as a new instance.
//! - `past`: a recorded run turned back into a spec (rerun) or a plan that
//!   continues it (resume).
//! - `again`: a rerun recorded or a resume claimed, ready to run, for the
//!   command line and the console alike.
//! - `schedule`: what a schedule may hold, checked once for
//!   `jobdeck schedule add` and the console's schedule form.

pub mod again;
pub mod build;
pub mod gates;
pub mod open_files;
pub mod options;
pub mod past;
pub mod record;
pub mod schedule;
pub mod spec;

pub use again::{AgainRequest, Rerun, Resume, Resumed, require_answers};
pub use build::{PreparedPlan, build_plan, set_instance};
pub use gates::{RunKind, add_gates};
pub use open_files::check_open_files;
pub use options::{
    ConnectOptions, FieldError, Rollout, RolloutOptions, RunField, resolve_options, rollout,
};
pub use past::{
    AgainOptions, MissingSecrets, Past, RerunHosts, past_inventory, past_run, rerun_spec,
    resume_plan, resumed_hosts,
};
pub use record::prepare_instance;
pub use spec::{
    OperatorQuestion, RunSpec, adhoc_flow, in_run_order, operator_questions, selection_for,
};
