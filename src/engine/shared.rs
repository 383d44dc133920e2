//! What a run's users share: the prepared endpoints and auth requests, the feeders' state,
//! the secrets to mask, the login counters ([`Shared`], built once by [`prepare`]), and the
//! stop flags the scheduler and the users watch ([`Control`]). Kept apart from the loops that
//! read them so the run's set-up reads in one place.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::http::header::HeaderName;
use minijinja::Value as Ctx;
use rand::Rng;
use rand::rngs::SmallRng;
use tokio::sync::watch;

use super::RunOptions;
use super::error::EngineError;
use super::request::Prepared;
use super::session::{AuthSlot, Session};
use crate::http;
use crate::metrics::Registry;
use crate::plan::CompiledPlan;
use crate::plan::compile::{CompiledAuth, CompiledRequest, LoadModel, Think};
use crate::template::{Templates, Text};

/// A prepared endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// Weight.
    pub weight: u32,
    /// Captures needed first.
    pub requires: Vec<String>,
    /// Think time after it.
    pub think: Think,
    /// Requests in order.
    pub requests: Vec<Prepared>,
}

/// Login counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Successful logins.
    pub logins_ok: AtomicU64,
    /// Successful refreshes.
    pub refreshes: AtomicU64,
    pub(super) failures: Mutex<BTreeMap<String, u64>>,
    pub(super) failed: AtomicU64,
    /// Users (sessions) whose login failed at least once.
    pub users_failed: AtomicU64,
    /// Requests still in flight when the graceful stop ended, recorded as timeouts.
    pub cut: AtomicU64,
}

impl Counters {
    pub(super) fn login_failed(&self, reason: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.failures.lock() {
            let n = m.entry(reason.to_owned()).or_default();
            *n = n.saturating_add(1);
        }
    }
}

/// What every user of a run shares, read-only but for counters and the secret list.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Templates.
    pub templates: Arc<Templates>,
    /// HTTP settings.
    pub http: http::HttpSettings,
    /// `env`, `vars`, the variables by name.
    pub globals: Ctx,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Login request.
    pub login: Option<Prepared>,
    /// What a login extracts.
    pub login_extract: Vec<(String, serde_json_path::JsonPath)>,
    /// Refresh request.
    pub refresh: Option<Prepared>,
    /// What a refresh extracts.
    pub refresh_extract: Vec<(String, serde_json_path::JsonPath)>,
    /// Statuses that trigger a refresh and one retry.
    pub refresh_statuses: Vec<u16>,
    /// Extracted values that may say when credentials expire, first wins.
    pub expires_from: Vec<String>,
    /// Renew this long before expiry.
    pub before_expiry: Option<Duration>,
    /// Renew this often.
    pub refresh_every: Option<Duration>,
    /// `auth.apply` headers.
    pub apply_headers: Vec<(HeaderName, Text)>,
    /// `auth.apply` query.
    pub apply_query: Vec<(String, Text)>,
    /// Start steps.
    pub on_start: Vec<Prepared>,
    /// Measurements.
    pub metrics: Arc<Registry>,
    /// Login counters.
    pub counters: Counters,
    /// `-v`.
    pub verbose: bool,
    /// The run's start, which `-v` lines count from.
    pub started: std::time::Instant,
    secrets: Mutex<crate::secrets::Secrets>,
    shared_auth: Option<Arc<AuthSlot>>,
    feeders: Vec<FeederState>,
}

/// A data feeder's rows, and its position for sequential order.
#[derive(Debug)]
struct FeederState {
    name: String,
    order: crate::plan::model::FeederOrder,
    table: Arc<crate::plan::table::Table>,
    next: AtomicU64,
    /// Sequential picks of shard K of N are rows K−1, K−1+N, …: the shards interleave, so
    /// together they walk the rows in order and none takes a row another has at that step.
    stride: u64,
    first: u64,
}

impl Shared {
    /// Masks every known secret in a text.
    pub(crate) fn mask(&self, text: &str) -> String {
        self.secrets
            .lock()
            .map(|s| s.mask(text))
            .unwrap_or_else(|_| "***".into())
    }

