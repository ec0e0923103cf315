//! The log overview's growth plot: a server-rendered SVG step line of (time, size) samples,
//! with the first and last time and the largest size as axis labels. No script, no inline
//! style (presentation attributes and classes only), so it shows under the explorer's CSP.

use std::fmt::Write as _;

use signet_formats::common::Timestamp;

use crate::html::esc;

const W: f64 = 640.0;
const H: f64 = 200.0;
/// Room for the labels: left, right, top, bottom.
const PAD: (f64, f64, f64, f64) = (56.0, 12.0, 12.0, 28.0);

/// The plot of `samples` (oldest first), or a sentence when there is nothing to draw.
pub fn growth_svg(samples: &[(i64, u64)], now: i64, current: u64) -> String {
    let mut points: Vec<(i64, u64)> = samples.to_vec();
    // The line ends at the current size now, whether or not a sample says so yet.
    if points.last().is_none_or(|&(t, s)| t < now || s != current) {
        points.push((now.max(points.last().map_or(now, |p| p.0)), current));
    }
    if points.len() < 2 {
        return "<p class=\"note\">Growth: one sample so far; the plot fills in as the log grows.</p>".into();
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| PAD.0 + (t - t0) as f64 / span * (W - PAD.0 - PAD.1);
    let y = |s: u64| H - PAD.3 - s as f64 / max as f64 * (H - PAD.2 - PAD.3);
    let mut path = String::new();
    for (i, &(t, s)) in points.iter().enumerate() {
        if i == 0 {
            let _ = write!(path, "M{:.1},{:.1}", x(t), y(s));
        } else {
            // A step: the size holds until the next sample.
            let _ = write!(path, " H{:.1} V{:.1}", x(t), y(s));
        }
    }
    let label = |t: i64| esc(Timestamp::from_unix(t).as_str());
    format!(
        "<svg class=\"growth\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"log size over time\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line class=\"axis\" x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/>\
         <line class=\"axis\" x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\"/>\
         <path class=\"size\" d=\"{path}\" fill=\"none\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{lx}\" y=\"{b}\" text-anchor=\"end\">0</text>\
         <text x=\"{l}\" y=\"{by}\">{start}</text>\
         <text x=\"{r}\" y=\"{by}\" text-anchor=\"end\">{end}</text></svg>",
        l = PAD.0,
        r = W - PAD.1,
        t = PAD.2,
        b = H - PAD.3,
        lx = PAD.0 - 6.0,
        ty = PAD.2 + 10.0,
        by = H - 8.0,
        start = label(t0),
        end = label(t1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_steps_up_to_now() {
        let svg = growth_svg(&[(1_700_000_000, 1), (1_700_000_060, 5)], 1_700_000_120, 9);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(" V").count(), 2, "{svg}");
        assert!(svg.contains(">9</text>"));
        assert!(svg.contains("2023-11-14T22:13:20Z"));
        assert!(!svg.contains("style="));
        assert!(growth_svg(&[], 5, 0).contains("one sample"));
    }
}
