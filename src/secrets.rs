//! Secrets that must never reach output or results: environment values the plan's
//! templates read, and credentials extracted at run time. One list, masked longest first so
//! a secret that contains another (`demo-password`, `demo`) is hidden whole.

/// Known secrets, each list longest first: the plan's own (environment values, a basic
/// password), always kept, and those met at run time (tokens), of which the newest
/// [`MAX_SECRETS`] are kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Secrets {
    kept: Vec<String>,
    runtime: Vec<String>,
    // The run-time secrets in the order they came, so the oldest is the one forgotten, and
    // as a set: thousands of users' tokens arrive, each checked against the rest.
    arrivals: std::collections::VecDeque<String>,
    known: std::collections::HashSet<String>,
    runtime_bytes: usize,
}

/// Most run-time secrets kept: renewed tokens of many users would otherwise pile up.
const MAX_SECRETS: usize = 4096;
/// Most bytes of run-time secrets kept (a fresh 1 MB token at every login would otherwise
/// take gigabytes); past it, the oldest are forgotten first.
const MAX_SECRET_BYTES: usize = 16 << 20;

impl Secrets {
    /// A list from the plan's own secrets; values shorter than 3 characters are ignored
    /// (they would mask digits and letters everywhere).
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut s = Secrets::default();
        for v in values {
            s.keep(&v);
        }
        s
    }

    /// Adds one of the plan's own secrets, never forgotten.
    pub(crate) fn keep(&mut self, value: &str) {
        for form in forms(value) {
            if !self.kept.contains(&form) {
                insert(&mut self.kept, form);
            }
        }
    }

    /// Basic credentials: the password, and the base64 `user:password` an `Authorization`
    /// header (or a server echoing it) shows.
    pub(crate) fn keep_basic(&mut self, user: &str, password: &str) {
        use base64::Engine as _;
        self.keep(password);
        self.keep(&base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    }

    /// Adds a secret met at run time; past [`MAX_SECRETS`] secrets or [`MAX_SECRET_BYTES`]
    /// bytes the oldest are forgotten.
    pub(crate) fn add(&mut self, value: &str) {
        for form in forms(value) {
            if form.len() > MAX_SECRET_BYTES || !self.known.insert(form.clone()) {
                continue;
            }
            while self.arrivals.len() >= MAX_SECRETS
                || self.runtime_bytes + form.len() > MAX_SECRET_BYTES
            {
                let Some(oldest) = self.arrivals.pop_front() else {
                    break;
                };
                self.known.remove(&oldest);
                self.runtime_bytes -= oldest.len();
                if let Some(i) = self.runtime.iter().position(|v| *v == oldest) {
                    self.runtime.remove(i);
                }
            }
            self.runtime_bytes += form.len();
            self.arrivals.push_back(form.clone());
            insert(&mut self.runtime, form);
        }
    }

    /// The text with every secret replaced by `***`, longest first across both lists.
    pub(crate) fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longer than the text, a secret cannot be in it: tokens are long, messages short,
        // so most of the list is skipped by one binary search.
        let fits = |list: &[String]| list.partition_point(|v| v.len() > text.len());
        let mut a = self.kept[fits(&self.kept)..].iter().peekable();
        let mut b = self.runtime[fits(&self.runtime)..].iter().peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.len() >= y.len() => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            if let Some(s) = next
                && out.contains(s.as_str())
            {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// A secret and the forms a URL gives it (a key with `+` or `/` sent in a query reads
/// `%2B`, `%2F` there) and the form JSON gives it (a `"` or `\` escaped, as a server echoing
/// it in JSON, or summary.json, writes it); nothing for values too short to mask.
fn forms(value: &str) -> Vec<String> {
    if value.len() < 3 {
        return Vec::new();
    }
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let percent =
        percent_encoding::utf8_percent_encode(value, crate::http::NOT_IN_TARGET).to_string();
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let json = quoted
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(value)
        .to_owned();
    let mut out = vec![value.to_owned()];
    for f in [form, percent, json] {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Inserts `value` into a longest-first list.
fn insert(list: &mut Vec<String>, value: String) {
    let at = list.partition_point(|v| v.len() >= value.len());
    list.insert(at, value);
}

/// The plan's own secrets: environment values its templates read (API keys in headers,
/// signatures in queries, passwords in logins) — except the base URL's, shown as the target,
/// and health expectations' (an expected version must show in the verdict) — and the
/// password of the base URL's userinfo (`http://alice:pw@…`), with its Basic form.
pub(crate) fn plan_secrets(plan: &crate::plan::CompiledPlan, base_url: &str) -> Secrets {
    let mut secrets = Secrets::new(
        plan.templates
            .env_reads(&["/target/base_url", "/health/"])
            .into_iter()
            .filter_map(|name| std::env::var(name).ok()),
    );
    if let Ok(url) = url::Url::parse(base_url.trim())
        && let Some(password) = url.password()
    {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        secrets.keep(password);
        secrets.keep_basic(&decode(url.username()), &decode(password));
    }
    secrets
}

/// Parts of query parameter names that say their value is a credential (`access_token`,
/// `api_key`, `X-Amz-Signature`, `client_secret`, `password`, `sessionid`), compared
/// lowercased. Generous on purpose: a masked harmless value costs a log reader little.
const SECRET_NAMES: [&str; 10] = [
    "token",
    "key",
    "secret",
    "pass",
    "pwd",
    "auth",
    "sig",
    "session",
    "credential",
    "jwt",
];

/// A URL as a log line may show it: the values of query parameters whose names look like
/// credentials ([`SECRET_NAMES`]) and the password of its userinfo as `***`, whether or not
/// the values are known secrets (a token pasted into a plan's path template is not).
pub(crate) fn url_for_log(url: &str) -> String {
    let (url, fragment) = url.split_at(url.find('#').unwrap_or(url.len()));
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = without_password(base);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if looks_secret(name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out.push_str(fragment);
    out
}

/// Whether a query parameter's name (percent-encoded as sent) looks like a credential's.
fn looks_secret(name: &str) -> bool {
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .to_lowercase();
    SECRET_NAMES.iter().any(|part| name.contains(part))
}

/// `scheme://user:password@host/…` with the password as `***`.
fn without_password(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => {
            let userinfo = &url[start..start + at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start], &url[start + at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_url_hides_credential_looking_parameters_and_passwords() {
        assert_eq!(
            url_for_log("http://h/a?page=2&access_token=abc&API%5FKey=k&X-Amz-Signature=s#top"),
            "http://h/a?page=2&access_token=***&API%5FKey=***&X-Amz-Signature=***#top"
        );
        assert_eq!(
            url_for_log("https://alice:pw@h:8443/x?q=1&flag"),
            "https://alice:***@h:8443/x?q=1&flag"
        );
        assert_eq!(url_for_log("http://h/a@b?x=1"), "http://h/a@b?x=1");
        assert_eq!(url_for_log("http://h/"), "http://h/");
    }

    #[test]
    fn masks_what_a_url_makes_of_a_secret() {
        let s = Secrets::new(["k+y/1 2".to_owned()]);
        assert_eq!(
            s.mask("raw k+y/1 2, query k%2By%2F1+2, path k+y/1%202"),
            "raw ***, query ***, path ***"
        );
    }

    #[test]
    fn short_values_mask_nothing_in_any_form() {
        let s = Secrets::new(["/".to_owned(), " ".to_owned()]);
        assert_eq!(s.mask("a%2Fb c%20d"), "a%2Fb c%20d");
    }

    #[test]
    fn the_plans_secrets_outlive_any_number_of_tokens() {
        let mut s = Secrets::new(["hunter2".to_owned()]);
        for i in 0..(MAX_SECRETS * 2) {
            s.add(&format!("token+{i:08}/x="));
        }
        assert_eq!(s.mask("password hunter2"), "password ***");
        assert_eq!(s.mask("token+00000001/x="), "token+00000001/x=");
        assert_eq!(
            s.mask(&format!("token+{:08}/x=", MAX_SECRETS * 2 - 1)),
            "***"
        );
    }

    #[test]
    fn masks_the_json_escaped_and_basic_forms() {
        let mut s = Secrets::new([r#"pa"ss\word"#.to_owned()]);
        assert_eq!(s.mask(r#"{"echo":"pa\"ss\\word"}"#), r#"{"echo":"***"}"#);
        s.keep_basic("alice", "wonderland");
        // base64("alice:wonderland")
        assert_eq!(
            s.mask("Authorization: Basic YWxpY2U6d29uZGVybGFuZA=="),
            "Authorization: Basic ***"
        );
    }

    #[test]
    fn run_time_secrets_are_bounded_in_bytes() {
        let mut s = Secrets::default();
        let big = |i: usize| format!("{i:08}{}", "x".repeat(1 << 20));
        for i in 0..40 {
            s.add(&big(i));
        }
        assert!(s.runtime_bytes <= MAX_SECRET_BYTES, "{}", s.runtime_bytes);
        assert_eq!(s.mask(&big(39)), "***", "the newest is kept");
        assert_ne!(s.mask(&big(0)), "***", "the oldest is forgotten");
    }

    #[test]
    fn masks_longest_first() {
        let s = Secrets::new([
            "demo".to_owned(),
            "demo-password".to_owned(),
            "x".to_owned(),
        ]);
        assert_eq!(
            s.mask("user demo, password demo-password, x"),
            "user ***, password ***, x"
        );
    }
}