    pub(super) fn add_secrets<'a>(&self, values: impl Iterator<Item = &'a str>) {
        if let Ok(mut secrets) = self.secrets.lock() {
            for v in values {
                secrets.add(v);
            }
        }
    }

    /// The `data` context of one task: a row of every feeder.
    pub(super) fn rows(&self, user_id: u64, rng: &mut SmallRng) -> Ctx {
        use crate::plan::model::FeederOrder;
        if self.feeders.is_empty() {
            return Ctx::UNDEFINED;
        }
        let map: BTreeMap<&str, Ctx> = self
            .feeders
            .iter()
            .map(|f| {
                let n = f.table.len() as u64;
                let i = match f.order {
                    FeederOrder::Sequential => f
                        .next
                        .fetch_add(1, Ordering::Relaxed)
                        .wrapping_mul(f.stride)
                        .wrapping_add(f.first)
                        .checked_rem(n)
                        .unwrap_or(0),
                    FeederOrder::Random => rng.random_range(0..n),
                    // One row per user for the whole run; validation made sure there are enough.
                    FeederOrder::Unique => user_id.saturating_sub(1).checked_rem(n).unwrap_or(0),
                };
                let row = crate::plan::table::Row {
                    table: f.table.clone(),
                    index: i as usize,
                };
                (f.name.as_str(), Ctx::from_object(row))
            })
            .collect();
        Ctx::from(map)
    }

    pub(super) fn session(&self, user_id: u64, seed: u64) -> Result<Session, EngineError> {
        let slot = self.shared_auth.clone().unwrap_or_default();
        Ok(Session::new(
            user_id,
            seed,
            self.http.transport(true)?,
            slot,
        ))
    }
}

pub(super) fn prepare(
    plan: &CompiledPlan,
    base: &Arc<str>,
    opts: &RunOptions,
    metrics: Arc<Registry>,
    http: http::HttpSettings,
) -> Result<Shared, EngineError> {
    let next = |r: &CompiledRequest| -> Result<Prepared, EngineError> {
        // Compile numbers every request the engine sends; one without a row is a bug there.
        let row = r.row.ok_or_else(|| EngineError::NoRow(r.label.clone()))?;
        Prepared::new(r, row, base, &plan.target.headers, plan.target.timeout).map_err(|message| {
            EngineError::Request {
                label: r.label.clone(),
                message,
            }
        })
    };
    let endpoints = endpoints(plan, &next)?;
    let auth = plan.auth.as_ref();
    let login = auth.and_then(|a| a.login.as_ref()).map(&next).transpose()?;
    let refresh_spec = auth.and_then(|a| a.refresh.as_ref());
    let refresh = refresh_spec
        .and_then(|r| r.request.as_ref())
        .map(&next)
        .transpose()?;
    let on_start = auth
        .map(|a| a.on_start.iter().map(&next).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    let apply_headers = apply_headers(auth)?;
    let shared_auth = match auth {
        Some(a) if a.shared => Some(Arc::new(AuthSlot::default())),
        Some(a) if a.basic.is_some() => Some(Arc::new(AuthSlot::default())),
        _ => None,
    };
    let shared = Shared {
        templates: plan.templates.clone(),
        http,
        globals: plan.globals.clone(),
        endpoints,
        login,
        login_extract: auth.map(|a| a.extract.clone()).unwrap_or_default(),
        refresh,
        refresh_extract: refresh_spec.map(|r| r.extract.clone()).unwrap_or_default(),
        refresh_statuses: refresh_spec
            .map(|r| r.on_status.clone())
            .unwrap_or_default(),
        expires_from: auth.map(|a| a.expires_from.clone()).unwrap_or_default(),
        before_expiry: refresh_spec.and_then(|r| r.before_expiry),
        refresh_every: refresh_spec.and_then(|r| r.every),
        apply_headers,
        apply_query: auth.map(|a| a.apply_query.clone()).unwrap_or_default(),
        on_start,
        metrics,
        counters: Counters::default(),
        verbose: opts.verbose,
        started: std::time::Instant::now(),
        secrets: Mutex::new(crate::secrets::plan_secrets(plan, base)),
        shared_auth,
        feeders: feeders(plan),
    };
    if let Some((user, pass)) = auth.and_then(|a| a.basic.as_ref()) {
        shared.set_basic(plan, user, pass)?;
    }
    Ok(shared)
}

/// The plan's endpoints with their requests prepared; an endpoint without its own think
/// time takes the closed model's (the open model has none).
fn endpoints(
    plan: &CompiledPlan,
    next: &impl Fn(&CompiledRequest) -> Result<Prepared, EngineError>,
) -> Result<Vec<Endpoint>, EngineError> {
    let default_think = match &plan.load.model {
        LoadModel::Closed { think, .. } => *think,
        LoadModel::Open { .. } => Think::None,
    };
    let mut endpoints = Vec::new();
    for e in &plan.endpoints {
        endpoints.push(Endpoint {
            weight: e.weight,
            requires: e.requires.clone(),
            think: e.think_time.unwrap_or(default_think),
            requests: e.requests.iter().map(next).collect::<Result<_, _>>()?,
        });
    }
    Ok(endpoints)
}

/// `auth.apply` headers, their names checked once here rather than on every request.
fn apply_headers(auth: Option<&CompiledAuth>) -> Result<Vec<(HeaderName, Text)>, EngineError> {
    let mut apply_headers = Vec::new();
    for (name, text) in auth.map(|a| &a.apply_headers[..]).unwrap_or_default() {
        apply_headers.push((
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| EngineError::HeaderName(name.clone()))?,
            text.clone(),
        ));
    }
    Ok(apply_headers)
}

