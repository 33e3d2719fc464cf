use std::time::Duration;

use jobstore::clock::Clock;
use jobstore::{AttemptEnd, BulkAction, Failure, JobFilter, JobStatus, NewJob};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn every_attempt_is_on_record_with_its_worker_times_and_full_error(h: &Harness) {
    let job = h
        .store
        .create(NewJob::new("sync", json!({})).max_attempts(3))
        .await
        .unwrap();
    assert!(
        h.store.attempts(job.id).await.unwrap().is_empty(),
        "never claimed"
    );

    let first = h.claim_one("w1").await;
    h.advance(Duration::from_secs(2));
    let long_error = format!("connection reset\n{}", "stderr line\n".repeat(50));
    h.store
        .fail(&first.lease, &Failure::transient(long_error.clone()))
        .await
        .unwrap();
    let second = h.claim_one("w2").await;
    let running = h.store.attempts(job.id).await.unwrap();
    assert_eq!(running.len(), 2);
    assert_eq!(running[0].attempt, first.lease.attempt);
    assert_eq!(running[0].outcome, AttemptEnd::Retried);
    assert_eq!(running[0].worker.as_deref(), Some("w1"));
    assert_eq!(running[0].started_at, Some(start()));
    assert_eq!(
        running[0].finished_at,
        Some(start() + chrono::Duration::seconds(2))
    );
    assert_eq!(
        running[0].error.as_deref(),
        Some(long_error.as_str()),
        "in full"
    );
    assert_eq!(running[1].outcome, AttemptEnd::Running);
    assert_eq!(running[1].worker.as_deref(), Some("w2"));
    assert_eq!(running[1].finished_at, None);

    h.advance(Duration::from_secs(1));
    h.store
        .complete(&second.lease, json!("done"))
        .await
        .unwrap();
    let done = h.store.attempts(job.id).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[1].outcome, AttemptEnd::Completed);
    assert_eq!(done[1].worker.as_deref(), Some("w2"));
    assert_eq!(
        done[1].finished_at,
        Some(start() + chrono::Duration::seconds(3))
    );
    assert_eq!(done[0], running[0], "a recorded attempt never changes");
}

pub async fn a_lost_attempt_names_who_rescued_it_and_when(h: &Harness) {
    let job = h
        .store
        .create(NewJob::new("sync", json!({})).max_attempts(2))
        .await
        .unwrap();
    let lost = h
        .store
        .claim(
            &jobstore::ClaimRequest::new("dead-worker", 1).lease_duration(Duration::from_secs(30)),
        )
        .await
        .unwrap()
        .remove(0);
    h.advance(Duration::from_secs(31));
    let summary = h.store.rescue_expired_by("rescuer-9").await.unwrap();
    assert_eq!(summary.requeued, 1);
    let attempts = h.store.attempts(job.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    let record = &attempts[0];
    assert_eq!(record.attempt, lost.lease.attempt);
    assert_eq!(record.outcome, AttemptEnd::Lost);
    assert_eq!(record.worker.as_deref(), Some("dead-worker"));
    assert_eq!(record.ended_by.as_deref(), Some("rescuer-9"));
    assert_eq!(
        record.finished_at,
        Some(start() + chrono::Duration::seconds(31)),
        "when it was rescued"
    );
    assert!(record.error.as_deref().unwrap_or("").contains("heartbeat"));

    // The last attempt fails permanently: it is on record as failed.
    let second = h.claim_one("w").await;
    h.store
        .fail(&second.lease, &Failure::permanent("bad input"))
        .await
        .unwrap();
    let attempts = h.store.attempts(job.id).await.unwrap();
    let ends: Vec<AttemptEnd> = attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(ends, [AttemptEnd::Lost, AttemptEnd::Failed]);
    assert_eq!(attempts[1].error.as_deref(), Some("bad input"));
    assert_eq!(h.store.get(job.id).await.unwrap().status, JobStatus::Failed);
}

pub async fn released_and_cancelled_attempts_are_on_record(h: &Harness) {
    let job = h.job("r", 1).await;
    let first = h.claim_one("w").await;
    h.store.release(&first.lease).await.unwrap();
    let second = h.claim_one("w").await;
    h.store.cancel(job.id).await.unwrap();
    h.store.mark_cancelled(&second.lease).await.unwrap();
    let ends: Vec<AttemptEnd> = h
        .store
        .attempts(job.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(ends, [AttemptEnd::Released, AttemptEnd::Cancelled]);
    // A refused write records nothing.
    assert!(h.store.release(&second.lease).await.is_err());
    assert_eq!(h.store.attempts(job.id).await.unwrap().len(), 2);
}

pub async fn deleting_a_job_deletes_its_attempts(h: &Harness) {
    let job = h.job("gone", 1).await;
    let c = h.claim_one("w").await;
    h.store
        .fail(&c.lease, &Failure::permanent("no"))
        .await
        .unwrap();
    assert_eq!(h.store.attempts(job.id).await.unwrap().len(), 1);
    let outcome = h
        .store
        .bulk(BulkAction::Delete, &JobFilter::default().job_type("gone"))
        .await
        .unwrap();
    assert_eq!(outcome.applied, 1);
    assert!(matches!(
        h.store.attempts(job.id).await.unwrap_err(),
        jobstore::StoreError::NotFound(_)
    ));
    // Another job with the same history is pruned with it.
    let pruned = h.job("old", 1).await;
    let c = h.claim_one("w").await;
    h.store
        .fail(&c.lease, &Failure::permanent("no"))
        .await
        .unwrap();
    h.advance(Duration::from_secs(60));
    let filter = JobFilter::default().finished_before(h.clock.now());
    assert_eq!(h.store.prune(&filter, 10).await.unwrap(), 1);
    assert!(h.store.attempts(pruned.id).await.is_err());
}

contract_tests!(
    every_attempt_is_on_record_with_its_worker_times_and_full_error,
    a_lost_attempt_names_who_rescued_it_and_when,
    released_and_cancelled_attempts_are_on_record,
    deleting_a_job_deletes_its_attempts,
);
