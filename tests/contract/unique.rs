//! Unique jobs: a key held for a scope, and a second enqueue inside it
//! answered with the job that holds it.

use std::sync::Arc;
use std::time::Duration;

use jobstore::{
    ClaimRequest, Completion, JobStatus, JobStore, NewJob, StoreError, UniqueKey, UniqueScope,
};
use serde_json::json;

use crate::support::Harness;

fn unique(key: &str, scope: UniqueScope) -> NewJob {
    NewJob::new("u", json!({ "key": key })).unique_key(key, scope)
}

pub async fn a_second_enqueue_while_the_first_is_active_returns_the_first(h: &Harness) {
    let first = h
        .store
        .enqueue(unique("report-7", UniqueScope::WhileActive))
        .await
        .unwrap();
    assert!(!first.existing);
    assert_eq!(
        first.job.unique,
        Some(UniqueKey {
            key: "report-7".into(),
            scope: UniqueScope::WhileActive
        })
    );
    let again = h
        .store
        .enqueue(unique("report-7", UniqueScope::WhileActive))
        .await
        .unwrap();
    assert!(again.existing, "said so");
    assert_eq!(again.job.id, first.job.id);
    // Running still holds it.
    let claimed = h.claim_one("w").await;
    let again = h
        .store
        .enqueue(unique("report-7", UniqueScope::WhilePending))
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.job.status, JobStatus::Running);
    // Finished, the key is free.
    h.store
        .complete(&claimed.lease, json!("done"))
        .await
        .unwrap();
    let next = h
        .store
        .enqueue(unique("report-7", UniqueScope::WhileActive))
        .await
        .unwrap();
    assert!(!next.existing);
    assert_ne!(next.job.id, first.job.id);
    let finished = h.store.get(first.job.id).await.unwrap();
    assert_eq!(finished.unique, None, "the key moved to the new job");
    assert_eq!(h.store.count_by_status().await.unwrap().total(), 2);
}

pub async fn a_key_held_while_pending_frees_once_claimed(h: &Harness) {
    let first = h
        .store
        .enqueue(unique("sync", UniqueScope::WhilePending))
        .await
        .unwrap();
    assert!(
        h.store
            .enqueue(unique("sync", UniqueScope::WhilePending))
            .await
            .unwrap()
            .existing
    );
    h.claim_one("w").await;
    let second = h
        .store
        .enqueue(unique("sync", UniqueScope::WhilePending))
        .await
        .unwrap();
    assert!(
        !second.existing,
        "a running job does not hold a pending key"
    );
    assert_ne!(second.job.id, first.job.id);
}

pub async fn a_key_held_for_a_period_after_finishing(h: &Harness) {
    let scope = UniqueScope::UntilFinishedPlus(Duration::from_secs(60));
    let first = h.store.enqueue(unique("digest", scope)).await.unwrap();
    let claimed = h.claim_one("w").await;
    h.store.complete(&claimed.lease, json!(1)).await.unwrap();
    h.advance(Duration::from_secs(59));
    let inside = h.store.enqueue(unique("digest", scope)).await.unwrap();
    assert!(inside.existing);
    assert_eq!(inside.job.id, first.job.id);
    assert_eq!(inside.job.status, JobStatus::Completed);
    h.advance(Duration::from_secs(1));
    let after = h.store.enqueue(unique("digest", scope)).await.unwrap();
    assert!(!after.existing);
}

pub async fn a_cancelled_or_failed_holder_frees_an_active_key(h: &Harness) {
    let first = h
        .store
        .enqueue(unique("k", UniqueScope::WhileActive))
        .await
        .unwrap();
    h.store.cancel(first.job.id).await.unwrap();
    let second = h
        .store
        .enqueue(unique("k", UniqueScope::WhileActive))
        .await
        .unwrap();
    assert!(!second.existing);
    // A retry of the cancelled job does not take the key.
    let retry = h.store.retry(first.job.id).await.unwrap();
    assert_eq!(retry.unique, None);
    assert_eq!(
        h.store
            .get(second.job.id)
            .await
            .unwrap()
            .unique
            .map(|u| u.key),
        Some("k".into())
    );
}

pub async fn duplicates_inside_one_batch_answer_with_the_first(h: &Harness) {
    let held = h
        .store
        .enqueue(unique("old", UniqueScope::WhileActive))
        .await
        .unwrap();
    let batch = h
        .store
        .enqueue_many(vec![
            unique("a", UniqueScope::WhileActive),
            NewJob::new("plain", json!(1)),
            unique("a", UniqueScope::WhilePending),
            unique("old", UniqueScope::WhileActive),
            unique("b", UniqueScope::WhileActive),
            NewJob::new("plain", json!(2)),
        ])
        .await
        .unwrap();
    let existing: Vec<bool> = batch.iter().map(|e| e.existing).collect();
    assert_eq!(existing, vec![false, false, true, true, false, false]);
    assert_eq!(batch[2].job.id, batch[0].job.id);
    assert_eq!(batch[3].job.id, held.job.id);
    assert_eq!(batch[1].job.job_type, "plain");
    assert_eq!(h.store.count_by_status().await.unwrap().pending, 5);
    // All or nothing: one refused job creates none of the batch.
    let refused = h
        .store
        .enqueue_many(vec![
            unique("c", UniqueScope::WhileActive),
            NewJob::new("plain", json!(3)).priority(12),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::InvalidInput(_)),
        "{refused:?}"
    );
    assert!(
        !h.store
            .enqueue(unique("c", UniqueScope::WhileActive))
            .await
            .unwrap()
            .existing
    );
}

pub async fn concurrent_enqueuers_of_one_key_make_one_job(h: &Harness) {
    let store: Arc<dyn JobStore> = Arc::clone(&h.store);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = Arc::clone(&store);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .enqueue(
                    NewJob::new("u", json!({ "from": n }))
                        .unique_key("once", UniqueScope::WhileActive),
                )
                .await
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let created: Vec<_> = answers.iter().filter(|a| !a.existing).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|a| a.job.id == created[0].job.id));
    assert_eq!(h.store.count_by_status().await.unwrap().total(), 1);
}

pub async fn a_unique_key_is_checked(h: &Harness) {
    for key in ["", "a\0b"] {
        let e = h
            .store
            .enqueue(unique(key, UniqueScope::WhileActive))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::InvalidInput(_)), "{e:?}");
    }
    let long = "k".repeat(201);
    let e = h
        .store
        .enqueue(unique(&long, UniqueScope::WhileActive))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput(_)), "{e:?}");
    // Claims and completions of unique jobs go as any other's.
    h.store
        .enqueue(unique("fine", UniqueScope::WhileActive))
        .await
        .unwrap();
    let exchange = h
        .store
        .complete_and_claim(Vec::<Completion>::new(), &ClaimRequest::new("w", 2))
        .await
        .unwrap();
    assert_eq!(exchange.claimed.len(), 1);
}

contract_tests!(
    a_second_enqueue_while_the_first_is_active_returns_the_first,
    a_key_held_while_pending_frees_once_claimed,
    a_key_held_for_a_period_after_finishing,
    a_cancelled_or_failed_holder_frees_an_active_key,
    duplicates_inside_one_batch_answer_with_the_first,
    concurrent_enqueuers_of_one_key_make_one_job,
    a_unique_key_is_checked,
);
