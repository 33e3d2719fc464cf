//! The JobStore contract, written once and run unchanged against every
//! backend: the in-memory store, SQLite through Diesel, and, with the
//! `libsql` feature, libSQL on a local file and on a libSQL server (the one
//! `JOBSTORE_TEST_LIBSQL_URL` names, or else a `sqld` this test process
//! starts itself). Each file defines the tests of one concern and lists
//! them once, at its end, in `contract_tests!`, which runs each against
//! every backend.

mod support;

#[cfg(feature = "libsql")]
#[allow(dead_code)]
#[path = "../support/latency_proxy.rs"]
mod latency_proxy;
#[cfg(feature = "libsql")]
#[allow(dead_code)]
#[path = "../support/sqld.rs"]
mod sqld;

/// Runs each named test (an `async fn(&Harness)` of the module that calls
/// this) against every backend: a test module per backend, a test per
/// name in each.
macro_rules! contract_tests {
    ($($test:ident),* $(,)?) => {
        contract_tests!(@backend memory, crate::support::memory; $($test),*);
        contract_tests!(@backend sqlite, crate::support::sqlite; $($test),*);
        #[cfg(feature = "libsql")]
        contract_tests!(@backend libsql, crate::support::libsql; $($test),*);
        #[cfg(feature = "libsql")]
        contract_tests!(@backend libsql_remote, crate::support::libsql_remote; $($test),*);
    };
    (@backend $backend:ident, $harness:path; $($test:ident),*) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(&$harness().await).await;
                }
            )*
        }
    };
}

mod activity;
mod attempts;
mod bulk;
mod cancel;
mod claim;
mod create;
mod cron;
mod exchange;
mod lifecycle;
mod queue;
mod queues;
mod read;
mod rescue;
mod retry;
mod unique;
mod workers;
