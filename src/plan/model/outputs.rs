//! Report files a run writes: the report stage's own settings (`crate::report::Outputs`),
//! named here so the plan's schema holds them.

pub use crate::report::{OutputFormat, Outputs};
