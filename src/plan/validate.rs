//! Checks of meaning that a schema cannot express: unique names, references between
//! sections, contradictory load settings, files that must exist. They run before `compile`,
//! also on a plan whose parts with schema errors were set aside ([`super::partial`]): a
//! check that needs such a part is skipped, and a reference to a name is checked against
//! the names the parts set aside declare too. Each problem is reported at the node it
//! concerns, and all of them are reported at once.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::Reporter;
use super::diagnostic::suggest;
use super::model::{
    ArrivalRate, Endpoint, Expectations, HealthPolicy, Load, Plan, Request, Scalar, SlaAssertion,
    SlaMetric, SlaScope,
};
use super::partial::Gaps;

/// Every capture name the plan produces (endpoints, flow steps, start steps).
pub(crate) fn capture_names(plan: &Plan) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for e in &plan.endpoints {
        names.extend(e.capture.keys().cloned());
        for s in e.steps.iter().flatten() {
            names.extend(s.capture.keys().cloned());
        }
    }
    if let Some(auth) = &plan.auth {
        for s in &auth.on_start {
            names.extend(s.capture.keys().cloned());
        }
    }
    names
}

/// Runs every check of meaning; problems go to `r`.
pub(crate) fn check(plan: &Plan, gaps: &Gaps, dir: &Path, r: &mut Reporter) {
    check_endpoints(plan, gaps, r);
    check_variables(plan, r);
    if !gaps.skips("/load") {
        check_load(plan, r);
        super::capacity::check(plan, r);
    }
    check_sla(plan, gaps, r);
    check_health(plan, r);
    check_auth(plan, r);
    check_files(plan, dir, r);
}

/// A variable named like a built-in or a capture would be hidden by it in templates.
fn check_variables(plan: &Plan, r: &mut Reporter) {
    let captures = capture_names(plan);
    for name in plan.variables.keys() {
        let clash = if crate::template::GLOBALS.contains(&name.as_str()) {
            "a built-in template value"
        } else if captures.contains(name) {
            "a capture"
        } else {
            continue;
        };
        r.key(
            &format!("/variables/{}", super::yaml::escape_segment(name)),
            &format!("variable `{name}` has the same name as {clash}, which hides it in templates"),
            "rename the variable",
        );
    }
}

/// Endpoints whose `requires:` can never be met: every capture they wait for is produced
/// only by endpoints that wait themselves, in a cycle (`a` needs `x` from `b`, `b` needs
/// `y` from `a`). Start steps and endpoints without `requires` seed what exists.
fn unreachable_endpoints(plan: &Plan) -> Vec<usize> {
    let mut have: BTreeSet<&str> = plan
        .auth
        .iter()
        .flat_map(|a| a.on_start.iter().flat_map(|s| s.capture.keys()))
        .map(String::as_str)
        .collect();
    let mut runs = vec![false; plan.endpoints.len()];
    loop {
        let mut changed = false;
        for (i, e) in plan.endpoints.iter().enumerate() {
            if !runs[i] && e.weight > 0 && e.requires.iter().all(|c| have.contains(c.as_str())) {
                runs[i] = true;
                changed = true;
                have.extend(e.capture.keys().map(String::as_str));
                have.extend(
                    e.steps
                        .iter()
                        .flatten()
                        .flat_map(|s| s.capture.keys())
                        .map(String::as_str),
                );
            }
        }
        if !changed {
            break;
        }
    }
    (0..runs.len())
        .filter(|&i| !runs[i] && plan.endpoints[i].weight > 0)
        .collect()
}

