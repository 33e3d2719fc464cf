use std::time::Duration;

use jobstore::{CancelOutcome, FailOutcome, Failure, JobId, JobStatus, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn cancel_pending_job_is_immediate(h: &Harness) {
    let job = h.job("c", 1).await;
    assert_eq!(
        h.store.cancel(job.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    let job = h.store.get(job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(job.completed_at.is_some());
    assert!(h
        .store
        .claim(&jobstore::ClaimRequest::new("w", 1))
        .await
        .unwrap()
        .is_empty());
}

pub async fn cancel_running_job_is_requested_then_marked(h: &Harness) {
    h.job("c", 1).await;
    let c = h.claim_one("w").await;
    assert_eq!(
        h.store.cancel(c.job.id).await.unwrap(),
        CancelOutcome::Requested
    );
    assert_eq!(
        h.store.cancel(c.job.id).await.unwrap(),
        CancelOutcome::Requested,
        "idempotent"
    );
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(
        job.status,
        JobStatus::Running,
        "the worker still has to stop it"
    );
    assert!(job.cancel_requested);

    let beat = h
        .store
        .heartbeat(&c.lease, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        beat.cancel_requested,
        "the worker learns it on its next heartbeat"
    );
    h.store.mark_cancelled(&c.lease).await.unwrap();
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Cancelled);
    assert_eq!((job.locked_by, job.lease_expires_at), (None, None));
}

pub async fn cancel_finished_job_changes_nothing(h: &Harness) {
    h.job("c", 1).await;
    let c = h.claim_one("w").await;
    h.store.complete(&c.lease, json!(7)).await.unwrap();
    let before = h.store.get(c.job.id).await.unwrap();
    assert_eq!(
        h.store.cancel(c.job.id).await.unwrap(),
        CancelOutcome::AlreadyFinished(JobStatus::Completed)
    );
    assert_eq!(h.store.get(c.job.id).await.unwrap(), before);
}

pub async fn failure_after_cancel_request_ends_cancelled(h: &Harness) {
    h.job("c", 1).await;
    let c = h.claim_one("w").await;
    h.store.cancel(c.job.id).await.unwrap();
    let outcome = h
        .store
        .fail(&c.lease, &Failure::transient("interrupted"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        FailOutcome::Cancelled,
        "a cancelled job is not retried"
    );
    assert_eq!(
        h.store.get(c.job.id).await.unwrap().status,
        JobStatus::Cancelled
    );
}

pub async fn cancel_unknown_job_is_not_found(h: &Harness) {
    let err = h.store.cancel(JobId::new_at(start())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

contract_tests!(
    cancel_pending_job_is_immediate,
    cancel_running_job_is_requested_then_marked,
    cancel_finished_job_changes_nothing,
    failure_after_cancel_request_ends_cancelled,
    cancel_unknown_job_is_not_found,
);
