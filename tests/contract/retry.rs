use jobstore::{Failure, JobStatus, NewJob, StoreError};
use serde_json::json;

use crate::support::Harness;

pub async fn retry_creates_a_new_job_recording_the_original(h: &Harness) {
    let original = h
        .store
        .create(
            NewJob::new("render", json!({ "video": 9 }))
                .max_attempts(4)
                .correlation_id("project-3"),
        )
        .await
        .unwrap();
    let c = h.claim_one("w").await;
    h.store
        .fail(&c.lease, &Failure::permanent("codec missing"))
        .await
        .unwrap();

    let retried = h.store.retry(original.id).await.unwrap();
    assert_ne!(retried.id, original.id);
    assert_eq!(retried.status, JobStatus::Pending);
    assert_eq!(retried.job_type, "render");
    assert_eq!(retried.params, json!({ "video": 9 }));
    assert_eq!(retried.max_attempts, 4);
    assert_eq!(retried.correlation_id.as_deref(), Some("project-3"));
    assert_eq!(retried.retry_of, Some(original.id));
    assert_eq!((retried.retry_count, retried.attempt), (0, 0));
    assert_eq!(h.store.get(retried.id).await.unwrap(), retried);
    let stored = h.store.get(original.id).await.unwrap();
    assert_eq!(
        stored.status,
        JobStatus::Failed,
        "the original is not retried in place"
    );

    let cancelled = h.job("render", 2).await;
    h.store.cancel(cancelled.id).await.unwrap();
    assert_eq!(
        h.store.retry(cancelled.id).await.unwrap().retry_of,
        Some(cancelled.id)
    );
}

pub async fn retry_refuses_jobs_that_did_not_fail(h: &Harness) {
    let pending = h.job("r", 1).await;
    let err = h.store.retry(pending.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                action: "retry",
                status: JobStatus::Pending,
                ..
            }
        ),
        "{err:?}"
    );
    let c = h.claim_one("w").await;
    assert!(matches!(
        h.store.retry(c.job.id).await.unwrap_err(),
        StoreError::InvalidTransition {
            status: JobStatus::Running,
            ..
        }
    ));
    h.store.complete(&c.lease, json!(null)).await.unwrap();
    assert!(matches!(
        h.store.retry(c.job.id).await.unwrap_err(),
        StoreError::InvalidTransition {
            status: JobStatus::Completed,
            ..
        }
    ));
    assert_eq!(
        h.store.count_by_status().await.unwrap().total(),
        1,
        "nothing created"
    );
}

contract_tests!(
    retry_creates_a_new_job_recording_the_original,
    retry_refuses_jobs_that_did_not_fail,
);
