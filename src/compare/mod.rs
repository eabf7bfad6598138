//! Spotting the odd host: outputs compared after what is host specific is
//! normalised away (`normalize`), hosts folded into groups of alike output
//! with the majority first (`group`), and each minority group shown as a
//! diff against the majority (`diff`). The headless `--gather` uses it; the
//! console's gathered view can too: nothing here prints or reads a file.

pub mod diff;
pub mod group;
pub mod normalize;

pub use diff::unified_diff;
pub use group::{Comparison, OutputGroup};
pub use normalize::{HostTerms, NormalizeOptions, Normalizer};
