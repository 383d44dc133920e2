//! A user's cookie jar with a browser's limits (RFC 6265 §6.1), for both transports: the
//! direct one consults it itself, reqwest's (proxy) through [`CookieStore`]. Storage and
//! matching (domain, path, expiry) are reqwest's jar; this only decides what it keeps.

use http::HeaderValue;
use reqwest::cookie::CookieStore;

/// The most a cookie may be, name, value and attributes (what RFC 6265 §6.1 asks a browser
/// to keep at least): a bigger one is ignored.
const MAX_COOKIE_BYTES: usize = 4096;

/// The most cookies the jar sends to one URL (RFC 6265 §6.1 asks for 50 a domain): a cookie
/// with a new name is ignored once there are this many, so a server that sets new cookies on
/// every answer cannot grow the `Cookie` header of every request without end.
const MAX_COOKIES: usize = 50;

/// A cookie jar that keeps at most [`MAX_COOKIES`] cookies of at most [`MAX_COOKIE_BYTES`]
/// for a URL.
#[derive(Debug, Default)]
pub(super) struct Jar(reqwest::cookie::Jar);

/// A cookie's name: what comes before `=` (or `;`) in `Cookie` and `Set-Cookie` headers.
fn name(cookie: &[u8]) -> &[u8] {
    let end = cookie.iter().position(|&b| b == b'=' || b == b';');
    cookie[..end.unwrap_or(cookie.len())].trim_ascii()
}

impl CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &url::Url) {
        let sent = self.0.cookies(url);
        let mut names: Vec<Vec<u8>> = sent
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
            .map(|c| name(c).to_vec())
            .collect();
        let mut kept = headers.filter(|v| {
            if v.len() > MAX_COOKIE_BYTES {
                return false;
            }
            let n = name(v.as_bytes());
            if names.iter().any(|known| known == n) {
                return true;
            }
            if names.len() >= MAX_COOKIES {
                return false;
            }
            names.push(n.to_vec());
            true
        });
        self.0.set_cookies(&mut kept, url);
    }

    fn cookies(&self, url: &url::Url) -> Option<HeaderValue> {
        self.0.cookies(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_fifty_cookies_of_at_most_4_kib_and_updates_known_ones() {
        let jar = Jar::default();
        let url = url::Url::parse("http://127.0.0.1/a").unwrap();
        let set = |values: Vec<String>| {
            let values: Vec<HeaderValue> = values
                .iter()
                .map(|v| HeaderValue::from_str(v).unwrap())
                .collect();
            jar.set_cookies(&mut values.iter(), &url);
        };
        set((0..60).map(|i| format!("c{i}=v")).collect());
        set(vec![format!("big={}", "b".repeat(MAX_COOKIE_BYTES))]);
        set(vec!["c0=updated".into()]);
        let sent = jar.cookies(&url).unwrap();
        let sent = sent.to_str().unwrap();
        assert_eq!(sent.split("; ").count(), 50, "{sent}");
        assert!(
            sent.contains("c0=updated") && !sent.contains("big"),
            "{sent}"
        );
    }
}
