//! The pages. Each reads what it shows when asked (no cache: a page is a handful of small
//! queries) and renders a failure to read as a message on the page, not as an error status,
//! except for a table that does not exist (404).

use std::fmt::Write as _;

use axum::http::StatusCode;
use fstore_core::{FeatureType, TableName};
use fstore_online::{OnlineReader, PublishHistoryEntry, PublishedTable};
use fstore_publish::status::{TableStatus, table_status};

use crate::Ui;
use crate::chart::{Point, timeline};
use crate::html::{esc, page, table, time_ms, url_segment};

/// Publishes shown on an online table's page (and drawn in its charts).
const HISTORY_ROWS: usize = 200;
/// Delta versions listed on a feature table's page.
const VERSION_ROWS: usize = 100;

fn error_note(what: &str, e: impl std::fmt::Display) -> String {
    format!(
        "<p class=\"bad\">{}: {}</p>",
        esc(what),
        esc(&e.to_string())
    )
}

fn opt_version(v: Option<i64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| v.to_string())
}

fn outcome(e: &PublishHistoryEntry) -> String {
    match &e.error {
        None => "<span class=\"ok\">ok</span>".to_string(),
        Some(m) => format!("<span class=\"bad\">error: {}</span>", esc(m)),
    }
}

/// The table's status (`fstore_publish::status`: published and latest Delta versions, the lag
/// in versions and in commit time), or why the offline side is unknown.
async fn status_of(ui: &Ui, p: &PublishedTable) -> Result<TableStatus, String> {
    let offline = ui.offline.as_ref().map_err(Clone::clone)?;
    let s = table_status(offline, ui.lookups.store(), p)
        .await
        .map_err(|e| e.to_string())?;
    match &s.offline_error {
        Some(e) => Err(e.clone()),
        None => Ok(s),
    }
}

fn lag_of(s: &TableStatus) -> String {
    esc(&s.lag_text().unwrap_or_else(|| "?".into()))
}

pub async fn index(ui: &Ui) -> String {
    let mut body = String::new();
    let store = ui.lookups.store();
    // Online tables first: "what is online, how fresh, how did the last publish go".
    let _ = write!(
        body,
        "<h2>Online tables <span class=\"muted\">(store {})</span></h2>",
        esc(&ui.store_name)
    );
    match store.list().await {
        Err(e) => body.push_str(&error_note("cannot list the online tables", e)),
        Ok(list) if list.is_empty() => body.push_str(
            "<p class=\"muted\">nothing is published yet (<code>fstore publish</code>)</p>",
        ),
        Ok(list) => {
            let mut rows = Vec::new();
            for p in &list {
                rows.push(online_row(ui, p).await);
            }
            body.push_str(&table(
                "online-tables",
                &[
                    "online table",
                    "feature table",
                    "published version",
                    "latest Delta version",
                    "lag",
                    "published at",
                    "last publish",
                ],
                &rows,
            ));
        }
    }
    body.push_str("<h2>Feature tables</h2>");
    match &ui.offline {
        Err(e) => body.push_str(&error_note("cannot open the offline store", e)),
        Ok(offline) => match offline.list().await {
            Err(e) => body.push_str(&error_note("cannot list the feature tables", e)),
            Ok(names) if names.is_empty() => body.push_str(
                "<p class=\"muted\">no feature tables yet (<code>fstore tables create</code>)</p>",
            ),
            Ok(names) => {
                let mut rows = Vec::new();
                for n in &names {
                    let link = format!(
                        "<a href=\"/ui/tables/{}\">{}</a>",
                        esc(&url_segment(&n.to_string())),
                        esc(&n.to_string())
                    );
                    match offline.open(n).await {
                        Err(e) => rows.push(vec![
                            link,
                            String::new(),
                            String::new(),
                            error_note("cannot open", e),
                        ]),
                        Ok(t) => rows.push(vec![
                            link,
                            esc(&t.spec.primary_keys.join(", ")),
                            t.version.to_string(),
                            esc(t.spec.description.as_deref().unwrap_or("")),
                        ]),
                    }
                }
                body.push_str(&table(
                    "feature-tables",
                    &["feature table", "primary keys", "version", "description"],
                    &rows,
                ));
            }
        },
    }
    page("fstore", &body)
}

