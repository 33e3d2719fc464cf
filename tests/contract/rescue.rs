use std::time::Duration;

use jobstore::{ClaimRequest, JobStatus, RescueSummary};

use crate::support::Harness;

fn claim_for(secs: u64) -> ClaimRequest {
    ClaimRequest::new("mortal", 1).lease_duration(Duration::from_secs(secs))
}

pub async fn rescue_requeues_then_fails_when_attempts_run_out(h: &Harness) {
    let job = h.job("r", 1).await;
    h.store.claim(&claim_for(10)).await.unwrap();
    h.advance(Duration::from_secs(10));
    assert_eq!(
        h.store.rescue_expired().await.unwrap().total(),
        0,
        "expires after, not at"
    );
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.store.rescue_expired().await.unwrap(),
        RescueSummary {
            requeued: 1,
            ..RescueSummary::default()
        }
    );
    let stored = h.store.get(job.id).await.unwrap();
    assert_eq!(stored.status, JobStatus::Pending);
    assert_eq!(stored.retry_count, 1);
    assert_eq!(
        (stored.locked_by.clone(), stored.lease_expires_at),
        (None, None)
    );
    assert!(stored
        .error
        .as_deref()
        .unwrap_or("")
        .contains("lease expired"));

    let again = h.store.claim(&claim_for(10)).await.unwrap();
    assert_eq!(again[0].lease.attempt, 2);
    h.advance(Duration::from_secs(11));
    assert_eq!(
        h.store.rescue_expired().await.unwrap(),
        RescueSummary {
            failed: 1,
            failed_by_type: [("r".to_string(), 1)].into(),
            ..RescueSummary::default()
        }
    );
    let stored = h.store.get(job.id).await.unwrap();
    assert_eq!(stored.status, JobStatus::Failed);
    assert!(stored
        .error
        .as_deref()
        .unwrap_or("")
        .starts_with("Timeout: job exceeded processing time limit"));
    assert!(stored.completed_at.is_some());
    assert_eq!(
        h.store.rescue_expired().await.unwrap().total(),
        0,
        "nothing left to rescue"
    );
}

pub async fn rescue_leaves_live_leases_alone(h: &Harness) {
    h.job("r", 1).await;
    h.job("r", 2).await;
    let live = h.store.claim(&claim_for(10)).await.unwrap().remove(0);
    let dead = h.store.claim(&claim_for(10)).await.unwrap().remove(0);
    h.advance(Duration::from_secs(8));
    h.store
        .heartbeat(&live.lease, Duration::from_secs(10))
        .await
        .unwrap();
    h.advance(Duration::from_secs(8));
    let summary = h.store.rescue_expired().await.unwrap();
    assert_eq!(summary.requeued, 1);
    assert_eq!(
        h.store.get(live.job.id).await.unwrap().status,
        JobStatus::Running
    );
    assert_eq!(
        h.store.get(dead.job.id).await.unwrap().status,
        JobStatus::Pending
    );
}

pub async fn rescue_cancels_expired_job_with_cancel_request(h: &Harness) {
    let job = h.job("r", 1).await;
    h.store.claim(&claim_for(10)).await.unwrap();
    h.store.cancel(job.id).await.unwrap();
    h.advance(Duration::from_secs(11));
    assert_eq!(
        h.store.rescue_expired().await.unwrap(),
        RescueSummary {
            cancelled: 1,
            ..RescueSummary::default()
        }
    );
    assert_eq!(
        h.store.get(job.id).await.unwrap().status,
        JobStatus::Cancelled
    );
}

contract_tests!(
    rescue_requeues_then_fails_when_attempts_run_out,
    rescue_leaves_live_leases_alone,
    rescue_cancels_expired_job_with_cancel_request,
);
