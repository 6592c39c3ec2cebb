//! PNG plots (plotters, with DejaVu Sans embedded so no system fonts are needed): the
//! training loss curve, the LR-finder curve, the 2-D embedding scatter and the bigram heatmap.

use anyhow::{anyhow, Context};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a constant of the dejavu crate; it always parses.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws with `draw` into a PNG at `path`. plotters writes a temporary `.png` beside it (it
/// picks the encoder from the extension), which is then synced and renamed over `path`, as
/// every file the trainer writes ([`crate::checkpoint::write_atomic`]).
fn png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    register_font();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("plot.png");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp.png", std::process::id()));
    let result = (|| {
        let root = BitMapBackend::new(&tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
        Ok::<_, anyhow::Error>(())
    })();
    match result.and_then(|()| crate::checkpoint::persist_file(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e).with_context(|| format!("cannot write plot {}", path.display()))
        }
    }
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// What [`loss_curve`] draws: the training loss averaged over windows and the dev loss at
/// each evaluation, both as `(step, log10 loss)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LossSeries {
    /// Steps per window of the training series.
    pub window: usize,
    pub train: Vec<(f64, f64)>,
    pub dev: Vec<(f64, f64)>,
}

/// The two series of the loss plot: `losses` (one per step) in windows (the lectures average
/// every 1,000 steps; here about 200 points whatever the run's length) and `dev` as it was
/// evaluated, `(step, loss)`. Non-finite points are left out.
pub fn loss_series(losses: &[f32], dev: &[(usize, f64)]) -> LossSeries {
    let window = (losses.len() / 200).max(1);
    let train = losses
        .chunks(window)
        .enumerate()
        .map(|(i, c)| ((i * window + c.len() / 2) as f64, f64::from(c.iter().sum::<f32>() / c.len() as f32).log10()))
        .filter(|(_, y)| y.is_finite())
        .collect();
    let dev = dev.iter().map(|&(s, d)| (s as f64, d.log10())).filter(|(_, y)| y.is_finite()).collect();
    LossSeries { window, train, dev }
}

/// The training loss (windowed) and the dev loss at each evaluation, as log10(loss) against
/// the step, with a legend: where the two part, the model is over-fitting.
pub fn loss_curve(path: &Path, losses: &[f32], dev: &[(usize, f64)], title: &str) -> anyhow::Result<()> {
    let LossSeries { window, train, dev } = loss_series(losses, dev);
    let ys = train.iter().chain(&dev).map(|&(_, y)| y);
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 0.1, lo + 0.1) };
    let pad = (hi - lo) * 0.03;
    let steps = dev.iter().map(|p| p.0).fold(losses.len() as f64, f64::max).max(1.0);
    png(path, (900, 500), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}: log10 loss (train: mean of {window} steps; dev: each evaluation)"), (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..steps, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("log10 loss")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(train, &BLUE))
            .map_err(err)?
            .label("train (minibatch)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
        let orange = RGBColor(230, 120, 20);
        chart
            .draw_series(LineSeries::new(dev.clone(), orange.stroke_width(2)))
            .map_err(err)?
            .label("dev (whole split)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], orange.stroke_width(2)));
        chart.draw_series(dev.iter().map(|&p| Circle::new(p, 3, orange.filled()))).map_err(err)?;
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

/// Loss against log10(learning rate) for the LR finder, with the suggested rate marked.
pub fn lr_finder(path: &Path, lrs: &[f64], losses: &[f64], suggested: f64) -> anyhow::Result<()> {
    let pts: Vec<(f64, f64)> =
        lrs.iter().zip(losses).filter(|(_, l)| l.is_finite()).map(|(lr, &l)| (lr.log10(), l)).collect();
    let x0 = pts.first().map_or(-3.0, |p| p.0);
    let x1 = pts.last().map_or(0.0, |p| p.0);
    let lo = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).min(lo + 6.0);
    png(path, (900, 500), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("LR finder: suggested lr {suggested:.3}"), (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), lo..hi.max(lo + 1e-9))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("log10 learning rate")
            .y_desc("minibatch loss")
            .label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        chart.draw_series(LineSeries::new(pts.into_iter().map(|(x, y)| (x, y.min(hi))), &BLUE)).map_err(err)?;
        let s = suggested.log10();
        chart.draw_series(LineSeries::new([(s, lo), (s, hi)], &RED)).map_err(err)?;
        Ok(())
    })
}

