//! Request URIs as they go on the wire: a base joined with a path, and a rendered URL made
//! valid (encoded as a browser would) with query parameters appended.

use http::Uri;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Joins a base URL and a path, keeping the base's own path (`http://h/prefix` + `/api/x`
/// → `http://h/prefix/api/x`); absolute URLs are left alone.
pub(crate) fn join(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    match (base.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{base}{}", &path[1..]),
        (false, false) if !path.is_empty() => format!("{base}/{path}"),
        _ => format!("{base}{path}"),
    }
}

/// What a URL's path and query cannot hold as is: encoded, as a browser would.
pub(crate) const NOT_IN_TARGET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// Builds a request URI from a rendered absolute URL: its path and query are made valid,
/// a fragment is dropped, then `pairs` (form-encoded) and `extra` (an encoded query, from
/// `auth.apply`) are appended to the query.
pub(crate) fn build_uri<'a>(
    url: &str,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    extra: &str,
) -> Result<Uri, String> {
    let invalid = |why: &dyn std::fmt::Display| format!("`{url}` is not a valid URL: {why}");
    // Spaces and line breaks around a URL are template layout (a folded YAML scalar ends
    // with a newline), not part of it.
    let bare = url.trim().split('#').next().unwrap_or_default();
    let after_scheme = bare
        .find("://")
        .map(|i| i.saturating_add(3))
        .ok_or_else(|| invalid(&"it has no scheme (http:// or https://)"))?;
    let split = bare[after_scheme..]
        .find(['/', '?'])
        .map_or(bare.len(), |i| after_scheme.saturating_add(i));
    let (origin, rest) = bare.split_at(split);
    let mut out = String::with_capacity(url.len().saturating_add(16));
    if origin.is_ascii() {
        out.push_str(origin);
    } else {
        // An internationalised host name goes out as its ASCII (punycode) form.
        let parsed = url::Url::parse(origin).map_err(|e| invalid(&e))?;
        out.push_str(&parsed.origin().ascii_serialization());
    }
    if !rest.starts_with('/') {
        out.push('/');
    }
    out.extend(utf8_percent_encode(rest, NOT_IN_TARGET));
    let mut pairs = pairs.peekable();
    if pairs.peek().is_some() {
        separate_query(&mut out);
        let start = out.len();
        url::form_urlencoded::Serializer::for_suffix(&mut out, start).extend_pairs(pairs);
    }
    if !extra.is_empty() {
        separate_query(&mut out);
        out.push_str(extra);
    }
    Uri::try_from(out).map_err(|e| invalid(&e))
}

/// Ends a URL so that query parameters can follow: `?` when it has no query, `&` after
/// one that does not already end with a separator.
fn separate_query(url: &mut String) {
    if !url.contains('?') {
        url.push('?');
    } else if !url.ends_with(['?', '&']) {
        url.push('&');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_made_valid() {
        let uri = |url: &str, pairs: &[(&str, &str)], extra: &str| {
            build_uri(url, pairs.iter().copied(), extra).map(|u| u.to_string())
        };
        assert_eq!(
            uri("http://h/a b/ü?x=1#frag", &[("q", "a b")], "k=v").as_deref(),
            Ok("http://h/a%20b/%C3%BC?x=1&q=a+b&k=v")
        );
        assert_eq!(
            uri("http://h/a?", &[("q", "1")], "").as_deref(),
            Ok("http://h/a?q=1")
        );
        assert_eq!(uri(" http://h/a\n", &[], "").as_deref(), Ok("http://h/a"));
        assert_eq!(uri("http://h", &[], "k=v").as_deref(), Ok("http://h/?k=v"));
        assert_eq!(
            uri("http://[::1]:8080/x", &[], "").as_deref(),
            Ok("http://[::1]:8080/x")
        );
        assert_eq!(
            uri("http://bücher.example/x", &[], "").as_deref(),
            Ok("http://xn--bcher-kva.example/x")
        );
        assert!(uri("/no/scheme", &[], "").is_err());
    }

    #[test]
    fn joins_keep_the_base_path() {
        assert_eq!(join("http://h/prefix", "/api/x"), "http://h/prefix/api/x");
        assert_eq!(join("http://h/prefix/", "/api/x"), "http://h/prefix/api/x");
        assert_eq!(join("http://h", "api/x"), "http://h/api/x");
        assert_eq!(join("http://h/p", "https://other/x"), "https://other/x");
    }
}
