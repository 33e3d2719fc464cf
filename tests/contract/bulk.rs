use std::time::Duration;

use jobstore::clock::Clock;
use jobstore::{
    BulkAction, ClaimRequest, Failure, JobFilter, JobStatus, ListQuery, NewJob, StoreError,
};
use serde_json::json;

use crate::support::Harness;

/// Claims the one claimable job of `job_type` in the default queue.
async fn claim_type(h: &Harness, job_type: &str) -> jobstore::Claimed {
    claim_from(h, "default", job_type).await
}

/// Claims the one claimable job of `job_type` in `queue`.
async fn claim_from(h: &Harness, queue: &str, job_type: &str) -> jobstore::Claimed {
    let mut claimed = h
        .store
        .claim(&ClaimRequest::from_queues("w", [(queue, 1)]).job_types([job_type]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one claimable {job_type} job");
    claimed.remove(0)
}

/// Every job of `job_type`, oldest first.
async fn jobs_of(h: &Harness, job_type: &str) -> Vec<jobstore::Job> {
    let mut jobs = h
        .store
        .list(&ListQuery::default().job_type(job_type).limit(1000))
        .await
        .unwrap()
        .jobs;
    jobs.reverse();
    jobs
}

pub async fn bulk_retry_retries_each_failed_or_cancelled_match_once(h: &Harness) {
    let mut failed = Vec::new();
    for n in 0..2 {
        h.store
            .create(
                NewJob::new("render", json!({ "n": n }))
                    .max_attempts(3)
                    .queue("video")
                    .priority(2)
                    .correlation_id("batch-7"),
            )
            .await
            .unwrap();
        let c = claim_from(h, "video", "render").await;
        h.store
            .fail(&c.lease, &Failure::permanent("codec missing"))
            .await
            .unwrap();
        failed.push(c.job.id);
    }
    let cancelled = h.job("render", 9).await;
    h.store.cancel(cancelled.id).await.unwrap();
    let pending = h.job("render", 10).await;
    let other = h.job("email", 1).await;
    h.store.cancel(other.id).await.unwrap();

    let filter = JobFilter::default().job_type("render");
    let preview = h
        .store
        .bulk_preview(BulkAction::Retry, &filter)
        .await
        .unwrap();
    assert!(preview.dry_run);
    assert_eq!(
        (preview.matched, preview.applied, preview.skipped),
        (4, 3, 1)
    );
    assert_eq!(
        jobs_of(h, "render").await.len(),
        4,
        "a preview changes nothing"
    );

    let outcome = h.store.bulk(BulkAction::Retry, &filter).await.unwrap();
    assert!(!outcome.dry_run);
    assert_eq!(
        (
            outcome.matched,
            outcome.applied,
            outcome.requested,
            outcome.skipped
        ),
        (4, 3, 0, 1)
    );
    let jobs = jobs_of(h, "render").await;
    assert_eq!(jobs.len(), 7);
    let retries: Vec<_> = jobs.iter().filter(|job| job.retry_of.is_some()).collect();
    assert_eq!(retries.len(), 3);
    let mut originals: Vec<_> = retries.iter().filter_map(|job| job.retry_of).collect();
    originals.sort();
    let mut expected = vec![failed[0], failed[1], cancelled.id];
    expected.sort();
    assert_eq!(originals, expected);
    for retry in &retries {
        let original = h.store.get(retry.retry_of.unwrap()).await.unwrap();
        assert_eq!(retry.status, JobStatus::Pending);
        assert_eq!(retry.params, original.params);
        assert_eq!(retry.max_attempts, original.max_attempts);
        assert_eq!(retry.queue, original.queue);
        assert_eq!(retry.priority, original.priority);
        assert_eq!(retry.correlation_id, original.correlation_id);
        assert_eq!((retry.retry_count, retry.attempt), (0, 0));
        assert_eq!(h.store.get(retry.id).await.unwrap(), **retry);
    }
    assert_eq!(
        h.store.get(pending.id).await.unwrap().status,
        JobStatus::Pending
    );
    assert_eq!(
        jobs_of(h, "email").await.len(),
        1,
        "another type is untouched"
    );

    let again = h.store.bulk(BulkAction::Retry, &filter).await.unwrap();
    assert_eq!(
        (again.matched, again.applied, again.skipped),
        (7, 0, 7),
        "each job is retried once"
    );
    assert_eq!(jobs_of(h, "render").await.len(), 7);

    // The retries run like any job.
    let claimed = h
        .store
        .claim(&ClaimRequest::new("w", 10).queue("video"))
        .await
        .unwrap();
    assert_eq!(
        claimed.len(),
        2,
        "each retry waits in its original's queue (the cancelled one's is default)"
    );
}

pub async fn bulk_cancel_cancels_pending_and_asks_running_workers(h: &Harness) {
    for n in 0..3 {
        h.store
            .create(NewJob::new("sync", json!({ "n": n })).correlation_id("import-1"))
            .await
            .unwrap();
    }
    let running = claim_type(h, "sync").await;
    let bystander = h
        .store
        .create(NewJob::new("sync", json!({})).correlation_id("import-2"))
        .await
        .unwrap();
    let filter = JobFilter::default().correlation_id("import-1");

    let preview = h
        .store
        .bulk_preview(BulkAction::Cancel, &filter)
        .await
        .unwrap();
    assert_eq!(
        (preview.matched, preview.applied, preview.requested),
        (3, 2, 1)
    );
    let outcome = h.store.bulk(BulkAction::Cancel, &filter).await.unwrap();
    assert_eq!(
        (
            outcome.matched,
            outcome.applied,
            outcome.requested,
            outcome.skipped
        ),
        (3, 2, 1, 0)
    );
    let beat = h
        .store
        .heartbeat(&running.lease, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(beat.cancel_requested, "the running job's worker is asked");
    let jobs = jobs_of(h, "sync").await;
    let cancelled = jobs
        .iter()
        .filter(|job| job.status == JobStatus::Cancelled)
        .count();
    assert_eq!(cancelled, 2);
    assert!(jobs
        .iter()
        .filter(|job| job.status == JobStatus::Cancelled)
        .all(|job| job.completed_at.is_some()));
    assert_eq!(
        h.store.get(bystander.id).await.unwrap().status,
        JobStatus::Pending,
        "another correlation id is untouched"
    );

    let again = h.store.bulk(BulkAction::Cancel, &filter).await.unwrap();
    assert_eq!(
        (again.applied, again.requested, again.skipped),
        (0, 0, 3),
        "finished jobs, and a running one already asked, are skipped"
    );
}

pub async fn bulk_delete_spares_running_jobs(h: &Harness) {
    let scratch = |n: u64| NewJob::new("tmp", json!({ "n": n })).queue("scratch");
    h.store.create(scratch(1)).await.unwrap();
    let done = claim_from(h, "scratch", "tmp").await;
    h.store.complete(&done.lease, json!("ok")).await.unwrap();
    h.store.create(scratch(2)).await.unwrap();
    let running = claim_from(h, "scratch", "tmp").await;
    let pending = h.store.create(scratch(3)).await.unwrap();
    let kept = h.job("tmp", 4).await;

    let outcome = h
        .store
        .bulk(BulkAction::Delete, &JobFilter::default().queue("scratch"))
        .await
        .unwrap();
    assert_eq!(
        (outcome.matched, outcome.applied, outcome.skipped),
        (3, 2, 1)
    );
    for id in [pending.id, done.job.id] {
        assert!(matches!(
            h.store.get(id).await.unwrap_err(),
            StoreError::NotFound(_)
        ));
    }
    h.store
        .complete(&running.lease, json!("still mine"))
        .await
        .unwrap();
    assert_eq!(
        h.store.get(kept.id).await.unwrap().status,
        JobStatus::Pending,
        "a job outside the filter is kept"
    );
}

pub async fn bulk_matches_by_creation_time(h: &Harness) {
    let old = h.job("t", 1).await;
    h.advance(Duration::from_secs(3600));
    let cutoff = h.clock.now();
    h.advance(Duration::from_secs(1));
    let new = h.job("t", 2).await;
    let outcome = h
        .store
        .bulk(
            BulkAction::Cancel,
            &JobFilter::default().created_before(cutoff),
        )
        .await
        .unwrap();
    assert_eq!((outcome.matched, outcome.applied), (1, 1));
    assert_eq!(
        h.store.get(old.id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(
        h.store.get(new.id).await.unwrap().status,
        JobStatus::Pending
    );
}

pub async fn bulk_refuses_an_empty_or_bad_filter_and_changes_nothing(h: &Harness) {
    let job = h.job("t", 1).await;
    for action in BulkAction::ALL {
        for filter in [
            JobFilter::default(),
            JobFilter::default().queue("no spaces"),
            JobFilter::default().job_type(""),
            JobFilter::default().correlation_id(""),
        ] {
            let err = h.store.bulk(action, &filter).await.unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidInput(_)),
                "{action} {filter:?}: {err:?}"
            );
            let err = h.store.bulk_preview(action, &filter).await.unwrap_err();
            assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
        }
    }
    assert_eq!(h.store.get(job.id).await.unwrap(), job);
    let every = JobStatus::ALL
        .into_iter()
        .fold(JobFilter::default(), JobFilter::status);
    let outcome = h
        .store
        .bulk_preview(BulkAction::Delete, &every)
        .await
        .unwrap();
    assert_eq!(
        outcome.matched, 1,
        "every job is said by naming the statuses"
    );
}

pub async fn prune_deletes_old_finished_jobs_in_batches(h: &Harness) {
    let old_pending = h
        .store
        .create(NewJob::new("late", json!({})).run_at(h.clock.now() + chrono::Duration::days(30)))
        .await
        .unwrap();
    let mut old = Vec::new();
    for n in 0..5 {
        h.job("p", n).await;
        let c = claim_type(h, "p").await;
        if n == 4 {
            h.store
                .fail(&c.lease, &Failure::permanent("no"))
                .await
                .unwrap();
        } else {
            h.store.complete(&c.lease, json!(n)).await.unwrap();
        }
        old.push(c.job.id);
    }
    h.job("r", 1).await;
    let old_running = claim_type(h, "r").await;
    h.advance(Duration::from_secs(2 * 86_400));
    let cutoff = h.clock.now() - chrono::Duration::days(1);
    h.job("p", 9).await;
    let recent = claim_type(h, "p").await;
    h.store.complete(&recent.lease, json!(9)).await.unwrap();

    let filter = JobFilter::default().finished_before(cutoff);
    assert_eq!(h.store.prune(&filter, 2).await.unwrap(), 2);
    assert_eq!(h.store.prune(&filter, 2).await.unwrap(), 2);
    assert_eq!(h.store.prune(&filter, 2).await.unwrap(), 1);
    assert_eq!(h.store.prune(&filter, 2).await.unwrap(), 0);
    for id in old {
        assert!(matches!(
            h.store.get(id).await.unwrap_err(),
            StoreError::NotFound(_)
        ));
    }
    assert_eq!(
        h.store.get(old_pending.id).await.unwrap().status,
        JobStatus::Pending,
        "a pending job is never pruned"
    );
    assert_eq!(
        h.store.get(old_running.job.id).await.unwrap().status,
        JobStatus::Running,
        "a running job is never pruned"
    );
    assert_eq!(
        h.store.get(recent.job.id).await.unwrap().status,
        JobStatus::Completed,
        "a job finished after the cutoff is kept"
    );
}

pub async fn prune_by_status_keeps_the_others(h: &Harness) {
    h.job("a", 1).await;
    let done = claim_type(h, "a").await;
    h.store.complete(&done.lease, json!(1)).await.unwrap();
    h.job("b", 1).await;
    let failed = claim_type(h, "b").await;
    h.store
        .fail(&failed.lease, &Failure::permanent("no"))
        .await
        .unwrap();
    h.advance(Duration::from_secs(60));
    let filter = JobFilter::default()
        .finished_before(h.clock.now())
        .status(JobStatus::Completed);
    assert_eq!(h.store.prune(&filter, 100).await.unwrap(), 1);
    assert_eq!(
        h.store.get(failed.job.id).await.unwrap().status,
        JobStatus::Failed
    );
}

pub async fn prune_refuses_what_is_not_a_retention_sweep(h: &Harness) {
    let job = h.job("t", 1).await;
    let now = h.clock.now();
    for (filter, limit) in [
        (JobFilter::default(), 10),
        (JobFilter::default().status(JobStatus::Completed), 10),
        (
            JobFilter::default()
                .finished_before(now)
                .status(JobStatus::Pending),
            10,
        ),
        (JobFilter::default().finished_before(now), 0),
        (JobFilter::default().finished_before(now), 1_000_000),
    ] {
        let err = h.store.prune(&filter, limit).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{filter:?} {limit}: {err:?}"
        );
    }
    assert_eq!(h.store.get(job.id).await.unwrap(), job);
}

contract_tests!(
    bulk_retry_retries_each_failed_or_cancelled_match_once,
    bulk_cancel_cancels_pending_and_asks_running_workers,
    bulk_delete_spares_running_jobs,
    bulk_matches_by_creation_time,
    bulk_refuses_an_empty_or_bad_filter_and_changes_nothing,
    prune_deletes_old_finished_jobs_in_batches,
    prune_by_status_keeps_the_others,
    prune_refuses_what_is_not_a_retention_sweep,
);
