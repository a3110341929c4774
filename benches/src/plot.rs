//! Line charts as plain SVG text: no plotting library, one small function
//! per element. The x axis is logarithmic (fleet sizes span decades), each
//! chart's y axis is linear from zero.

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// An SVG colour (`#1f77b4`).
    pub color: &'static str,
    /// `(x, y)` points; x must be positive (the axis is logarithmic).
    pub points: Vec<(f64, f64)>,
}

/// One chart of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Its title, with the unit of its y axis.
    pub title: String,
    /// Its lines.
    pub series: Vec<Series>,
}

const CHART_W: f64 = 420.0;
const CHART_H: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 62.0;
const COLUMNS: usize = 2;
const Y_TICKS: u32 = 5;

/// The charts in a grid of two columns, sharing the x ticks `x_ticks`
/// (value, label) and the x axis' label.
pub fn svg(charts: &[Chart], x_ticks: &[(f64, String)], x_label: &str) -> String {
    let rows = charts.len().div_ceil(COLUMNS).max(1);
    let (width, height) = (CHART_W * COLUMNS as f64, CHART_H * rows as f64);
    let mut out = String::new();
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    )
    .expect("writing to a String");
    writeln!(out, r#"<rect width="{width}" height="{height}" fill="white"/>"#).expect("writing to a String");
    let x_range = log_range(x_ticks.iter().map(|t| t.0).chain(charts.iter().flat_map(xs)));
    for (i, chart) in charts.iter().enumerate() {
        let origin = ((i % COLUMNS) as f64 * CHART_W, (i / COLUMNS) as f64 * CHART_H);
        draw(&mut out, chart, origin, x_range, x_ticks, x_label);
    }
    out.push_str("</svg>\n");
    out
}

fn xs(chart: &Chart) -> impl Iterator<Item = f64> + '_ {
    chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0))
}

/// log10 of the smallest and largest positive x.
fn log_range(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs
        .filter(|x| *x > 0.0 && x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x.log10()), hi.max(x.log10())));
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// A round top for a y axis from zero that holds `max`.
fn nice_top(max: f64) -> f64 {
    if !(max > 0.0 && max.is_finite()) {
        return 1.0;
    }
    let step = max / f64::from(Y_TICKS);
    let magnitude = 10f64.powf(step.log10().floor());
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= step).unwrap_or(step);
    nice * f64::from(Y_TICKS)
}

fn draw(
    out: &mut String,
    chart: &Chart,
    (ox, oy): (f64, f64),
    x_range: (f64, f64),
    x_ticks: &[(f64, String)],
    x_label: &str,
) {
    let (plot_w, plot_h) = (CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM);
    let (x0, y0) = (ox + LEFT, oy + TOP + plot_h);
    let top = nice_top(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max));
    let x_at = |x: f64| x0 + (x.log10() - x_range.0) / (x_range.1 - x_range.0) * plot_w;
    let y_at = |y: f64| y0 - y / top * plot_h;
    let w = |out: &mut String, text: String| out.push_str(&text);
    w(
        out,
        format!(
            r#"<text x="{:.1}" y="{:.1}" font-size="13" font-weight="bold">{}</text>"#,
            x0,
            oy + 20.0,
            escape(&chart.title)
        ) + "\n",
    );
    for tick in 0..=Y_TICKS {
        let value = top * f64::from(tick) / f64::from(Y_TICKS);
        let y = y_at(value);
        w(
            out,
            format!(r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##, x0 + plot_w) + "\n",
        );
        w(
            out,
            format!(r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, x0 - 6.0, y + 4.0, number(value))
                + "\n",
        );
    }
    for (value, label) in x_ticks {
        let x = x_at(*value);
        w(
            out,
            format!(r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{y0:.1}" stroke="#eee"/>"##, y0 - plot_h) + "\n",
        );
        w(
            out,
            format!(r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, y0 + 16.0, escape(label)) + "\n",
        );
    }
    w(
        out,
        format!(
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + plot_w / 2.0,
            y0 + 32.0,
            escape(x_label)
        ) + "\n",
    );
    w(
        out,
        format!(
            r##"<rect x="{x0:.1}" y="{:.1}" width="{plot_w:.1}" height="{plot_h:.1}" fill="none" stroke="#888"/>"##,
            y0 - plot_h
        ) + "\n",
    );
    for (i, series) in chart.series.iter().enumerate() {
        let points: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y)| *x > 0.0 && x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", x_at(x), y_at(y)))
            .collect();
        let color = series.color;
        w(
            out,
            format!(r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, points.join(" "))
                + "\n",
        );
        for p in &points {
            let (cx, cy) = p.split_once(',').expect("formatted as x,y");
            w(out, format!(r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>"#) + "\n");
        }
        let ly = y0 + 48.0;
        let lx = x0 + i as f64 * 150.0;
        w(
            out,
            format!(
                r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"/>"#,
                ly - 4.0,
                lx + 18.0,
                ly - 4.0
            ) + "\n",
        );
        w(out, format!(r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#, lx + 22.0, escape(&series.name)) + "\n");
    }
}

/// A tick label: `2.5`, `40`, `12M`.
fn number(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "rate <M/s> & more".into(),
            series: vec![Series { name: "1 thread".into(), color: "#000", points }],
        }
    }

    #[test]
    fn every_point_is_drawn_inside_its_chart() {
        let ticks = [(1e4, "10k".to_string()), (1e7, "10M".to_string())];
        let text = svg(&[chart(vec![(1e4, 3.0), (1e5, 5.0), (1e7, 4.0)])], &ticks, "nodes");
        assert!(text.starts_with("<svg ") && text.ends_with("</svg>\n"));
        let circles: Vec<(f64, f64)> = text
            .lines()
            .filter(|l| l.starts_with("<circle"))
            .map(|l| {
                let attr = |name: &str| -> f64 {
                    let at = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    l[at..].split('"').next().unwrap().parse().unwrap()
                };
                (attr("cx"), attr("cy"))
            })
            .collect();
        assert_eq!(circles.len(), 3);
        // The smallest x is at the left edge, the largest at the right, and a
        // larger y is drawn higher.
        assert_eq!(circles[0].0, LEFT);
        assert_eq!(circles[2].0, CHART_W - RIGHT);
        assert!(circles[1].1 < circles[2].1 && circles[2].1 < circles[0].1);
        assert!(circles.iter().all(|&(x, y)| (0.0..=CHART_W).contains(&x) && (TOP..=CHART_H - BOTTOM).contains(&y)));
    }

    #[test]
    fn text_is_escaped_and_bad_points_are_left_out() {
        let text = svg(&[chart(vec![(0.0, 1.0), (10.0, f64::NAN), (100.0, 2.0)])], &[], "n");
        assert!(text.contains("rate &lt;M/s&gt; &amp; more") && !text.contains("<M/s>"));
        assert_eq!(text.lines().filter(|l| l.starts_with("<circle")).count(), 1);
    }

    #[test]
    fn axes_get_round_numbers() {
        assert_eq!(nice_top(8.3), 10.0);
        assert_eq!(nice_top(0.0), 1.0);
        assert_eq!(nice_top(174.0), 250.0);
        assert_eq!(number(12_000_000.0), "12M");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(40.0), "40");
        assert_eq!(number(25_000.0), "25k");
        assert_eq!(log_range([5.0].into_iter()), (5f64.log10() - 0.5, 5f64.log10() + 0.5));
    }
}
