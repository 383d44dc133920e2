//! The one integration-test binary: drives the real `loadplan` binary and the library.
// A test binary: panicking on unexpected errors is the point, and nothing here is an API.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod cli;
mod compare;
mod engine;
mod flags;
mod health;
mod hostile;
mod leaks;
mod plans;
mod props;
mod reports;
mod shards;
mod support;
mod tls;
mod trust;
