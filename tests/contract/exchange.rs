//! `complete_and_claim`: a worker's completions and its next claim in one
//! transaction.

use std::time::Duration;

use jobstore::{ClaimRequest, Claimed, Completion, JobStatus, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn complete_and_claim_writes_completions_then_claims_fifo(h: &Harness) {
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(h.job("x", n).await.id);
    }
    let claimed = h.store.claim(&ClaimRequest::new("w", 2)).await.unwrap();
    let [first, second] = <[Claimed; 2]>::try_from(claimed).unwrap();
    // The second is cancelled and marked: its completion is refused, the
    // first commits and the claim goes on.
    h.store.cancel(second.job.id).await.unwrap();
    h.store.mark_cancelled(&second.lease).await.unwrap();
    h.advance(Duration::from_secs(2));
    let request = ClaimRequest::new("w2", 2).lease_duration(Duration::from_secs(90));
    let exchange = h
        .store
        .complete_and_claim(
            vec![
                Completion::new(first.lease, json!("done")),
                Completion::new(second.lease, json!("late")),
            ],
            &request,
        )
        .await
        .unwrap();
    assert_eq!(exchange.completed.len(), 2);
    assert!(exchange.completed[0].is_ok(), "{:?}", exchange.completed[0]);
    assert!(exchange.completed[1].as_ref().unwrap_err().is_lease_lost());
    let now = start() + chrono::Duration::seconds(2);
    let ids: Vec<_> = exchange.claimed.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, created[2..4], "the next two in FIFO order");
    for claimed in &exchange.claimed {
        let job = h.store.get(claimed.job.id).await.unwrap();
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.locked_by.as_deref(), Some("w2"));
        assert_eq!(
            job.lease_expires_at,
            Some(now + chrono::Duration::seconds(90))
        );
        assert_eq!(claimed.lease.attempt, 1);
    }
    let done = h.store.get(first.job.id).await.unwrap();
    assert_eq!(
        (done.status, done.result, done.completed_at),
        (JobStatus::Completed, Some(json!("done")), Some(now))
    );
    assert_eq!(
        h.store.get(second.job.id).await.unwrap().status,
        JobStatus::Cancelled
    );
}

pub async fn complete_and_claim_completes_when_nothing_is_left_to_claim(h: &Harness) {
    h.job("only", 1).await;
    let held = h.claim_one("w").await;
    let exchange = h
        .store
        .complete_and_claim(
            vec![Completion::new(held.lease, json!(1))],
            &ClaimRequest::new("w", 4),
        )
        .await
        .unwrap();
    assert!(exchange.claimed.is_empty());
    assert!(exchange.completed[0].is_ok());
    let counts = h.store.count_by_status().await.unwrap();
    assert_eq!((counts.completed, counts.pending), (1, 0));

    // And with nothing to complete it is a plain claim.
    h.job("next", 2).await;
    let exchange = h
        .store
        .complete_and_claim(Vec::new(), &ClaimRequest::new("w", 4))
        .await
        .unwrap();
    assert!(exchange.completed.is_empty());
    assert_eq!(exchange.claimed.len(), 1);
}

pub async fn complete_and_claim_respects_job_types(h: &Harness) {
    for n in 0..3 {
        h.job("a", n).await;
        h.job("b", n).await;
    }
    let request = ClaimRequest::new("w", 10).job_types(["b"]);
    let exchange = h
        .store
        .complete_and_claim(Vec::new(), &request)
        .await
        .unwrap();
    assert_eq!(exchange.claimed.len(), 3);
    assert!(exchange.claimed.iter().all(|c| c.job.job_type == "b"));
    let none = ClaimRequest::new("w", 10).job_types(Vec::<String>::new());
    let exchange = h.store.complete_and_claim(Vec::new(), &none).await.unwrap();
    assert!(exchange.claimed.is_empty(), "no type matches an empty list");
}

pub async fn complete_and_claim_refuses_a_bad_request_and_writes_nothing(h: &Harness) {
    h.job("x", 1).await;
    h.job("x", 2).await;
    let held = h.claim_one("w").await;
    let mut bad = ClaimRequest::new("w", 1);
    bad.queues[0].limit = 0;
    let error = h
        .store
        .complete_and_claim(vec![Completion::new(held.lease, json!("no"))], &bad)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput(_)), "{error:?}");
    let job = h.store.get(held.job.id).await.unwrap();
    assert_eq!((job.status, job.result), (JobStatus::Running, None));
    assert_eq!(h.store.count_by_status().await.unwrap().pending, 1);
}

contract_tests!(
    complete_and_claim_writes_completions_then_claims_fifo,
    complete_and_claim_completes_when_nothing_is_left_to_claim,
    complete_and_claim_respects_job_types,
    complete_and_claim_refuses_a_bad_request_and_writes_nothing,
);
