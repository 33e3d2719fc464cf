//! Counters and histograms of the queue's activity, through the `metrics`
//! facade, and the Prometheus recorder that `/metrics` renders.
//!
//! [`MeteredStore`] counts what passes through a [`JobStore`](crate::JobStore)
//! (jobs enqueued, claimed, completed, failed, retried, and how long attempts
//! ran), so no worker or producer code changes to be measured. The counts go
//! to whichever global `metrics` recorder the process installed: the one from
//! [`install_prometheus`], or a host service's own.

#[cfg(feature = "http")]
mod gauges;
mod metered_store;
#[cfg(feature = "http")]
mod prometheus;

#[cfg(feature = "http")]
pub use gauges::JobGauges;
pub use metered_store::MeteredStore;
#[cfg(feature = "http")]
pub use prometheus::{install_prometheus, MetricsError};

/// Jobs created (by enqueue or by a manual retry), by `job_type`.
pub const ENQUEUED: &str = "jobstore_jobs_enqueued_total";
/// Jobs claimed by a worker or an inline run, by `job_type`.
pub const CLAIMED: &str = "jobstore_jobs_claimed_total";
/// Jobs completed, by `job_type`.
pub const COMPLETED: &str = "jobstore_jobs_completed_total";
/// Jobs failed for good after an attempt, by `job_type`.
pub const FAILED: &str = "jobstore_jobs_failed_total";
/// Failed attempts sent back to the queue for another one, by `job_type`.
pub const RETRIED: &str = "jobstore_jobs_retried_total";
/// Seconds from an attempt's start to its completion or failure, by
/// `job_type`.
pub const RUN_SECONDS: &str = "jobstore_job_run_seconds";
/// Jobs in the store now, by `status`.
pub const JOBS: &str = "jobstore_jobs";
/// Jobs in the store now, by `job_type` and `status`.
pub const JOBS_BY_TYPE: &str = "jobstore_jobs_by_type";

/// The upper bounds of the run time histogram's buckets, in seconds.
pub const RUN_SECONDS_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Describes every metric to the installed recorder (the HELP lines).
#[cfg(feature = "http")]
pub(crate) fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(ENQUEUED, "Jobs created, by enqueue or manual retry.");
    describe_counter!(CLAIMED, "Jobs claimed by a worker or an inline run.");
    describe_counter!(COMPLETED, "Jobs completed.");
    describe_counter!(FAILED, "Jobs failed for good.");
    describe_counter!(RETRIED, "Failed attempts sent back for another.");
    describe_histogram!(
        RUN_SECONDS,
        Unit::Seconds,
        "Seconds from an attempt's start to its completion or failure."
    );
    describe_gauge!(JOBS, "Jobs in the store, by status.");
    describe_gauge!(JOBS_BY_TYPE, "Jobs in the store, by type and status.");
}