/// One row of the online tables' list: bookkeeping row, latest Delta version, last publish.
async fn online_row(ui: &Ui, p: &PublishedTable) -> Vec<String> {
    let (latest_cell, lag) = match &status_of(ui, p).await {
        Ok(s) => (opt_version(s.latest_version), lag_of(s)),
        Err(e) => (
            "?".to_string(),
            format!("<span class=\"bad\">{}</span>", esc(e)),
        ),
    };
    let last = match ui.lookups.store().history(&p.layout.table, 1).await {
        Ok(h) => h.first().map_or_else(
            || "<span class=\"muted\">no history</span>".to_string(),
            |e| format!("{} at {}", outcome(e), esc(&time_ms(e.finished_at_ms))),
        ),
        Err(e) => error_note("history", e),
    };
    vec![
        format!(
            "<a href=\"/ui/online/{}\">{}</a>",
            esc(&url_segment(&p.layout.table)),
            esc(&p.layout.table)
        ),
        esc(&p.feature_table),
        p.delta_version.to_string(),
        latest_cell,
        lag,
        esc(&time_ms(p.published_at.saturating_mul(1000))),
        last,
    ]
}

pub async fn feature_table(ui: &Ui, name: &str) -> (StatusCode, String) {
    let offline = match &ui.offline {
        Ok(o) => o,
        Err(e) => {
            let body = error_note("cannot open the offline store", e);
            return (StatusCode::OK, page(name, &body));
        }
    };
    let parsed = match TableName::parse(name) {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::NOT_FOUND,
                page(name, &error_note("not a feature table name", e)),
            );
        }
    };
    let t = match offline.open(&parsed).await {
        Ok(t) => t,
        Err(e) => {
            return (
                StatusCode::NOT_FOUND,
                page(name, &error_note("cannot open the feature table", e)),
            );
        }
    };
    let mut body = String::new();
    let spec = &t.spec;
    let _ = write!(
        body,
        "<p>{}</p><p>Primary keys: <code>{}</code>{} · version {} · <code>{}</code></p>",
        esc(spec.description.as_deref().unwrap_or("(no description)")),
        esc(&spec.primary_keys.join(", ")),
        spec.timestamp_key
            .as_ref()
            .map_or_else(String::new, |k| format!(
                " · timestamp key <code>{}</code>",
                esc(k)
            )),
        t.version,
        esc(t.location.as_str()),
    );
    if !spec.tags.is_empty() {
        body.push_str("<p>Tags: ");
        for (k, v) in &spec.tags {
            let _ = write!(body, "<span class=\"tag\">{}={}</span>", esc(k), esc(v));
        }
        body.push_str("</p>");
    }
    body.push_str("<h2>Schema</h2>");
    let rows: Vec<Vec<String>> = t
        .schema
        .fields()
        .iter()
        .map(|f| {
            let ty = FeatureType::from_arrow(f.name(), f.data_type())
                .map_or_else(|_| f.data_type().to_string(), |t| t.name());
            let role = if spec.primary_keys.contains(f.name()) {
                "primary key"
            } else if spec.timestamp_key.as_deref() == Some(f.name().as_str()) {
                "timestamp key"
            } else {
                ""
            };
            vec![
                esc(f.name()),
                esc(&ty),
                if f.is_nullable() { "yes" } else { "no" }.into(),
                role.into(),
            ]
        })
        .collect();
    body.push_str(&table(
        "schema",
        &["column", "type", "nullable", "role"],
        &rows,
    ));
    body.push_str("<h2>Versions</h2>");
    match offline.history(&parsed, Some(VERSION_ROWS)).await {
        Err(e) => body.push_str(&error_note("cannot read the Delta history", e)),
        Ok(h) => {
            let rows: Vec<Vec<String>> = h
                .iter()
                .map(|e| {
                    vec![
                        e.version.to_string(),
                        esc(&e.timestamp.map_or_else(
                            || "–".to_string(),
                            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                        )),
                        esc(&e.operation),
                    ]
                })
                .collect();
            body.push_str(&table("versions", &["version", "time", "operation"], &rows));
        }
    }
    (StatusCode::OK, page(&t.name.to_string(), &body))
}

