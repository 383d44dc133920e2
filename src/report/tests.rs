//! Report tests from a saved summary (no plan, engine or registry): golden files for every
//! text format, the CSV headers byte for byte, the HTML parsed as XML (every chart, no
//! external URL), and the summary against its committed schema.

use std::path::Path;

use super::summary::Summary;
use super::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The summary of the conclusion stage's fixture run (`conclude::tests::fixture`, which
/// keeps this file current): reports are tested from a `Summary` alone.
pub(crate) const FIXTURE: &str = include_str!("../../tests/fixtures/reports/summary.json");

pub(crate) fn fixture() -> Summary {
    Summary::from_json(FIXTURE).unwrap()
}

fn file(files: &[(String, Vec<u8>)], name: &str) -> String {
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"));
    String::from_utf8(bytes.clone()).unwrap()
}

#[test]
fn golden_files() {
    let summary = fixture();
    let files = render_files(&summary).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary.json",
            "golden_stats.csv",
            "golden_stats_history.csv",
            "golden_failures.csv",
            "golden_exceptions.csv",
            "junit.xml",
            "report.html",
            "summary.md",
            "metrics.ndjson"
        ]
    );
    for (name, bytes) in &files {
        let text = String::from_utf8(bytes.clone()).unwrap();
        if name == SUMMARY_FILE {
            // The fixture itself is the golden file of summary.json.
            assert_eq!(text, FIXTURE);
            continue;
        }
        insta::assert_snapshot!(name.replace('.', "_"), text);
    }
    insta::assert_snapshot!(
        "terminal",
        terminal::summary(&summary, false, terminal::DEFAULT_WIDTH)
    );
}

/// Issue 16: in 80 columns no table is wider than the terminal (the endpoint table drops
/// `mean` and keeps every name); in 200 nothing wraps, not even the longest verdict name.
/// Prose lines (the verdict's) are left to the terminal, which wraps them whole.
#[test]
fn terminal_tables_fit_the_terminal_width() {
    let summary = fixture();
    for width in [80, 200] {
        let text = terminal::summary(&summary, false, width);
        let tables = text.lines().filter(|l| l.starts_with(['┌', '│', '╞', '└']));
        for line in tables {
            let columns = unicode_width::UnicodeWidthStr::width(line);
            assert!(columns <= usize::from(width), "{columns} > {width}: {line}");
        }
        insta::assert_snapshot!(format!("terminal_{width}"), text);
    }
}

#[test]
fn csv_headers_are_locusts_byte_for_byte() {
    let files = csv::render(&fixture()).unwrap();
    let first = |name: &str| {
        let text = file(&files, name);
        text.split("\r\n").next().unwrap().to_owned()
    };
    assert_eq!(
        first("stats.csv"),
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
    );
    assert_eq!(
        first("stats_history.csv"),
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
    );
    assert_eq!(
        first("failures.csv"),
        "Method,Name,Error,Occurrences,First Seen,Last Seen"
    );
    assert_eq!(first("exceptions.csv"), "Count,Message,Traceback,Nodes");
    // Sorted by name then method, `Aggregated` last, no row without requests.
    let stats = file(&files, "stats.csv");
    let names: Vec<&str> = stats
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "checkout/create",
            "checkout/read",
            "get_dashboard",
            "list_claims",
            "login",
            "Aggregated"
        ]
    );
    assert!(
        stats.contains("GET,list_claims,122,3,16,16.31495081967213,0.0,29.007,3836.065573770492,"),
        "measured floats, decoded content size: {stats}"
    );
    assert!(stats.lines().last().unwrap().starts_with(",Aggregated,"));
}

#[test]
fn html_is_well_formed_self_contained_and_has_every_chart() {
    use quick_xml::events::Event;
    let summary = fixture();
    let html = html::render(&summary).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
    // Plan text is escaped: the plan's name holds `<reports>`.
    assert!(html.contains("golden &lt;reports&gt;"));
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut svg_ids = Vec::new();
    let mut figure = None;
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                let id = e
                    .try_get_attribute("id")
                    .unwrap()
                    .map(|a| String::from_utf8(a.value.to_vec()).unwrap());
                if e.name().as_ref() == b"figure" {
                    figure = id;
                } else if e.name().as_ref() == b"svg" {
                    svg_ids.push(figure.clone().unwrap());
                }
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "report.html is not well-formed at {}: {e}",
                reader.error_position()
            ),
        }
    }
    assert_eq!(depth, 0, "unbalanced tags");
    let mut want: Vec<String> = [
        "chart-planned",
        "chart-users",
        "chart-rps",
        "chart-errors",
        "chart-latency",
    ]
    .map(String::from)
    .to_vec();
    want.extend(
        summary
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.requests > 0)
            .map(|(i, _)| format!("row-latency-{i}")),
    );
    want.extend((0..summary.endpoints.len()).map(|i| format!("dist-{i}")));
    assert_eq!(svg_ids, want);
    // Charts with data draw lines and bars; every second and bin can be hovered, and every
    // chart's numbers are in a table too.
    let rows = want.iter().filter(|w| w.starts_with("row-")).count();
    assert_eq!(html.matches("<polyline").count(), 7 + 2 * rows);
    assert!(html.matches("<rect class=\"bar\"").count() >= 4);
    assert!(html.matches("<rect class=\"hover\"").count() >= summary.series.len() * 4);
    // (A distribution without requests has no numbers to list.)
    assert!(html.matches("<details class=\"data\">").count() >= 5 + rows);
    for id in ["load", "checks", "stages"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert!(html.contains("FAIL") && html.contains("get_dashboard"));
}

