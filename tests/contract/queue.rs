use std::time::Duration;

use jobstore::{JobId, NewJob, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn queue_position_counts_jobs_ahead(h: &Harness) {
    let a = h.job("q", 1).await;
    let b = h.job("q", 2).await;
    let c = h.job("q", 3).await;
    let scheduled = h
        .store
        .create(NewJob::new("q", json!({})).delay(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(h.store.queue_position(a.id).await.unwrap(), Some(0));
    assert_eq!(h.store.queue_position(b.id).await.unwrap(), Some(1));
    assert_eq!(h.store.queue_position(c.id).await.unwrap(), Some(2));
    assert_eq!(
        h.store.queue_position(scheduled.id).await.unwrap(),
        None,
        "a scheduled job has no place in line until it is due"
    );

    let running = h.claim_one("w").await;
    assert_eq!(running.job.id, a.id);
    assert_eq!(
        h.store.queue_position(a.id).await.unwrap(),
        None,
        "not pending"
    );
    assert_eq!(h.store.queue_position(b.id).await.unwrap(), Some(0));
    assert_eq!(h.store.queue_position(c.id).await.unwrap(), Some(1));
    h.store.cancel(b.id).await.unwrap();
    assert_eq!(h.store.queue_position(c.id).await.unwrap(), Some(0));
    h.advance(Duration::from_secs(60));
    assert_eq!(
        h.store.queue_position(scheduled.id).await.unwrap(),
        Some(1),
        "once due, behind the job due before it"
    );
}

pub async fn queue_position_counts_only_its_queue_by_priority(h: &Harness) {
    let create = |queue: &'static str, priority: u8| {
        let store = h.store.clone();
        async move {
            store
                .create(NewJob::new("q", json!({})).queue(queue).priority(priority))
                .await
                .unwrap()
        }
    };
    let low = create("default", 7).await;
    let normal = create("default", 5).await;
    let other_queue = create("video", 0).await;
    let urgent = create("default", 0).await;
    let later = h
        .store
        .create(
            NewJob::new("q", json!({}))
                .priority(0)
                .delay(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    let positions = h
        .store
        .queue_positions(&[urgent.id, normal.id, low.id, other_queue.id, later.id])
        .await
        .unwrap();
    assert_eq!(positions, vec![Some(0), Some(1), Some(2), Some(0), None]);
    // A scheduled job of a higher priority, once due, goes ahead.
    h.advance(Duration::from_secs(5));
    assert_eq!(h.store.queue_position(low.id).await.unwrap(), Some(3));
    assert_eq!(h.store.queue_position(later.id).await.unwrap(), Some(1));
}

pub async fn queue_position_of_unknown_job_is_not_found(h: &Harness) {
    let err = h
        .store
        .queue_position(JobId::new_at(start()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn queue_positions_read_many_jobs_at_once(h: &Harness) {
    let a = h.job("q", 1).await;
    let b = h.job("q", 2).await;
    let c = h.job("q", 3).await;
    let running = h.claim_one("w").await;
    assert_eq!(running.job.id, a.id);
    let unknown = JobId::new_at(start());
    let positions = h
        .store
        .queue_positions(&[c.id, a.id, unknown, b.id])
        .await
        .unwrap();
    assert_eq!(positions, vec![Some(1), None, None, Some(0)]);
    assert_eq!(h.store.queue_positions(&[]).await.unwrap(), Vec::new());
}

contract_tests!(
    queue_position_counts_jobs_ahead,
    queue_position_counts_only_its_queue_by_priority,
    queue_position_of_unknown_job_is_not_found,
    queue_positions_read_many_jobs_at_once,
);
