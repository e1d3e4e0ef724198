//! The report's figures as SVG strings (plotters, SVG backend: no fonts or system libraries),
//! drawn from `spikegan stats` JSON of the data and of each model.

use plotters::prelude::*;
use serde_json::Value;

/// One data set's statistics, as `spikegan stats` writes them.
pub struct Stats<'a> {
    /// Legend label.
    pub label: &'a str,
    /// The JSON object.
    pub json: &'a Value,
}

/// Distinct colours (Okabe-Ito, colour-blind safe) for the models; the data is black.
const COLORS: [RGBColor; 7] = [
    RGBColor(230, 159, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

fn vector(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_f64).collect())
}

fn off_diagonal(v: &Value, key: &str) -> Vec<f64> {
    let rows = v[key].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, x) in row.as_array().into_iter().flatten().enumerate() {
            if i != j {
                out.extend(x.as_f64());
            }
        }
    }
    out
}

type Draw = Result<(), Box<dyn std::error::Error>>;

/// Draw into a fresh SVG string; a drawing error becomes a one-line note in its place.
fn render(title: &str, draw: impl FnOnce(&mut String) -> Draw) -> String {
    let mut svg = String::new();
    match draw(&mut svg) {
        Ok(()) => svg,
        Err(e) => format!("<p>figure '{title}' failed: {e}</p>"),
    }
}

/// What a line figure shows: `key`, one value per x = offset + index, log10 when `log`.
pub struct LineSpec<'a> {
    /// Figure title.
    pub title: &'a str,
    /// x axis.
    pub x_desc: &'a str,
    /// y axis.
    pub y_desc: &'a str,
    /// Key in the stats JSON.
    pub key: &'a str,
    /// x of the first value.
    pub offset: f64,
    /// Plot log10 of the values.
    pub log: bool,
}