/// Issue 16: report.html's endpoint table on its own, so the step rows' markup is pinned
/// apart from the charts and sections around it.
#[test]
fn html_endpoint_table_indents_a_flows_steps() {
    let html = html::render(&fixture()).unwrap();
    let start = html.find("<section id=\"endpoints\">").unwrap();
    let end = start + html[start..].find("</section>").unwrap() + "</section>".len();
    let table = &html[start..end];
    assert_eq!(table.matches("<tr class=\"step\">").count(), 2, "{table}");
    insta::assert_snapshot!("report_html_endpoints", table);
}

/// Issue 16: report.html's and summary.md's endpoint tables give each row's bytes received
/// and sent, a flow's step its own, in binary units.
#[test]
fn endpoint_tables_give_each_rows_bytes_in_and_out() {
    let summary = fixture();
    let html = html::render(&summary).unwrap();
    assert!(html.contains(
        r#"<th class="n">mean</th><th class="n">received</th><th class="n">sent</th></tr>"#
    ));
    let create = html
        .lines()
        .find(|l| l.starts_with(r#"<tr class="step"><td>create</td>"#))
        .unwrap();
    assert!(
        create.ends_with(r#"<td class="n">3.08 KiB</td><td class="n">9.38 KiB</td></tr>"#),
        "{create}"
    );
    let markdown = markdown::render(&summary);
    assert!(markdown.contains("| max | mean | received | sent |\n"));
    assert!(
        markdown.contains("| 140.62 KiB | 0 B |\n"),
        "list_claims' bytes:\n{markdown}"
    );
}

/// Fails when the committed schema `file` is not `generated` (`command` regenerates it) or
/// when `instance` (JSON text) does not validate against it.
pub(crate) fn assert_committed_schema(file: &str, generated: &str, command: &str, instance: &str) {
    let committed = std::fs::read_to_string(root().join(file)).unwrap();
    assert!(
        generated == committed,
        "{file} is stale: run `{command} > {file}`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(instance).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_committed_summary_schema_is_current_and_output_validates() {
    assert_committed_schema(
        "schema/summary.schema.json",
        &Summary::schema(),
        "cargo run -- schema --summary",
        &fixture().to_json().unwrap(),
    );
}

#[test]
fn rendering_is_byte_identical_from_the_saved_text() {
    let summary = fixture();
    let again = Summary::from_json(&summary.to_json().unwrap()).unwrap();
    assert_eq!(
        render_files(&summary).unwrap(),
        render_files(&again).unwrap()
    );
    assert_eq!(summary.to_json().unwrap(), again.to_json().unwrap());
}

/// Issue 9: drops, users cut at the graceful stop, renewals and failed logins are said on
/// screen and in summary.md whenever they happened; a clean run says none of it.
#[test]
fn notices_reach_the_terminal_and_markdown() {
    let clean = fixture();
    assert!(super::format::notices(&clean).is_empty());
    let mut s = fixture();
    s.run.dropped_iterations = 490;
    s.run.cut_requests = 2;
    s.run.login_failures.insert("HTTP 401".into(), 3);
    s.rows[0].renewals_on_status = 4;
    let terminal = super::terminal::summary(&s, false, terminal::DEFAULT_WIDTH);
    let markdown = super::markdown::render(&s);
    for expected in [
        "490 iterations were dropped",
        "2 requests were still in flight when the graceful stop ended",
        "4 requests were refused for expired credentials",
        "3 logins failed (4 succeeded): 3× HTTP 401",
    ] {
        assert!(
            terminal.contains(expected),
            "terminal lacks `{expected}`:\n{terminal}"
        );
        assert!(
            markdown.contains(expected),
            "summary.md lacks `{expected}`:\n{markdown}"
        );
    }
}
