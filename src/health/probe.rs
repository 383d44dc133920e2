//! One HTTP try of a health policy, on the load's stack (`http`): the policy's request prepared
//! once (`Prepared`), rendered with the plan's globals only (env and variables: no auth, no
//! captures), sent on a fresh cookie-less connection with the try's time budget (a health check asks
//! whether a new client can be served, so no try leans on an earlier one's connection), and judged with the
//! engine's `check`. Health's default status range is 200–399 (load requests accept < 400).

use std::sync::Arc;
use std::time::Duration;

use minijinja::Value as Ctx;

use super::HealthError;
use super::policy::TryOutcome;
use crate::engine::request::{self, Prepared};
use crate::http::{self, Failure, HttpSettings};
use crate::metrics::FailureKind;
use crate::plan::CompiledPlan;
use crate::plan::compile::{CompiledChecks, CompiledHealth};
use crate::template::Templates;

/// Everything a policy's tries need; owns its parts so a during-load task can hold it.
#[derive(Debug)]
pub(crate) struct Prober {
    prepared: Prepared,
    http: HttpSettings,
    templates: Arc<Templates>,
    globals: Ctx,
    max_body: u64,
    // An answer may echo what was sent: every failure a try reports is masked with these.
    secrets: crate::secrets::Secrets,
}

impl Prober {
    /// Prepares a policy's request against `base_url`. The plan's default headers apply;
    /// `auth.apply` never does.
    pub(crate) fn new(
        plan: &CompiledPlan,
        policy: &CompiledHealth,
        base_url: &str,
        http: &HttpSettings,
        globals: Ctx,
    ) -> Result<Self, HealthError> {
        let base: Arc<str> = base_url.trim().into();
        let prepared = Prepared::new(
            &policy.request,
            0,
            &base,
            &plan.target.headers,
            policy.timeout,
        )
        .map_err(|e| HealthError::not_runnable(policy, e))?;
        Ok(Prober {
            prepared,
            http: http.clone(),
            templates: Arc::clone(&plan.templates),
            globals,
            max_body: http.max_body,
            secrets: crate::secrets::plan_secrets(plan, base_url),
        })
    }

    /// The per-try timeout: the request's own, else the policy's.
    pub(crate) fn timeout(&self) -> Duration {
        self.prepared.timeout
    }

    /// Renders the request once without sending it: a template that cannot render (say, an
    /// unset environment variable without a default) is a configuration error that no retry
    /// would fix.
    pub(crate) fn renders(&self) -> Result<(), String> {
        self.prepared
            .render(&self.templates, &self.globals, &[], "")
            .map(|_| ())
            .map_err(|f| f.message)
    }

    /// One try within `budget`, its failure (if any) with secrets masked.
    pub(crate) async fn try_once(&self, budget: Duration) -> TryOutcome {
        let mut outcome = self.try_unmasked(budget).await;
        outcome.failure = outcome.failure.map(|f| Failure {
            message: self.secrets.mask(&f.message),
            ..f
        });
        outcome
    }

    async fn try_unmasked(&self, budget: Duration) -> TryOutcome {
        let rendered = self
            .prepared
            .render(&self.templates, &self.globals, &[], "");
        let request = match rendered {
            Ok((request, _)) => request,
            Err(f) => {
                return TryOutcome {
                    status: None,
                    latency: Duration::ZERO,
                    failure: Some(f),
                };
            }
        };
        let start = std::time::Instant::now();
        let timer = std::pin::pin!(tokio::time::sleep(budget));
        let mut transport = match self.http.transport(false) {
            Ok(t) => t,
            Err(e) => {
                return TryOutcome {
                    status: None,
                    latency: Duration::ZERO,
                    failure: Some(Failure::new(
                        FailureKind::Connect,
                        format!("cannot create an HTTP client: {e}"),
                    )),
                };
            }
        };
        match http::send(&mut transport, request, budget, self.max_body, start, timer).await {
            Ok(answer) => {
                let checks = &self.prepared.spec.checks;
                let failure = default_status_failure(checks, answer.status).or_else(|| {
                    request::check(
                        checks,
                        &answer,
                        &self.templates,
                        &self.globals,
                        false,
                        self.prepared.json_shape.as_ref(),
                    )
                    .failure
                });
                TryOutcome {
                    status: Some(answer.status),
                    latency: answer.latency,
                    failure,
                }
            }
            Err(f) => TryOutcome {
                status: None,
                latency: start.elapsed(),
                failure: Some(f),
            },
        }
    }
}

/// Health's default status check: without a `status` list an answer must be 200–399.
/// `check` itself only refuses 400 and up (the load default), so this runs first.
fn default_status_failure(checks: &CompiledChecks, status: u16) -> Option<Failure> {
    (checks.status.is_empty() && !(200..400).contains(&status)).then(|| {
        Failure::new(
            FailureKind::Status,
            format!("HTTP {status}, expected 200–399"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_status_range_is_200_to_399() {
        let none = CompiledChecks::default();
        assert_eq!(default_status_failure(&none, 200), None);
        assert_eq!(default_status_failure(&none, 302), None);
        assert_eq!(
            default_status_failure(&none, 503),
            Some(Failure::new(
                FailureKind::Status,
                "HTTP 503, expected 200–399"
            ))
        );
        assert!(default_status_failure(&none, 101).is_some());
        let listed = CompiledChecks {
            status: vec![200],
            ..Default::default()
        };
        // A listed status set is `check`'s business.
        assert_eq!(default_status_failure(&listed, 503), None);
    }
}
