use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jobstore::{ClaimRequest, Failure, JobStatus, NewJob, Progress, StoreError, UniqueScope};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn claim_is_fifo_for_jobs_created_in_a_tight_loop(h: &Harness) {
    // The harness clock stands still: all 1,000 jobs share one millisecond.
    let mut created = Vec::with_capacity(1000);
    for n in 0..1000 {
        created.push(h.job("fifo", n).await.id);
    }
    let mut claimed = Vec::with_capacity(1000);
    loop {
        let batch = h.store.claim(&ClaimRequest::new("w", 7)).await.unwrap();
        if batch.is_empty() {
            break;
        }
        claimed.extend(batch.into_iter().map(|c| c.job.id));
    }
    assert_eq!(claimed, created, "claimed back in exactly creation order");
}

pub async fn claim_orders_by_run_at_then_creation(h: &Harness) {
    let first_scheduled = h
        .store
        .create(NewJob::new("s", json!({})).run_at(start() - chrono::Duration::seconds(5)))
        .await
        .unwrap();
    let now_a = h.job("s", 1).await;
    h.advance(Duration::from_secs(1));
    let now_b = h.job("s", 2).await;
    let earlier = h
        .store
        .create(NewJob::new("s", json!({})).run_at(start() - chrono::Duration::seconds(1)))
        .await
        .unwrap();
    let order: Vec<_> = h
        .store
        .claim(&ClaimRequest::new("w", 10))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.job.id)
        .collect();
    assert_eq!(
        order,
        vec![first_scheduled.id, earlier.id, now_a.id, now_b.id]
    );
}

pub async fn claim_sets_the_lease(h: &Harness) {
    let job = h.job("lease", 1).await;
    h.advance(Duration::from_secs(3));
    let request = ClaimRequest::new("worker-7", 5).lease_duration(Duration::from_secs(30));
    let claimed = h.store.claim(&request).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let now = start() + chrono::Duration::seconds(3);
    let c = &claimed[0];
    assert_eq!(c.lease.job_id, job.id);
    assert_eq!(c.lease.attempt, 1);
    assert_eq!(c.job.status, JobStatus::Running);
    assert_eq!(c.job.attempt, 1);
    assert_eq!(c.job.locked_by.as_deref(), Some("worker-7"));
    assert_eq!(
        c.job.lease_expires_at,
        Some(now + chrono::Duration::seconds(30))
    );
    assert_eq!(c.job.started_at, Some(now));
    assert_eq!(c.job.updated_at, now);
    assert_eq!(
        h.store.get(job.id).await.unwrap(),
        c.job,
        "claim returns the stored job"
    );
    assert!(
        h.store.claim(&request).await.unwrap().is_empty(),
        "a running job is not claimable"
    );
}

