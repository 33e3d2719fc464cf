//! The throughput chart: jobs per second by worker concurrency, for
//! jobstore and the baselines.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::BenchResult;

/// Fonts tried, in order, for the chart's text (Debian's DejaVu or
/// Liberation packages; `fonts-dejavu-core` is enough).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
];

/// One line of the chart: a subject's median throughput at each
/// concurrency.
pub struct Series {
    /// Who was measured.
    pub label: String,
    /// (concurrency, jobs per second).
    pub points: Vec<(u32, f64)>,
}

/// Draws `series` as a PNG at `path`, with the concurrencies `levels` on a
/// categorical x axis.
pub fn draw(path: &Path, levels: &[u32], series: &[Series]) -> BenchResult<()> {
    load_font()?;
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.15;
    let root = BitMapBackend::new(path, (960, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "No-op jobs processed per second, by worker concurrency",
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.3f64..(levels.len() as f64 - 0.7), 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(levels.len())
        .x_label_formatter(&|x| {
            let i = x.round() as usize;
            levels
                .get(i)
                .map_or_else(String::new, |c| format!("concurrency {c}"))
        })
        .y_desc("jobs per second")
        .y_label_formatter(&|y| format!("{:.0}", y))
        .label_style(("sans-serif", 16))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|(c, v)| levels.iter().position(|l| l == c).map(|x| (x as f64, *v)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 5, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Registers the first font found as plotters' "sans-serif".
fn load_font() -> BenchResult<()> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).is_file())
        .ok_or("no font for the chart: install fonts-dejavu-core")?;
    // plotters keeps the font for the process's life.
    let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{path} is not a usable font"))?;
    Ok(())
}