/// The 2-D embedding table `c: [vocab, 2]` as a scatter labelled with the symbols.
pub fn embedding(path: &Path, c: &[f32], vocab: &str) -> anyhow::Result<()> {
    let pts: Vec<(f64, f64, char)> =
        c.chunks_exact(2).zip(vocab.chars()).map(|(xy, s)| (f64::from(xy[0]), f64::from(xy[1]), s)).collect();
    let bound = |f: fn(&(f64, f64, char)) -> f64| {
        let lo = pts.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = pts.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.1);
        (lo - pad)..(hi + pad)
    };
    let (xr, yr) = (bound(|p| p.0), bound(|p| p.1));
    png(path, (700, 700), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("embedding C (n_embd = 2)", (FONT, 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        chart.configure_mesh().label_style((FONT, 12)).draw().map_err(err)?;
        chart
            .draw_series(pts.iter().map(|&(x, y, s)| {
                EmptyElement::at((x, y))
                    + Circle::new((0, 0), 11, RGBColor(70, 130, 180).filled())
                    + Text::new(s.to_string(), (-4, -8), (FONT, 15).into_font().color(&WHITE))
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// The `[vocab, vocab]` bigram counts as a heatmap, each cell labelled with its bigram and count.
pub fn bigram_heatmap(path: &Path, counts: &[Vec<u64>], vocab: &str) -> anyhow::Result<()> {
    let symbols: Vec<char> = vocab.chars().collect();
    let v = symbols.len();
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let cell = 44u32;
    png(path, (cell * v as u32 + 20, cell * v as u32 + 20), |root| {
        let area = root.margin(10, 10, 10, 10);
        for (i, row) in counts.iter().enumerate() {
            for (j, &n) in row.iter().enumerate() {
                let t = (n as f64 / max).sqrt();
                let shade = |full: u8| (255.0 - t * (255.0 - f64::from(full))) as u8;
                let color = RGBColor(shade(8), shade(48), shade(107));
                let (x, y) = ((j as u32 * cell) as i32, (i as u32 * cell) as i32);
                area.draw(&Rectangle::new([(x, y), (x + cell as i32, y + cell as i32)], color.filled()))
                    .map_err(err)?;
                let ink = if t > 0.5 { WHITE } else { RGBColor(60, 60, 60) };
                let label = format!("{}{}", symbols[i], symbols[j]);
                area.draw(&Text::new(label, (x + 12, y + 6), (FONT, 14).into_font().color(&ink))).map_err(err)?;
                area.draw(&Text::new(n.to_string(), (x + 6, y + 24), (FONT, 11).into_font().color(&ink)))
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// One model on the size/quality frontier.
#[derive(Clone, Debug)]
pub struct FrontierPoint {
    pub label: String,
    pub bytes: f64,
    pub dev_loss: f64,
    /// Drawn as a reference (hollow, not ours).
    pub reference: bool,
}

/// Dev loss against model-file bytes (log scale), one labelled point per model.
pub fn frontier(path: &Path, points: &[FrontierPoint]) -> anyhow::Result<()> {
    let lx = |b: f64| b.max(1.0).log10();
    let x0 = points.iter().map(|p| lx(p.bytes)).fold(f64::INFINITY, f64::min) - 0.1;
    let x1 = points.iter().map(|p| lx(p.bytes)).fold(f64::NEG_INFINITY, f64::max) + 0.5;
    let y0 = points.iter().map(|p| p.dev_loss).fold(f64::INFINITY, f64::min) - 0.02;
    let y1 = points.iter().map(|p| p.dev_loss).fold(f64::NEG_INFINITY, f64::max) + 0.02;
    png(path, (1000, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Dev loss against model-file size (names.txt, seed 42)", (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), y0..y1.max(y0 + 1e-9))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("log10 bytes of the model file (blue: ours, int8 unless marked f32; red rings: published, f32)")
            .y_desc("dev loss (nats)")
            .label_style((FONT, 14))
            .draw()
            .map_err(err)?;
        for p in points {
            let (x, y) = (lx(p.bytes), p.dev_loss);
            let color = if p.reference { RED } else { BLUE };
            let style = if p.reference { color.stroke_width(2) } else { color.filled() };
            chart.draw_series(std::iter::once(Circle::new((x, y), 5, style))).map_err(err)?;
            chart.draw_series(std::iter::once(Text::new(p.label.clone(), (x + 0.02, y), (FONT, 13)))).map_err(err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_plot_has_a_train_and_a_dev_series() {
        let losses: Vec<f32> = (0..1000).map(|i| 3.0 - i as f32 / 1000.0).collect();
        let dev = [(250, 2.8), (500, 2.5), (1000, f64::NAN), (1000, 2.2)];
        let s = loss_series(&losses, &dev);
        assert_eq!(s.window, 5);
        assert_eq!(s.train.len(), 200);
        // Each window's mean, at its middle step: the first is steps 0..5, mean 2.998.
        assert_eq!(s.train[0].0, 2.0);
        assert!((s.train[0].1 - 2.998f64.log10()).abs() < 1e-6, "{:?}", s.train[0]);
        // Every evaluation is a point of its own (the NaN one left out), in log10.
        let want: Vec<(f64, f64)> =
            [(250.0, 2.8f64), (500.0, 2.5), (1000.0, 2.2)].map(|(x, y)| (x, y.log10())).to_vec();
        assert_eq!(s.dev, want);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        loss_curve(&path, &losses, &dev, "mlp").unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    }
}
