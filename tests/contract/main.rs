//! The JobStore contract, written once and run unchanged against every
//! backend. A new backend joins by adding one `contract_suite!` line
//! (`optional` for one whose harness may find no server to test).

mod support;

#[allow(dead_code)]
#[path = "../support/latency_proxy.rs"]
mod latency_proxy;

mod cancel;
mod claim;
mod create;
mod cron;
mod exchange;
mod lifecycle;
mod queue;
mod read;
mod rescue;
mod retry;

/// Instantiates every contract test for one backend: `$harness` is an
/// async fn returning a fresh [`support::Harness`].
macro_rules! contract_suite {
    ($backend:ident, $harness:path) => {
        contract_suite!($backend, $harness, |h| Some(h));
    };
    ($backend:ident, $harness:path, optional) => {
        contract_suite!($backend, $harness, |h| h);
    };
    ($backend:ident, $harness:path, $wrap:expr) => {
        mod $backend {
            contract_suite!(@tests $harness, $wrap;
                create::create_returns_pending_job_with_defaults,
                create::create_refuses_invalid_input_and_stores_nothing,
                create::create_many_is_all_or_nothing,
                create::create_many_stores_batches_of_every_size,
                create::get_unknown_id_is_not_found,
                create::scheduled_job_is_not_claimable_before_run_at,
                read::list_is_newest_first_and_filters,
                read::list_pages_with_a_cursor,
                read::list_refuses_a_bad_limit,
                read::count_by_status_counts_each_status,
                read::count_by_type_counts_each_type_in_each_status,
                claim::claim_is_fifo_for_jobs_created_in_a_tight_loop,
                claim::claim_orders_by_run_at_then_creation,
                claim::claim_sets_the_lease,
                claim::claim_respects_limit_and_job_types,
                claim::claims_of_each_size_take_exactly_their_limit,
                claim::concurrent_claimers_never_share_a_job,
                claim::claim_refuses_a_bad_request,
                claim::claim_job_takes_one_specific_pending_job,
                claim::claim_job_refuses_jobs_that_are_not_pending,
                claim::concurrent_claim_job_has_one_winner,
                lifecycle::heartbeat_extends_the_lease,
                lifecycle::heartbeat_many_extends_each_held_lease_and_refuses_the_others,
                lifecycle::cancel_requested_names_the_held_jobs_asked_to_stop,
                lifecycle::progress_records_stage_and_optional_percent,
                lifecycle::complete_stores_the_result,
                lifecycle::complete_many_guards_each_completion_and_commits_the_rest,
                exchange::complete_and_claim_writes_completions_then_claims_fifo,
                exchange::complete_and_claim_completes_when_nothing_is_left_to_claim,
                exchange::complete_and_claim_respects_job_types,
                exchange::complete_and_claim_refuses_a_bad_request_and_writes_nothing,
                lifecycle::transient_failure_retries_until_attempts_run_out,
                lifecycle::permanent_failure_fails_at_once,
                lifecycle::release_does_not_spend_an_attempt,
                lifecycle::writes_to_a_finished_job_are_refused,
                lifecycle::stale_lease_is_refused_after_rescue_and_reclaim,
                cancel::cancel_pending_job_is_immediate,
                cancel::cancel_running_job_is_requested_then_marked,
                cancel::cancel_finished_job_changes_nothing,
                cancel::failure_after_cancel_request_ends_cancelled,
                cancel::cancel_unknown_job_is_not_found,
                rescue::rescue_requeues_then_fails_when_attempts_run_out,
                rescue::rescue_leaves_live_leases_alone,
                rescue::rescue_cancels_expired_job_with_cancel_request,
                queue::queue_position_counts_jobs_ahead,
                queue::queue_position_of_unknown_job_is_not_found,
                queue::queue_positions_read_many_jobs_at_once,
                retry::retry_creates_a_new_job_recording_the_original,
                retry::retry_refuses_jobs_that_did_not_fail,
                cron::declare_creates_a_schedule_waiting_for_its_first_tick,
                cron::declaring_again_keeps_the_due_tick,
                cron::declare_refuses_bad_input_and_stores_nothing,
                cron::fire_enqueues_one_job_per_due_tick,
                cron::missed_ticks_are_coalesced_into_one_run,
                cron::disabled_schedules_do_not_fire,
                cron::delete_removes_the_schedule_and_keeps_its_jobs,
                cron::concurrent_firing_enqueues_each_tick_once,
                cron::ticks_follow_the_schedule_timezone,
                cron::daylight_saving_changes_fire_each_local_time_once,
            );
        }
    };
    (@tests $harness:path, $wrap:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                // An optional backend (a remote server) may be absent: the
                // harness then says so once and the test has nothing to run.
                let wrap: fn(_) -> Option<crate::support::Harness> = $wrap;
                if let Some(harness) = wrap($harness().await) {
                    crate::$module::$test(&harness).await;
                }
            }
        )*
    };
}

contract_suite!(memory, crate::support::memory);
contract_suite!(sqlite, crate::support::sqlite);
contract_suite!(libsql, crate::support::libsql);
contract_suite!(libsql_remote, crate::support::libsql_remote, optional);
