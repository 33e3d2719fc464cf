//! What a scenario measured, and the one JSON line that reports it.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::cli::Run;

/// A scenario's result: the timed seconds and any fields of its own.
#[derive(Debug)]
pub struct Measurement {
    pub seconds: f64,
    pub extra: Map<String, Value>,
}

impl Measurement {
    pub fn new(seconds: f64) -> Self {
        Measurement {
            seconds,
            extra: Map::new(),
        }
    }

    /// Adds `<prefix>_p50_ms`, `_p99_ms`, `_mean_ms` and `_max_ms` of `samples`.
    pub fn with_latencies(mut self, prefix: &str, samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
        for (name, value) in [
            ("p50_ms", percentile(&ms, 50.0)),
            ("p99_ms", percentile(&ms, 99.0)),
            ("mean_ms", mean),
            ("max_ms", ms.last().copied().unwrap_or(0.0)),
        ] {
            let key = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}_{name}")
            };
            self.extra.insert(key, value.into());
        }
        self
    }
}

/// The nearest-rank percentile `p` of ascending `sorted` (0 when empty).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The JSON line for `measurement` of `run`: the common fields first, then
/// the scenario's own.
pub fn line(run: &Run, measurement: Measurement, journal_mode: &str, sqlite: &str) -> Value {
    let mut line = json!({
        "scenario": run.scenario.name(),
        "jobs": run.jobs,
        "batch": run.batch,
        "concurrency": run.concurrency,
        "seconds": measurement.seconds,
        "per_sec": run.jobs as f64 / measurement.seconds,
        "journal_mode": journal_mode,
        "sqlite_version": sqlite,
    });
    let fields = line.as_object_mut().expect("a JSON object");
    fields.extend(measurement.extra);
    line
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 100.0);
        assert_eq!(percentile(&samples, 99.0), 198.0);
        assert_eq!(percentile(&samples, 100.0), 200.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
