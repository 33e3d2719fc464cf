//! The speed targets, as ratios measured in the same run.

use crate::backend::Backend;
use crate::report::{Report, Target};
use crate::suite::{names, subject};

/// The default worker concurrency (`WorkerConfig::default()`).
const DEFAULT_CONCURRENCY: u32 = 4;

/// Every target whose two sides were measured in this run.
pub fn evaluate(report: &Report, poll_interval_ms: f64) -> Vec<Target> {
    let sqlite = subject(Backend::Sqlite);
    let libsql = subject(Backend::Libsql);
    let at_default = names::processing(DEFAULT_CONCURRENCY);
    let ratio =
        |name: &str, a: &str, b: &str| Some(report.median(name, a)? / report.median(name, b)?);
    let mut targets = Vec::new();
    let mut add = |name: String, ratio: Option<f64>, required: f64| {
        if let Some(ratio) = ratio {
            targets.push(Target {
                name,
                ratio,
                required,
            });
        }
    };
    add(
        format!(
            "Processing at concurrency {DEFAULT_CONCURRENCY} (default): jobstore / effectum (WAL)"
        ),
        ratio(&at_default, sqlite, "effectum (WAL)"),
        2.5,
    );
    for concurrency in [1, DEFAULT_CONCURRENCY, 16] {
        add(
            format!("Processing at concurrency {concurrency}: jobstore / raw SQLite claiming and completing {concurrency} per transaction"),
            ratio(&names::processing(concurrency), sqlite, "raw SQLite"),
            0.7,
        );
        add(
            format!("Processing at concurrency {concurrency}, database on tmpfs: jobstore / raw SQLite claiming and completing {concurrency} per transaction"),
            ratio(&names::processing_in_memory(concurrency), sqlite, "raw SQLite"),
            0.7,
        );
    }
    add(
        "Enqueue one per call: jobstore / raw SQLite".into(),
        ratio(names::ENQUEUE_ONE, sqlite, "raw SQLite"),
        0.9,
    );
    add(
        "Enqueue 100 per call: jobstore / raw SQLite".into(),
        ratio(names::ENQUEUE_BATCH, sqlite, "raw SQLite"),
        0.8,
    );
    let _ = poll_interval_ms;
    for backend in Backend::ALL {
        let s = subject(backend);
        let place = "the same process";
        add(
            format!("Idle pickup in the same process, {s}: 1 ms / p50"),
            report
                .median(&names::pickup(place, 50), s)
                .map(|ms| 1.0 / ms),
            1.0,
        );
        for seconds in [1, 60] {
            add(
                format!("Idle pickup from another process after {seconds} s idle, {s}: 2 ms / p50"),
                report
                    .median(&names::idle_pickup(seconds, 50), s)
                    .map(|ms| 2.0 / ms),
                1.0,
            );
            add(
                format!(
                    "Idle pickup from another process after {seconds} s idle, {s}: 10 ms / p99"
                ),
                report
                    .median(&names::idle_pickup(seconds, 99), s)
                    .map(|ms| 10.0 / ms),
                1.0,
            );
        }
        add(
            format!("Cancel from another process to the child dead, {s}: 20 ms / p50"),
            report.median(&names::cancel(50), s).map(|ms| 20.0 / ms),
            1.0,
        );
        add(
            format!("Cancel from another process to the child dead, {s}: 100 ms / p99"),
            report.median(&names::cancel(99), s).map(|ms| 100.0 / ms),
            1.0,
        );
        add(
            format!("Another process's progress on an event stream, {s}: 10 ms / p99"),
            report.median(&names::stream(99), s).map(|ms| 10.0 / ms),
            1.0,
        );
        add(
            format!("An idle worker's CPU, {s}: 1% of a core / measured"),
            report
                .median(names::IDLE_CPU, s)
                .map(|pct| 1.0 / pct.max(0.01)),
            1.0,
        );
    }
    add(
        "Processing at concurrency 4, file watched / not watched (the change feed's cost)".into(),
        report
            .median(&names::watched(true), sqlite)
            .zip(report.median(&names::watched(false), sqlite))
            .map(|(on, off)| on / off),
        0.95,
    );
    for backend in Backend::ALL {
        let s = subject(backend);
        let [depth, history] = [1_000, 1_000_000];
        let pair = |old: String, new: String| {
            report
                .median(&old, s)
                .zip(report.median(&new, s))
                .map(|(old, new)| old / new)
        };
        add(
            format!("Claims on a file that had 1,000,000 jobs pruned / on a new file, {s}"),
            pair(
                names::pruned_claims(depth, Some(history)),
                names::pruned_claims(depth, None),
            ),
            0.9,
        );
        add(
            format!("Enqueue on a file that had 1,000,000 jobs pruned / on a new file, {s}"),
            pair(
                names::pruned_enqueue(Some(history)),
                names::pruned_enqueue(None),
            ),
            0.9,
        );
    }
    let [shallow, deep] = [names::claims(1_000), names::claims(1_000_000)];
    for backend in Backend::ALL {
        let s = subject(backend);
        add(
            format!("Claims with 1,000,000 pending / with 1,000 pending, {s}"),
            report
                .median(&deep, s)
                .zip(report.median(&shallow, s))
                .map(|(d, h)| d / h),
            0.9,
        );
        add(
            format!("Worker memory flat, {s}: RSS after 10% of the jobs / RSS after all of them (median of the runs)"),
            report.median(names::RSS_FLAT, s),
            0.9,
        );
    }
    add(
        format!("Processing at concurrency {DEFAULT_CONCURRENCY} on a local file: jobstore (libSQL) / jobstore (SQLite)"),
        ratio(&at_default, libsql, sqlite),
        0.8,
    );
    let server = |rtt, workers, c| report.server_median(&names::server_processing(rtt, workers, c));
    add(
        "Server at 20 ms, one worker × 16: jobs/s / 300".into(),
        server(20, 1, 16).map(|v| v / 300.0),
        1.0,
    );
    add(
        "Server at 20 ms, × 16: three workers / one worker".into(),
        server(20, 3, 16)
            .zip(server(20, 1, 16))
            .map(|(three, one)| three / one),
        2.5,
    );
    add(
        "Server at 50 ms, one worker × 16: jobs/s / 120".into(),
        server(50, 1, 16).map(|v| v / 120.0),
        1.0,
    );
    add(
        format!("Server at 0 ms, one worker × 16: jobs/s / {BEFORE_AT_ZERO_MS} (the code before, measured the same day)"),
        server(0, 1, 16).map(|v| v / BEFORE_AT_ZERO_MS),
        3.0,
    );
    for backend in Backend::ALL {
        let s = subject(backend);
        add(
            format!("Dashboard first load with 100,000 jobs, {s}: 200 ms / server time"),
            report
                .median(&names::dashboard_load(100_000), s)
                .map(|ms| 200.0 / ms),
            1.0,
        );
    }
    targets
}

/// Jobs per second of one worker of concurrency 16 over the server at a 0 ms
/// round trip, built from the code before the one-request-per-operation
/// change and measured on the day of the last full run (see the analysis
/// in BENCHMARKS.md).
const BEFORE_AT_ZERO_MS: f64 = 909.0;