pub async fn every_claimed_job_is_the_job_as_stored(h: &Harness) {
    // A job with every optional column set, back in pending after a failed
    // attempt that reported progress, in a named queue among several.
    let rich = h
        .store
        .create(
            NewJob::new("rich", json!({ "file": "a.mp4", "n": [1, 2] }))
                .queue("video")
                .priority(2)
                .correlation_id("batch-3")
                .unique_key(
                    "file-a",
                    UniqueScope::UntilFinishedPlus(Duration::from_secs(60)),
                )
                .max_attempts(3),
        )
        .await
        .unwrap();
    let plain = h.job("plain", 1).await;
    let first = ClaimRequest::new("first", 1).queue("video");
    let c = &h.store.claim(&first).await.unwrap()[0];
    h.store
        .progress(&c.lease, &Progress::percent("encoding", 40.0))
        .await
        .unwrap();
    h.store
        .fail(
            &c.lease,
            &Failure::transient("disk busy").retry_after(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    // Not on a whole second: the claim's times are kept to the millisecond.
    h.advance(Duration::from_micros(2_345_678));
    let request = ClaimRequest::from_queues("second", [("default", 4), ("video", 4)])
        .lease_duration(Duration::from_millis(45_500));
    let claimed = h.store.claim(&request).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, vec![plain.id, rich.id], "queue by queue");
    for c in &claimed {
        assert_eq!(
            h.store.get(c.job.id).await.unwrap(),
            c.job,
            "claim returns the stored job"
        );
        assert_eq!(c.lease.attempt, c.job.attempt);
    }
    let again = &claimed[1].job;
    assert_eq!(again.attempt, 2);
    assert_eq!(again.error.as_deref(), Some("disk busy"));
    assert_eq!((again.stage.as_deref(), again.progress), (None, None));
    assert_eq!(again.queue, "video");
    assert_eq!(again.locked_by.as_deref(), Some("second"));
}

pub async fn claim_respects_limit_and_job_types(h: &Harness) {
    for n in 0..5 {
        h.job("a", n).await;
        h.job("b", n).await;
    }
    let b_only = ClaimRequest::new("w", 3).job_types(["b"]);
    let claimed = h.store.claim(&b_only).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(claimed.iter().all(|c| c.job.job_type == "b"));
    let claimed = h.store.claim(&b_only).await.unwrap();
    assert_eq!(claimed.len(), 2, "only two b jobs are left");
    let claimed = h
        .store
        .claim(&ClaimRequest::new("w", 100).job_types(["a", "c"]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    assert!(claimed.iter().all(|c| c.job.job_type == "a"));
}

pub async fn claims_of_each_size_take_exactly_their_limit(h: &Harness) {
    for n in 0..20 {
        h.job("s", n).await;
    }
    // Sizes go up, down and repeat, as a worker's free slots do.
    for (limit, expected) in [(1, 1), (3, 3), (2, 2), (3, 3), (1, 1), (7, 7), (5, 3)] {
        let claimed = h.store.claim(&ClaimRequest::new("w", limit)).await.unwrap();
        assert_eq!(claimed.len(), expected, "a claim of {limit}");
    }
    assert!(h
        .store
        .claim(&ClaimRequest::new("w", 2))
        .await
        .unwrap()
        .is_empty());
}

pub async fn concurrent_claimers_never_share_a_job(h: &Harness) {
    let jobs: Vec<NewJob> = (0..2000)
        .map(|n| NewJob::new("race", json!({ "n": n })))
        .collect();
    let created: HashSet<_> = h
        .store
        .create_many(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    // Every claimer holds its first batch until all have claimed once, so
    // they certainly overlap (the first cannot drain the queue alone).
    let claimers = 8;
    let all_claimed_once = Arc::new(tokio::sync::Barrier::new(claimers));
    let mut tasks = Vec::new();
    for worker in 0..claimers {
        let store = Arc::clone(&h.store);
        let all_claimed_once = Arc::clone(&all_claimed_once);
        tasks.push(tokio::spawn(async move {
            let request = ClaimRequest::new(format!("w{worker}"), 3);
            let mut mine = Vec::new();
            loop {
                let batch = store.claim(&request).await;
                if mine.is_empty() {
                    // Reached even by a claimer whose claim failed, so that
                    // a failure fails the test instead of stalling the rest.
                    all_claimed_once.wait().await;
                }
                let batch = batch.expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.job.id));
            }
        }));
    }
    let mut seen = Vec::new();
    let mut claimers_with_work = 0;
    for task in tasks {
        let mine = task.await.unwrap();
        claimers_with_work += usize::from(!mine.is_empty());
        seen.extend(mine);
    }
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 2000, "every job claimed once, none twice");
    assert_eq!(unique, created);
    assert_eq!(
        claimers_with_work, claimers,
        "each claimer got a batch while the others held theirs"
    );
}

pub async fn claim_refuses_a_bad_request(h: &Harness) {
    h.job("x", 1).await;
    let bad = [
        ClaimRequest::new("w", 0),
        ClaimRequest::new("", 1),
        ClaimRequest::new("w", 1).lease_duration(Duration::ZERO),
        ClaimRequest::new("w", 100_000),
    ];
    for request in bad {
        let err = h.store.claim(&request).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{request:?}: {err:?}"
        );
    }
    assert_eq!(h.store.count_by_status().await.unwrap().pending, 1);
}