fn check_endpoints(plan: &Plan, gaps: &Gaps, r: &mut Reporter) {
    // With an endpoint set aside, neither "none" nor "all weight 0" can be told.
    let all = !gaps.skips("/endpoints");
    if all && plan.endpoints.is_empty() {
        r.value(
            "/endpoints",
            "the plan has no endpoints",
            "add at least one entry under `endpoints:` with a `name` and a `request`",
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, e) in plan.endpoints.iter().enumerate() {
        let at = format!("/endpoints/{i}");
        if let Some(first) = seen.insert(&e.name, i) {
            r.value(
                &format!("{at}/name"),
                &format!(
                    "duplicate endpoint name `{}` (also endpoint #{})",
                    e.name,
                    r.item_number("endpoints", first)
                ),
                "endpoint names must be unique: reports, `sla` and `--only` use them",
            );
        }
        if matches!(e.name.as_str(), "login" | "refresh") {
            r.value(
                &format!("{at}/name"),
                &format!("`{}` is the name of the auth rows in reports", e.name),
                "choose another name, e.g. `login_page`",
            );
        }
        check_endpoint_shape(e, &at, r);
    }
    if all && !plan.endpoints.is_empty() && plan.endpoints.iter().all(|e| e.weight == 0) {
        r.value(
            "/endpoints",
            "every endpoint has weight 0, so none can be picked",
            "give at least one endpoint a weight of 1 or more",
        );
    }
    check_requires(plan, gaps, r);
}

/// Every capture an endpoint or step `requires` must be produced somewhere, and by an
/// endpoint that can run.
fn check_requires(plan: &Plan, gaps: &Gaps, r: &mut Reporter) {
    let produced = capture_names(plan);
    // Whether an endpoint can run depends on every endpoint and the start steps.
    let cycles = !gaps.skips("/endpoints") && !gaps.skips("/auth");
    for i in unreachable_endpoints(plan).into_iter().filter(|_| cycles) {
        let e = &plan.endpoints[i];
        if e.requires.iter().all(|c| produced.contains(c)) {
            r.key(
                &format!("/endpoints/{i}/requires"),
                &format!(
                    "`{}` waits for captures that only endpoints which wait themselves produce, so it would never run",
                    e.name
                ),
                "let at least one endpoint that captures them run without `requires`",
            );
        }
    }
    let Some(known) = gaps.captures.with(produced.iter().map(String::as_str)) else {
        return;
    };
    let mut unknown = |at: String, req: &str, what: &str| {
        r.value(
            &at,
            &format!(
                "`requires` names `{req}`, but no endpoint captures it, so {what} would never run"
            ),
            &if known.is_empty() {
                "add a `capture:` that produces it, or remove it from `requires`".to_owned()
            } else {
                suggest(req, &known)
            },
        );
    };
    for (i, e) in plan.endpoints.iter().enumerate() {
        for (j, req) in e.requires.iter().enumerate() {
            if !known.contains(&req.as_str()) {
                unknown(
                    format!("/endpoints/{i}/requires/{j}"),
                    req,
                    &format!("`{}`", e.name),
                );
            }
        }
        for (k, step) in e.steps.iter().flatten().enumerate() {
            for (j, req) in step.requires.iter().enumerate() {
                if !known.contains(&req.as_str()) {
                    let what = format!("step `{}/{}`", e.name, step.name);
                    unknown(format!("/endpoints/{i}/steps/{k}/requires/{j}"), req, &what);
                }
            }
        }
    }
}

fn check_endpoint_shape(e: &Endpoint, at: &str, r: &mut Reporter) {
    match (&e.request, &e.steps) {
        (Some(_), Some(_)) => r.key(
            &format!("{at}/steps"),
            &format!("endpoint `{}` has both `request` and `steps`", e.name),
            "an endpoint is one request or a flow of steps: keep one of them",
        ),
        (None, None) => r.value(
            at,
            &format!("endpoint `{}` has neither `request` nor `steps`", e.name),
            "add `request: { path: /… }`, or `steps:` for a flow",
        ),
        (None, Some(steps)) if steps.is_empty() => r.value(
            &format!("{at}/steps"),
            &format!("endpoint `{}` has an empty flow", e.name),
            "list at least one step, each with a `name` and a `request`",
        ),
        _ => {}
    }
    if e.steps.is_some() && (e.check.is_some() || !e.capture.is_empty()) {
        r.key(
            &format!(
                "{at}/{}",
                if e.check.is_some() {
                    "check"
                } else {
                    "capture"
                }
            ),
            "`check` and `capture` of a flow belong to its steps",
            "move them under the step whose answer they read",
        );
    }
    if let Some(req) = &e.request {
        check_request(req, &format!("{at}/request"), r);
    }
    if let Some(c) = &e.check {
        check_expectations(c, &format!("{at}/check"), r);
    }
    let mut names = BTreeSet::new();
    for (j, s) in e.steps.iter().flatten().enumerate() {
        let sat = format!("{at}/steps/{j}");
        if !names.insert(&s.name) {
            r.value(
                &format!("{sat}/name"),
                &format!("duplicate step name `{}` in endpoint `{}`", s.name, e.name),
                "step names must be unique within a flow",
            );
        }
        check_request(&s.request, &format!("{sat}/request"), r);
        if let Some(c) = &s.check {
            check_expectations(c, &format!("{sat}/check"), r);
        }
    }
}

/// Checks the parts of a request that must come one at a time.
pub(crate) fn check_request(req: &Request, at: &str, r: &mut Reporter) {
    match (&req.path, &req.url) {
        (Some(_), Some(_)) => r.key(
            &format!("{at}/url"),
            "a request has both `path` and `url`",
            "keep one: `path` joins `target.base_url`, `url` is used as is",
        ),
        (None, None) => r.value(at, "a request needs a `path` or a `url`", "add `path: /…`"),
        _ => {}
    }
    let bodies: Vec<&str> = [
        ("json", req.json.is_some()),
        ("form", req.form.is_some()),
        ("multipart", req.multipart.is_some()),
        ("body", req.body.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if bodies.len() > 1 {
        r.key(
            &format!("{at}/{}", bodies[1]),
            &format!(
                "a request has more than one body: `{}`",
                bodies.join("`, `")
            ),
            "keep one of `json`, `form`, `multipart` or `body`",
        );
    }
    for (name, part) in req.multipart.iter().flatten() {
        if part.value.is_some() == part.file.is_some() {
            r.value(
                &format!("{at}/multipart/{}", super::yaml::escape_segment(name)),
                &format!("multipart part `{name}` needs exactly one of `value` or `file`"),
                "a part is a text `value` or a `file` to upload",
            );
        }
    }
}

fn check_expectations(c: &Expectations, at: &str, r: &mut Reporter) {
    for (i, cond) in c.json.iter().enumerate() {
        let ops = [
            cond.equals.is_some(),
            cond.not_equals.is_some(),
            cond.exists.is_some(),
            cond.matches.is_some(),
            cond.one_of.is_some(),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if ops != 1 {
            r.value(
                &format!("{at}/json/{i}"),
                &format!("a JSON condition needs exactly one test, found {ops}"),
                "use one of `equals`, `not_equals`, `exists`, `matches`, `one_of` per condition",
            );
        }
        if cond.skip_if_empty && cond.equals.is_none() {
            r.key(
                &format!("{at}/json/{i}/skip_if_empty"),
                "`skip_if_empty` only applies to `equals`",
                "remove it, or test with `equals`",
            );
        }
    }
    for (i, status) in c.status.iter().enumerate() {
        if !(100..=599).contains(status) {
            r.value(
                &format!("{at}/status/{i}"),
                &format!("`{status}` is not an HTTP status"),
                "statuses run from 100 to 599",
            );
        }
    }
}

fn check_load(plan: &Plan, r: &mut Reporter) {
    let l = &plan.load;
    if l.arrival_rate.is_some() {
        check_open_model(l, r);
    } else {
        check_closed_model(l, r);
    }
    check_load_ends(l, r);
}

/// With `arrival_rate`: no closed-model settings, and a rate to follow.
fn check_open_model(l: &Load, r: &mut Reporter) {
    for key in [
        ("users", l.users.is_some()),
        ("spawn_rate", l.spawn_rate.is_some()),
        ("stages", !l.stages.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    {
        r.key(
            &format!("/load/{key}"),
            &format!(
                "`{key}` belongs to the closed model, but `arrival_rate` makes this an open model"
            ),
            "use `users`/`spawn_rate`/`stages` (closed) or `arrival_rate` (open), not both",
        );
    }
    if let Some(ArrivalRate::Stages(stages)) = &l.arrival_rate
        && stages.is_empty()
    {
        r.value(
            "/load/arrival_rate",
            "`arrival_rate` has no stages",
            "give a rate like `50/s` or at least one stage",
        );
    }
}

/// Without `arrival_rate`: one way to set the users, and at least one of them.
fn check_closed_model(l: &Load, r: &mut Reporter) {
    if l.max_concurrency.is_some() {
        r.key(
            "/load/max_concurrency",
            "`max_concurrency` only applies to the open model (`arrival_rate`)",
            "remove it, or set `arrival_rate`",
        );
    }
    if l.users.is_some() && !l.stages.is_empty() {
        r.key(
            "/load/stages",
            "`users` and `stages` both set the number of users",
            "use `users` (with `spawn_rate`) for a steady load, or `stages` to ramp",
        );
    }
    if l.spawn_rate.is_some() && !l.stages.is_empty() {
        r.key(
            "/load/spawn_rate",
            "`spawn_rate` has no effect with `stages`, which ramp users themselves",
            "remove `spawn_rate`",
        );
    }
    if l.users == Some(0) {
        r.value(
            "/load/users",
            "`users` is 0, so nothing would run",
            "set at least 1 user",
        );
    }
    if let Some(rate) = &l.spawn_rate
        && rate.get() <= 0.0
    {
        r.value(
            "/load/spawn_rate",
            "`spawn_rate` must be above 0",
            "for example `5/s`",
        );
    }
}

fn check_load_ends(l: &Load, r: &mut Reporter) {
    if l.duration.is_none()
        && l.iterations.is_none()
        && l.stages.is_empty()
        && !matches!(l.arrival_rate, Some(ArrivalRate::Stages(_)))
    {
        r.value(
            "/load",
            "the load never ends: set `duration` or `iterations`",
            "for example `duration: 30s`",
        );
    }
    if let Some(d) = &l.duration
        && d.get().is_zero()
    {
        r.value(
            "/load/duration",
            "`duration` is 0",
            "set a duration such as `30s`",
        );
    }
    if l.iterations == Some(0) {
        r.value(
            "/load/iterations",
            "`iterations` is 0, so nothing would run",
            "set at least 1",
        );
    }
}

fn check_sla(plan: &Plan, gaps: &Gaps, r: &mut Reporter) {
    let names = gaps
        .endpoints
        .with(plan.endpoints.iter().map(|e| e.name.as_str()));
    for (i, a) in plan.sla.iter().enumerate() {
        let at = format!("/sla/{i}");
        check_thresholds(a, &at, r);
        check_sla_scope(a, &at, names.as_deref(), r);
        check_sla_policy(plan, gaps, a, &at, r);
        check_sla_abort(a, &at, r);
    }
}

/// Exactly one threshold, in the unit of the metric; a relative one on a figure
/// `compare` judges.
fn check_thresholds(a: &SlaAssertion, at: &str, r: &mut Reporter) {
    let thresholds = [&a.below, &a.at_most, &a.above, &a.at_least]
        .iter()
        .filter(|t| t.is_some())
        .count()
        + usize::from(a.regress_at_most.is_some());
    if thresholds != 1 {
        r.value(
            at,
            &format!("an SLA assertion needs exactly one threshold, found {thresholds}"),
            "use one of `below`, `at_most`, `above`, `at_least`, or `regress_at_most` \
             (against a baseline run)",
        );
    }
    for (key, value) in [
        ("below", &a.below),
        ("at_most", &a.at_most),
        ("above", &a.above),
        ("at_least", &a.at_least),
    ] {
        if let Some(value) = value {
            check_threshold(&a.metric, value, &format!("{at}/{key}"), r);
        }
    }
    check_relative(a, at, r);
}

/// `regress_at_most` on what a comparison judges, and what goes with it.
fn check_relative(a: &SlaAssertion, at: &str, r: &mut Reporter) {
    if a.regress_at_most.is_none() {
        if a.baseline_noise.is_some() {
            r.key(
                &format!("{at}/baseline_noise"),
                "`baseline_noise` is only read with `regress_at_most`",
                "add `regress_at_most: 10%`, or remove it",
            );
        }
        return;
    }
    if crate::compare::Figure::of(&a.metric).is_none() {
        r.value(
            &format!("{at}/metric"),
            &format!(
                "`regress_at_most` cannot judge `{}` against a baseline",
                String::from(a.metric.clone())
            ),
            "use p50, p90, p95, p99, max, mean, error_rate or rps, or an absolute threshold",
        );
    }
    match &a.baseline_noise {
        Some(_) if a.metric == SlaMetric::Rps => r.key(
            &format!("{at}/baseline_noise"),
            "`rps` has no absolute noise floor: only its share counts",
            "remove `baseline_noise`",
        ),
        Some(noise) => check_threshold(&a.metric, noise, &format!("{at}/baseline_noise"), r),
        None => {}
    }
    if a.abort_on_fail {
        r.key(
            &format!("{at}/abort_on_fail"),
            "a relative assertion is judged against the baseline once the run is over, so it \
             cannot abort a run",
            "remove `abort_on_fail`",
        );
    }
    if a.on_no_data.is_some() {
        r.key(
            &format!("{at}/on_no_data"),
            "a relative assertion without samples is inconclusive, and skipped: `on_no_data` \
             is not read",
            "remove `on_no_data`",
        );
    }
}

/// The `endpoints` list goes with `scope: endpoints`, and names endpoints the plan has
/// (`None` when they cannot all be known).
fn check_sla_scope(a: &SlaAssertion, at: &str, names: Option<&[&str]>, r: &mut Reporter) {
    match a.scope {
        SlaScope::Endpoints if a.endpoints.is_empty() => r.key(
            &format!("{at}/scope"),
            "`scope: endpoints` needs a list of `endpoints`",
            "add `endpoints: [name, …]`, or use `each_endpoint`",
        ),
        SlaScope::Aggregate | SlaScope::EachEndpoint if !a.endpoints.is_empty() => r.key(
            &format!("{at}/endpoints"),
            "`endpoints` is only read with `scope: endpoints`",
            "set `scope: endpoints`, or remove the list",
        ),
        _ => {}
    }
    let Some(names) = names else { return };
    for (j, name) in a.endpoints.iter().enumerate() {
        if !names.contains(&name.as_str()) {
            r.value(
                &format!("{at}/endpoints/{j}"),
                &format!("the SLA names endpoint `{name}`, which the plan does not have"),
                &suggest(name, names),
            );
        }
    }
}

/// `policy` goes with `health_availability`, and names a policy that probes during the load.
fn check_sla_policy(plan: &Plan, gaps: &Gaps, a: &SlaAssertion, at: &str, r: &mut Reporter) {
    if a.metric == SlaMetric::HealthAvailability {
        let during: Vec<&str> = plan
            .health
            .iter()
            .filter(|(_, p)| p.run.contains(&super::model::HealthPhase::During))
            .map(|(n, _)| n.as_str())
            .collect();
        // A policy set aside may be the one meant: it is not known when it runs.
        let unread = gaps.health.with([]);
        let maybe = |p: &str| unread.as_ref().is_none_or(|names| names.contains(&p));
        match &a.policy {
            Some(p) if gaps.skips("/health") && maybe(p) => {}
            None if gaps.skips("/health") => {}
            Some(p) if !during.contains(&p.as_str()) => r.value(
                &format!("{at}/policy"),
                &format!("`{p}` is not a health policy that runs `during` the load"),
                &suggest(p, &during),
            ),
            None if during.is_empty() => r.value(
                &format!("{at}/metric"),
                "`health_availability` needs a health policy with `run: [during]`",
                "add `during` to a policy's `run` list",
            ),
            _ => {}
        }
    } else if a.policy.is_some() {
        r.key(
            &format!("{at}/policy"),
            "`policy` is only read with `metric: health_availability`",
            "remove it",
        );
    }
}

fn check_sla_abort(a: &SlaAssertion, at: &str, r: &mut Reporter) {
    if a.abort_on_fail && a.metric == SlaMetric::HealthAvailability {
        r.key(
            &format!("{at}/abort_on_fail"),
            "`health_availability` is only known once the probes stop, so it cannot abort a run",
            "remove `abort_on_fail`; the verdict still fails the run at the end",
        );
    }
    if a.abort_delay.is_some() && !a.abort_on_fail {
        r.key(
            &format!("{at}/abort_delay"),
            "`abort_delay` has no effect without `abort_on_fail: true`",
            "add `abort_on_fail: true`, or remove it",
        );
    }
}

/// Checks an SLA threshold against the unit its metric is measured in (the schema only
/// knows it is a scalar); the rules live in [`super::threshold`], shared with `sla`.
fn check_threshold(metric: &SlaMetric, value: &Scalar, at: &str, r: &mut Reporter) {
    if let Err(e) = super::threshold::parse_threshold(metric, value) {
        r.value(
            at,
            &format!(
                "`{}` threshold: {}",
                String::from(metric.clone()),
                e.problem
            ),
            &match e.meant {
                Some(meant) => format!(
                    "did you mean `{meant}`? this metric is compared with {}",
                    e.expected
                ),
                None => format!("this metric is compared with {}", e.expected),
            },
        );
    }
}

fn check_health(plan: &Plan, r: &mut Reporter) {
    for (name, p) in &plan.health {
        let at = format!("/health/{}", super::yaml::escape_segment(name));
        check_policy(p, &at, r);
        if p.run.is_empty() {
            r.value(
                &format!("{at}/run"),
                &format!("health policy `{name}` never runs during `loadplan run`"),
                "list when it runs: `before`, `during` and/or `after` (an empty list only serves `loadplan health`)",
            );
        }
    }
}

fn check_policy(p: &HealthPolicy, at: &str, r: &mut Reporter) {
    check_request(&p.request, &format!("{at}/request"), r);
    check_expectations(&p.expect, &format!("{at}/expect"), r);
    if p.success_threshold == Some(0) {
        r.value(
            &format!("{at}/success_threshold"),
            "`success_threshold` must be at least 1",
            "use 1 to pass on the first healthy answer",
        );
    }
    if p.failure_threshold == Some(0) {
        r.value(
            &format!("{at}/failure_threshold"),
            "`failure_threshold` must be at least 1",
            "use 1 to count the first failed probe",
        );
    }
    if let (Some(s), Some(retries)) = (p.success_threshold, p.retries)
        && s > retries + 1
    {
        r.value(
            &format!("{at}/success_threshold"),
            &format!(
                "`success_threshold` {s} can never be reached with {} attempts (retries + 1)",
                retries + 1
            ),
            "raise `retries` or lower `success_threshold`",
        );
    }
}

fn check_auth(plan: &Plan, r: &mut Reporter) {
    let Some(auth) = &plan.auth else { return };
    if auth.login.is_some() && auth.basic.is_some() {
        r.key(
            "/auth/basic",
            "`auth` has both `login` and `basic`",
            "use a login request or basic auth, not both",
        );
    }
    if let Some(login) = &auth.login {
        check_request(login, "/auth/login", r);
        if auth.extract.is_empty() {
            r.key(
                "/auth/login",
                "a `login` without `extract` takes nothing from the answer",
                "add `extract: { access: $.access }` and send it through `apply`",
            );
        }
    }
    if auth.login.is_none() && auth.basic.is_none() {
        r.value(
            "/auth",
            "`auth` needs a `login` request or `basic` credentials",
            "add `login:` or `basic:`",
        );
    }
    if let Some(refresh) = &auth.refresh {
        if let Some(req) = &refresh.request {
            check_request(req, "/auth/refresh/request", r);
        }
        match &refresh.expires_from {
            Some(name) if !auth.extract.contains_key(name) => {
                let known: Vec<&str> = auth.extract.keys().map(String::as_str).collect();
                r.value(
                    "/auth/refresh/expires_from",
                    &format!("`expires_from` names `{name}`, which `extract` does not take"),
                    &suggest(name, &known),
                );
            }
            Some(_) => {}
            None if refresh.before_expiry.is_some()
                && !super::compile::DEFAULT_EXPIRES_FROM
                    .iter()
                    .any(|name| auth.extract.contains_key(*name)) =>
            {
                let name = auth.extract.keys().next().map_or("token", String::as_str);
                r.key(
                    "/auth/refresh/before_expiry",
                    "`before_expiry` needs to know when credentials expire",
                    &format!(
                        "name the extracted value that says it: `expires_from: {name}` (a JWT \
                         with an `exp` claim, or seconds), extract `expires_in: $.expires_in`, \
                         or use `every:`"
                    ),
                );
            }
            None => {}
        }
        if auth.login.is_none() {
            r.key(
                "/auth/refresh",
                "`refresh` needs a `login` request",
                "basic credentials never expire: remove `refresh`",
            );
        }
    }
    for (i, s) in auth.on_start.iter().enumerate() {
        check_request(&s.request, &format!("/auth/on_start/{i}/request"), r);
    }
}

fn check_files(plan: &Plan, dir: &Path, r: &mut Reporter) {
    let mut must_exist = |pointer: String, file: &Path, what: &str| {
        let full = dir.join(file);
        if !full.is_file() {
            r.value(
                &pointer,
                &format!(
                    "{what} `{}` does not exist (looked for `{}`)",
                    file.display(),
                    full.display()
                ),
                "paths are relative to the plan file",
            );
        }
    };
    for (name, feeder) in &plan.data {
        must_exist(
            format!("/data/{}/file", super::yaml::escape_segment(name)),
            &feeder.file,
            "CSV file",
        );
    }
    if let Some(ca) = &plan.target.tls.ca_file {
        must_exist("/target/tls/ca_file".into(), ca, "CA file");
    }
    if let Some(cc) = &plan.target.tls.client_cert {
        must_exist(
            "/target/tls/client_cert/cert".into(),
            &cc.cert,
            "certificate file",
        );
        must_exist("/target/tls/client_cert/key".into(), &cc.key, "key file");
    }
}