/// The data (black, thick) and every model as lines, into an SVG string.
pub fn line_figure(spec: &LineSpec, data: &Stats, models: &[Stats]) -> String {
    let LineSpec {
        title,
        x_desc,
        y_desc,
        key,
        offset,
        log,
    } = *spec;
    render(title, |svg| {
        let tf = |y: f64| if log { y.max(1e-7).log10() } else { y };
        let all: Vec<(String, Vec<f64>, RGBColor)> =
            std::iter::once((data.label.to_string(), vector(data.json, key), BLACK))
                .chain(
                    models
                        .iter()
                        .enumerate()
                        .map(|(i, m)| (m.label.to_string(), vector(m.json, key), COLORS[i % COLORS.len()])),
                )
                .collect();
        let n = all.iter().map(|a| a.1.len()).max().unwrap_or(1).max(2);
        let ys: Vec<f64> = all.iter().flat_map(|a| a.1.iter().map(|&y| tf(y))).collect();
        let (lo, hi) = ys
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let root = SVGBackend::with_string(svg, (560, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(offset..offset + (n - 1) as f64, lo - pad..hi + pad)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
        for (label, v, color) in &all {
            let width = if *color == BLACK { 3 } else { 1 };
            chart
                .draw_series(LineSeries::new(
                    v.iter().enumerate().map(|(i, &y)| (offset + i as f64, tf(y))),
                    color.stroke_width(width),
                ))?
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Model value against data value of `key` (a vector, or the off-diagonal of a matrix), one
/// panel per model, with the identity line.
pub fn scatter_figure(title: &str, key: &str, matrix: bool, data: &Stats, models: &[Stats]) -> String {
    let get = |v: &Value| if matrix { off_diagonal(v, key) } else { vector(v, key) };
    let x = get(data.json);
    render(title, |svg| {
        let cols = models.len().clamp(1, 4);
        let rows = models.len().div_ceil(cols).max(1);
        let root = SVGBackend::with_string(svg, (250 * cols as u32, 250 * rows as u32 + 30)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 18))?;
        let panels = root.split_evenly((rows, cols));
        for (i, (m, panel)) in models.iter().zip(panels.iter()).enumerate() {
            let y = get(m.json);
            let all = x.iter().chain(&y);
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let pad = ((hi - lo) * 0.05).max(1e-9);
            let range = lo - pad..hi + pad;
            let mut chart = ChartBuilder::on(panel)
                .caption(m.label, ("sans-serif", 13))
                .margin(6)
                .x_label_area_size(25)
                .y_label_area_size(45)
                .build_cartesian_2d(range.clone(), range)?;
            chart.configure_mesh().x_labels(4).y_labels(4).x_desc("data").draw()?;
            chart.draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.5)))?;
            let color = COLORS[i % COLORS.len()];
            chart.draw_series(x.iter().zip(&y).map(|(&a, &b)| Circle::new((a, b), 2, color.filled())))?;
        }
        root.present()?;
        Ok(())
    })
}

/// One curve or point set of an [`xy_figure`].
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The (x, y) values.
    pub points: Vec<(f64, f64)>,
    /// Joined by a line (else drawn as dots).
    pub line: bool,
}

/// Curves and point sets on shared axes (log10 of an axis when asked; non-positive values are
/// dropped there), into an SVG string.
pub fn xy_figure(title: &str, x_desc: &str, y_desc: &str, series: &[Series], log_x: bool, log_y: bool) -> String {
    render(title, |svg| {
        let tf = |v: f64, log: bool| if log { (v > 0.0).then(|| v.log10()) } else { Some(v) };
        let shown: Vec<Vec<(f64, f64)>> = series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .filter_map(|&(x, y)| Some((tf(x, log_x)?, tf(y, log_y)?)))
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect()
            })
            .collect();
        let range = |f: fn(&(f64, f64)) -> f64| {
            let (lo, hi) = shown
                .iter()
                .flatten()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            if lo.is_finite() {
                let pad = ((hi - lo) * 0.05).max(1e-9);
                (lo - pad)..(hi + pad)
            } else {
                0.0..1.0
            }
        };
        let root = SVGBackend::with_string(svg, (560, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(range(|p| p.0), range(|p| p.1))?;
        let desc = |d: &str, log: bool| if log { format!("log10 {d}") } else { d.to_string() };
        chart
            .configure_mesh()
            .x_desc(desc(x_desc, log_x))
            .y_desc(desc(y_desc, log_y))
            .draw()?;
        for (i, (s, pts)) in series.iter().zip(&shown).enumerate() {
            let color = COLORS[i % COLORS.len()];
            if s.line {
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                    .label(s.label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            } else {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))?
                    .label(s.label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 3, color.filled()));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Matrices (rows x columns, e.g. neurons x bins) as heat maps side by side, each scaled to its
/// own maximum (white = 0); rows are drawn top to bottom in the order given.
pub fn heatmaps(title: &str, row_desc: &str, col_desc: &str, panels: &[(String, Vec<Vec<f64>>)]) -> String {
    render(title, |svg| {
        let cols = panels.len().clamp(1, 4);
        let rows = panels.len().div_ceil(cols).max(1);
        let root =
            SVGBackend::with_string(svg, ((260 * cols as u32).max(600), 250 * rows as u32 + 30)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 18))?;
        for ((label, m), panel) in panels.iter().zip(root.split_evenly((rows, cols)).iter()) {
            let (n_rows, n_cols) = (m.len().max(1), m.first().map_or(1, Vec::len).max(1));
            let max = m.iter().flatten().fold(0f64, |a, &v| a.max(v));
            let mut chart = ChartBuilder::on(panel)
                .caption(label, ("sans-serif", 13))
                .margin(6)
                .x_label_area_size(25)
                .y_label_area_size(35)
                .build_cartesian_2d(0f64..n_cols as f64, n_rows as f64..0f64)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(5)
                .y_labels(5)
                .x_desc(col_desc)
                .y_desc(row_desc)
                .draw()?;
            chart.draw_series(m.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, &v)| {
                    let t = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 };
                    let shade = |full: f64| (255.0 - t * (255.0 - full)) as u8;
                    let color = RGBColor(shade(8.0), shade(48.0), shade(107.0));
                    Rectangle::new([(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)], color.filled())
                })
            }))?;
        }
        root.present()?;
        Ok(())
    })
}