pub async fn claim_job_takes_one_specific_pending_job(h: &Harness) {
    let ahead = h.job("inline", 1).await;
    let later = h
        .store
        .create(NewJob::new("inline", json!({})).delay(Duration::from_secs(3600)))
        .await
        .unwrap();
    let lease = Duration::from_secs(20);
    let claimed = h
        .store
        .claim_job(later.id, "inline-runner", lease)
        .await
        .unwrap();
    assert_eq!(claimed.lease.job_id, later.id, "skips the queue and run_at");
    assert_eq!(claimed.lease.attempt, 1);
    assert_eq!(claimed.job.status, JobStatus::Running);
    assert_eq!(claimed.job.locked_by.as_deref(), Some("inline-runner"));
    assert_eq!(
        claimed.job.lease_expires_at,
        Some(start() + chrono::Duration::seconds(20))
    );
    assert_eq!(h.store.get(later.id).await.unwrap(), claimed.job);
    let fifo = h.store.claim(&ClaimRequest::new("w", 10)).await.unwrap();
    let ids: Vec<_> = fifo.iter().map(|c| c.job.id).collect();
    assert_eq!(
        ids,
        vec![ahead.id],
        "a job claimed by id is not claimed again"
    );
}

pub async fn claim_job_refuses_jobs_that_are_not_pending(h: &Harness) {
    let running = h.job("inline", 1).await;
    let lease = Duration::from_secs(20);
    h.store.claim_job(running.id, "a", lease).await.unwrap();
    let err = h.store.claim_job(running.id, "b", lease).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                status: JobStatus::Running,
                ..
            }
        ),
        "{err:?}"
    );
    let stored = h.store.get(running.id).await.unwrap();
    assert_eq!(
        stored.locked_by.as_deref(),
        Some("a"),
        "the holder is unchanged"
    );
    assert_eq!(stored.attempt, 1);

    let cancelled = h.job("inline", 2).await;
    h.store.cancel(cancelled.id).await.unwrap();
    let err = h
        .store
        .claim_job(cancelled.id, "a", lease)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                status: JobStatus::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );
    let unknown = jobstore::JobId::new_at(start());
    let err = h.store.claim_job(unknown, "a", lease).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(id) if id == unknown),
        "{err:?}"
    );
    for (worker, lease) in [("", lease), ("a", Duration::ZERO)] {
        let pending = h.job("inline", 3).await;
        let err = h
            .store
            .claim_job(pending.id, worker, lease)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
        assert_eq!(
            h.store.get(pending.id).await.unwrap().status,
            JobStatus::Pending
        );
    }
}

pub async fn concurrent_claim_job_has_one_winner(h: &Harness) {
    let job = h.job("inline", 1).await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = Arc::clone(&h.store);
        tasks.push(tokio::spawn(async move {
            store
                .claim_job(job.id, &format!("w{worker}"), Duration::from_secs(30))
                .await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(claimed) => {
                winners += 1;
                assert_eq!(claimed.lease.attempt, 1);
            }
            Err(err) => assert!(
                matches!(err, StoreError::InvalidTransition { .. }),
                "{err:?}"
            ),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(h.store.get(job.id).await.unwrap().attempt, 1);
}

contract_tests!(
    claim_is_fifo_for_jobs_created_in_a_tight_loop,
    claim_orders_by_run_at_then_creation,
    claim_sets_the_lease,
    every_claimed_job_is_the_job_as_stored,
    claim_respects_limit_and_job_types,
    claims_of_each_size_take_exactly_their_limit,
    concurrent_claimers_never_share_a_job,
    claim_refuses_a_bad_request,
    claim_job_takes_one_specific_pending_job,
    claim_job_refuses_jobs_that_are_not_pending,
    concurrent_claim_job_has_one_winner,
);
