//! loadplan: declarative load tests and deployment health checks from YAML plans.

pub mod demo;