pub async fn online_table(ui: &Ui, name: &str) -> (StatusCode, String) {
    let store = ui.lookups.store();
    let p = match store.describe(name).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let note = format!(
                "<p class=\"bad\">no online table <code>{}</code> in store {}; <a href=\"/ui\">the published tables</a></p>",
                esc(name),
                esc(&ui.store_name)
            );
            return (StatusCode::NOT_FOUND, page(name, &note));
        }
        Err(e) => return (StatusCode::OK, page(name, &error_note("cannot read", e))),
    };
    let mut body = String::new();
    let status = status_of(ui, &p).await;
    let _ = write!(
        body,
        "<table class=\"status\"><tbody>\
<tr><th>feature table</th><td><a href=\"/ui/tables/{}\">{}</a></td></tr>\
<tr><th>published version</th><td id=\"published-version\">{}</td></tr>\
<tr><th>latest Delta version</th><td id=\"latest-version\">{}</td></tr>\
<tr><th>lag</th><td id=\"lag\">{}</td></tr>\
<tr><th>published at</th><td>{}</td></tr><tr><th>mode</th><td>{}</td></tr>\
<tr><th>primary keys</th><td><code>{}</code></td></tr>\
<tr><th>columns</th><td>{}</td></tr></tbody></table>",
        esc(&url_segment(&p.feature_table)),
        esc(&p.feature_table),
        p.delta_version,
        match &status {
            Ok(s) => match s.latest_committed_at_ms {
                Some(t) => format!(
                    "{} <span class=\"muted\">(committed {})</span>",
                    opt_version(s.latest_version),
                    esc(&time_ms(t))
                ),
                None => opt_version(s.latest_version),
            },
            Err(e) => format!("<span class=\"bad\">{}</span>", esc(e)),
        },
        match &status {
            Ok(s) => lag_of(s),
            Err(_) => "?".to_string(),
        },
        esc(&time_ms(p.published_at.saturating_mul(1000))),
        esc(&p.mode),
        esc(&p.layout.primary_keys.join(", ")),
        esc(&p
            .layout
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ftype.name()))
            .collect::<Vec<_>>()
            .join(", ")),
    );
    body.push_str("<h2>Publish history</h2>");
    match store.history(&p.layout.table, HISTORY_ROWS).await {
        Err(e) => body.push_str(&error_note("cannot read the publish history", e)),
        Ok(h) if h.is_empty() => body.push_str("<p class=\"muted\">no publishes recorded</p>"),
        Ok(h) => {
            let seconds: Vec<Point> = h
                .iter()
                .map(|e| Point {
                    at_ms: e.started_at_ms,
                    value: e.seconds,
                    failed: e.error.is_some(),
                })
                .collect();
            let rows_changed: Vec<Point> = h
                .iter()
                .map(|e| Point {
                    at_ms: e.started_at_ms,
                    value: (e.inserted + e.updated + e.deleted) as f64,
                    failed: e.error.is_some(),
                })
                .collect();
            body.push_str("<div class=\"charts\">");
            body.push_str(&timeline(
                "chart-seconds",
                "Duration per publish",
                "s",
                &seconds,
            ));
            body.push_str(&timeline(
                "chart-rows",
                "Rows written per publish (inserted + updated + deleted)",
                "rows",
                &rows_changed,
            ));
            body.push_str("</div>");
            let rows: Vec<Vec<String>> = h
                .iter()
                .map(|e| {
                    vec![
                        esc(&time_ms(e.started_at_ms)),
                        format!(
                            "{} → {}",
                            opt_version(e.version_from),
                            opt_version(e.version_to)
                        ),
                        format!(
                            "{}{}",
                            esc(e.method.as_deref().unwrap_or("–")),
                            e.method_detail
                                .as_ref()
                                .map_or_else(String::new, |d| format!(
                                    " <span class=\"muted\">({})</span>",
                                    esc(d)
                                ))
                        ),
                        e.inserted.to_string(),
                        e.updated.to_string(),
                        e.deleted.to_string(),
                        e.bytes.to_string(),
                        format!("{:.3}", e.seconds),
                        outcome(e),
                    ]
                })
                .collect();
            body.push_str(&table(
                "history",
                &[
                    "started", "versions", "method", "inserted", "updated", "deleted", "bytes",
                    "seconds", "outcome",
                ],
                &rows,
            ));
        }
    }
    (StatusCode::OK, page(&p.layout.table, &body))
}

