//! HTML building: escaping (every value that reaches a page goes through [`esc`]) and the page
//! frame shared by every page. Plain `format!`, no template engine: the pages are few and small.

use std::fmt::Write as _;

/// `s` escaped for HTML text and attribute values (double-quoted).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped for a URL path segment (then still HTML-escaped where it is written).
pub fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A whole page: the title, the navigation, then `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · fstore</title><link rel=\"stylesheet\" href=\"/ui/assets/style.css\">\
<link rel=\"icon\" href=\"data:,\"></head><body>\
<header><a class=\"brand\" href=\"/ui\">fstore</a><nav>\
<a href=\"/ui\">Tables</a><a href=\"/ui/lookup\">Lookup</a><a href=\"/ui/server\">Server</a>\
<a href=\"/openapi.json\">API</a></nav></header><main><h1>{t}</h1>{body}</main></body></html>\n",
        t = esc(title),
    )
}

/// An HTML table: header cells and rows of cells (already HTML).
pub fn table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table class=\"{}\"><thead><tr>", esc(class));
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(url_segment("a.b/c d"), "a.b%2Fc%20d");
        assert!(page("<x>", "").contains("<title>&lt;x&gt; · fstore</title>"));
    }
}
