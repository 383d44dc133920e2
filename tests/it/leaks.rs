//! Nothing secret or live leaves the process (issue 11): a server that echoes every request
//! back — credentials, an API key, a password with JSON-escaped characters — wrapped in
//! terminal escape sequences and Markdown links, against every output of `run` and `health`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use crate::support::root;

const KEY: &str = "key-Zq8pX2vL9";
const PASSWORD: &str = r#"pw"with\quote"#;
/// The session cookie the login sets, and the token it answers.
const COOKIE: &str = "sess-Hq3mW7rT0kN5";
const TOKEN: &str = "tok-Vb6yJ1cX8sD4";

/// Serves each connection one answer: the request head, JSON-escaped, between an escape
/// sequence that would retitle a terminal and Markdown that would render a link and an image.
/// `POST /login` instead answers a token and sets a session cookie.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            if head.starts_with("POST /login ") {
                let body = serde_json::json!({ "access": TOKEN }).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: sid={COOKIE}; Path=/; HttpOnly\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                continue;
            }
            let echo = format!(
                "\u{1b}]0;pwned\u{7}\u{1b}[2J {head} [Approve the rollback](https://evil.example/ok) ![x](https://evil.example/b.png)"
            );
            let body = serde_json::json!({ "echo": echo }).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn assert_clean(what: &str, text: &str) {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    let json_escaped = serde_json::to_string(PASSWORD).unwrap();
    let json_escaped = &json_escaped[1..json_escaped.len() - 1];
    for secret in [KEY, PASSWORD, basic.as_str(), json_escaped, COOKIE, TOKEN] {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[test]
fn run_and_health_leak_no_secret_and_no_live_text() {
    let url = echo_server();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let run = |args: &[&str]| {
        crate::support::command()
            .current_dir(root())
            .args(args)
            .env("NO_COLOR", "1")
            .env("LOADPLAN_TEST_KEY", KEY)
            .env("LOADPLAN_TEST_PASSWORD", PASSWORD)
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap()
    };
    let plan = "tests/fixtures/leaks/echo.yaml";
    let o = run(&[
        "run",
        plan,
        "--base-url",
        &url,
        "--out",
        out.to_str().unwrap(),
        "-v",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The failure did quote the answer (so the test means something), masked.
    assert!(
        stdout.contains("X-Api-Key: ***") || stdout.contains("x-api-key: ***"),
        "{stdout}"
    );
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert_clean(what, text);
        assert!(
            !text.contains('\u{1b}'),
            "{what} passes an escape sequence:\n{text}"
        );
    }
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_clean(&path.display().to_string(), &text);
        assert!(
            !text.contains('\u{1b}'),
            "{} passes an escape sequence:\n{text}",
            path.display()
        );
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        !md.contains("[Approve the rollback]("),
        "a live link:\n{md}"
    );
    assert!(!md.contains("![x]("), "a live image:\n{md}");

    let health_out = dir.path().join("health");
    let o = run(&[
        "health",
        plan,
        "--base-url",
        &url,
        "--out",
        health_out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("***"), "{stdout}");
    assert_clean("health stdout", &stdout);
    assert_clean("health stderr", &String::from_utf8_lossy(&o.stderr));
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    for name in ["health.json", "health-junit.xml"] {
        assert_clean(
            name,
            &std::fs::read_to_string(health_out.join(name)).unwrap(),
        );
    }
}

#[test]
fn a_cookie_set_by_the_login_is_masked_where_an_answer_quotes_it() {
    let url = echo_server();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let o = crate::support::command()
        .current_dir(root())
        .args([
            "run",
            "tests/fixtures/leaks/cookie-login.yaml",
            "-v",
            "--base-url",
        ])
        .arg(&url)
        .arg("--out")
        .arg(&out)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    // The echo quoted the request, cookie and token included, and both were masked.
    let lower = stdout.to_lowercase();
    assert!(lower.contains("sid=***"), "{stdout}");
    assert!(lower.contains("x-token:"), "{stdout}");
    assert_clean("stdout", &stdout);
    assert_clean("stderr", &String::from_utf8_lossy(&o.stderr));
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_clean(&path.display().to_string(), &text);
    }
}
