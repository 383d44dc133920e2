//! Report files a run writes: the report stage's own settings (`crate::report::Outputs`),
//! named here so the plan's schema holds them.

pub(crate) use crate::report::{OutputFormat, Outputs};