fn feeders(plan: &CompiledPlan) -> Vec<FeederState> {
    let (stride, first) = plan.shard.map_or((1, 0), |s| {
        (
            u64::from(s.shard.count),
            u64::from(s.shard.index).saturating_sub(1),
        )
    });
    plan.feeders
        .iter()
        .map(|f| FeederState {
            name: f.name.clone(),
            order: f.order,
            table: f.table.clone(),
            next: AtomicU64::new(0),
            stride,
            first,
        })
        .collect()
}

impl Shared {
    /// Renders `auth.basic` once for the whole run: the credentials join the secrets to
    /// mask and the slot every user reads.
    fn set_basic(&self, plan: &CompiledPlan, user: &Text, pass: &Text) -> Result<(), EngineError> {
        let user = plan
            .templates
            .render(user, &self.globals)
            .map_err(|message| EngineError::Basic {
                field: "username",
                message,
            })?;
        let pass = plan
            .templates
            .render(pass, &self.globals)
            .map_err(|message| EngineError::Basic {
                field: "password",
                message,
            })?;
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.keep_basic(&user, &pass);
        }
        if let Some(slot) = &self.shared_auth {
            slot.set_basic(&user, &pass)
                .map_err(|e| EngineError::Basic {
                    field: "credentials",
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }
}

/// State the scheduler and users share to stop in order.
pub(super) struct Control {
    pub(super) stopping: AtomicBool,
    stop_tx: watch::Sender<bool>,
    pub(super) iterations_left: Option<AtomicU64>,
    pub(super) target_users: AtomicU32,
}

impl Control {
    /// A run's control, with the receiver its users watch for the stop.
    pub(super) fn new(iterations: Option<u64>) -> (Self, watch::Receiver<bool>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let control = Control {
            stopping: AtomicBool::new(false),
            stop_tx,
            iterations_left: iterations.map(AtomicU64::new),
            target_users: AtomicU32::new(0),
        };
        (control, stop_rx)
    }

    /// Claims one task from the iteration total; false when none are left.
    pub(super) fn claim(&self) -> bool {
        self.claim_up_to(1) == 1
    }

    /// Claims up to `n` tasks from the iteration total; how many it got.
    pub(super) fn claim_up_to(&self, n: u64) -> u64 {
        if self.stopping.load(Ordering::Relaxed) {
            return 0;
        }
        match &self.iterations_left {
            None => n,
            Some(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| {
                    Some(l.saturating_sub(n))
                })
                .map_or(0, |l| l.min(n)),
        }
    }

    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop_tx.send(true);
    }
}
