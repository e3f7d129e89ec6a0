//! Inline SVG charts: one mark per point over time, drawn server-side (no chart library, nothing
//! fetched by the browser).

use std::fmt::Write as _;

use crate::html::{esc, time_ms};

/// One mark: when (ms since the epoch), the value, and whether it is a failure (drawn apart).
pub struct Point {
    pub at_ms: i64,
    pub value: f64,
    pub failed: bool,
}

const W: f64 = 640.0;
const H: f64 = 180.0;
const LEFT: f64 = 72.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 12.0;

/// A scatter chart with a line through the points in time order; every point is one
/// `<circle class="mark">` with a `<title>` tooltip. `id` names the `<svg>` for tests and links.
pub fn timeline(id: &str, label: &str, unit: &str, points: &[Point]) -> String {
    let mut out = format!(
        "<figure><figcaption>{}</figcaption><svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(label),
        esc(id),
        esc(label)
    );
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let _ = write!(
        out,
        "<rect class=\"frame\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\"/>"
    );
    if points.is_empty() {
        out.push_str("</svg></figure>");
        return out;
    }
    let t0 = points.iter().map(|p| p.at_ms).min().unwrap_or(0);
    let t1 = points.iter().map(|p| p.at_ms).max().unwrap_or(0);
    let top = points
        .iter()
        .map(|p| p.value)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Headroom above the highest mark, which is labelled with its own value.
    let vmax = if top > 0.0 { top * 1.1 } else { 1.0 };
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| {
        if t1 == t0 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + (t - t0) as f64 / span * plot_w
        }
    };
    let y = |v: f64| TOP + plot_h - (if v.is_finite() { v } else { 0.0 }) / vmax * plot_h;
    // Axis labels: the top value and the two ends of the time range.
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
<text class=\"axis\" x=\"{LEFT}\" y=\"{}\">{}</text>\
<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        LEFT - 4.0,
        y(top) + 3.0,
        esc(&format!("{} {unit}", short(top))),
        LEFT - 4.0,
        TOP + plot_h,
        H - 6.0,
        esc(&time_ms(t0)),
        W - RIGHT,
        H - 6.0,
        esc(&time_ms(t1)),
    );
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by_key(|p| p.at_ms);
    let path: Vec<String> = sorted
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at_ms), y(p.value)))
        .collect();
    let _ = write!(
        out,
        "<polyline class=\"line\" points=\"{}\"/>",
        path.join(" ")
    );
    for p in sorted {
        let _ = write!(
            out,
            "<circle class=\"mark{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"><title>{}</title></circle>",
            if p.failed { " failed" } else { "" },
            x(p.at_ms),
            y(p.value),
            esc(&format!(
                "{}: {} {unit}{}",
                time_ms(p.at_ms),
                short(p.value),
                if p.failed { " (failed)" } else { "" }
            )),
        );
    }
    out.push_str("</svg></figure>");
    out
}

/// A number in at most 4 significant digits.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mark_per_point() {
        let pts: Vec<Point> = (0..5)
            .map(|i| Point {
                at_ms: 1_700_000_000_000 + i * 1000,
                value: i as f64,
                failed: i == 4,
            })
            .collect();
        let svg = timeline("c", "rows <per> publish", "rows", &pts);
        assert_eq!(svg.matches("<circle class=\"mark").count(), 5);
        assert_eq!(svg.matches("class=\"mark failed\"").count(), 1);
        assert!(svg.contains("rows &lt;per&gt; publish"));
        assert!(timeline("e", "x", "s", &[]).contains("</svg>"));
    }
}