pub async fn lookup(ui: &Ui) -> String {
    let mut body = String::new();
    match ui.lookups.store().list().await {
        Err(e) => body.push_str(&error_note("cannot list the online tables", e)),
        Ok(list) if list.is_empty() => {
            body.push_str("<p class=\"muted\">nothing is published yet</p>")
        }
        Ok(list) => {
            body.push_str(
                "<form id=\"lookup-form\" class=\"lookup\"><label>Feature table \
<select id=\"lookup-table\">",
            );
            for p in &list {
                // A template key: every primary key, to be filled in.
                let template = format!(
                    "{{{}}}",
                    p.layout
                        .primary_keys
                        .iter()
                        .map(|k| format!("{}: null", json_string(k)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let _ = write!(
                    body,
                    "<option value=\"{}\" data-template=\"{}\">{} ({})</option>",
                    esc(&p.feature_table),
                    esc(&template),
                    esc(&p.feature_table),
                    esc(&p.layout.primary_keys.join(", "))
                );
            }
            body.push_str(
                "</select></label><label>Key (JSON object of the primary-key columns)\
<textarea id=\"lookup-keys\" spellcheck=\"false\"></textarea></label>\
<label>Bearer token (only if the server needs one and your browser does not send it)\
<input id=\"lookup-token\" type=\"password\" autocomplete=\"off\"></label>\
<button type=\"submit\">Look up</button></form>\
<div id=\"lookup-error\"></div><div id=\"lookup-result\"></div>\
<script src=\"/ui/assets/lookup.js\"></script>",
            );
        }
    }
    page("Lookup", &body)
}

/// A JSON string literal (the template is parsed by the page's script).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn server(ui: &Ui) -> String {
    let m = ui.lookups.metrics();
    let ms =
        |s: Option<f64>| s.map_or_else(|| "> 10 s".to_string(), |s| format!("≤ {} ms", s * 1e3));
    let rows: Vec<Vec<String>> = m
        .route_summaries()
        .iter()
        .map(|r| {
            vec![
                esc(r.route.label()),
                r.count.to_string(),
                format!("{:.3} ms", r.mean.as_secs_f64() * 1e3),
                esc(&ms(r.p50)),
                esc(&ms(r.p99)),
                esc(&r
                    .codes
                    .iter()
                    .map(|(c, n)| format!("{c}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")),
            ]
        })
        .collect();
    let (queries, shared) = m.coalesced();
    let body = format!(
        "<p>Since this server started (the same figures as <a href=\"/metrics\">/metrics</a>).</p>{}\
<p>Shared lookup queries: {queries}, serving {shared} requests.</p>",
        table(
            "server-metrics",
            &["route", "requests", "mean", "p50", "p99", "status codes"],
            &rows
        )
    );
    page("Server", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
