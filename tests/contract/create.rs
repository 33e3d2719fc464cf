use std::time::Duration;

use jobstore::{JobId, JobStatus, NewJob, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

pub async fn create_returns_pending_job_with_defaults(h: &Harness) {
    let job = h
        .store
        .create(NewJob::new("email", json!({ "to": "ada" })).correlation_id("c-1"))
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.job_type, "email");
    assert_eq!(job.params, json!({ "to": "ada" }));
    assert_eq!(job.max_attempts, 2, "default: one automatic retry");
    assert_eq!((job.retry_count, job.attempt), (0, 0));
    assert_eq!(job.run_at, start());
    assert_eq!(job.created_at, start());
    assert_eq!(job.correlation_id.as_deref(), Some("c-1"));
    assert_eq!((job.stage.clone(), job.progress), (None, None));
    assert_eq!(job.as_uuid_version(), 7);
    assert_eq!(
        h.store.get(job.id).await.unwrap(),
        job,
        "stored as returned"
    );
}

trait UuidVersion {
    fn as_uuid_version(&self) -> usize;
}

impl UuidVersion for jobstore::Job {
    fn as_uuid_version(&self) -> usize {
        self.id.as_uuid().get_version_num()
    }
}

pub async fn create_refuses_invalid_input_and_stores_nothing(h: &Harness) {
    let too_big = json!({ "blob": "x".repeat(NewJob::MAX_PARAMS_BYTES) });
    let refused = [
        NewJob::new("", json!({})),
        NewJob::new("   ", json!({})),
        NewJob::new("t".repeat(NewJob::MAX_JOB_TYPE_LEN + 1), json!({})),
        NewJob::new("ok", json!({})).max_attempts(0),
        NewJob::new("ok", json!({})).max_attempts(NewJob::MAX_ATTEMPTS_LIMIT + 1),
        NewJob::new("ok", json!({})).correlation_id(""),
        NewJob::new("ok", too_big),
        NewJob::new("ok", json!({})).delay(Duration::MAX),
    ];
    for job in refused {
        let err = h.store.create(job.clone()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{job:?} gave {err:?}"
        );
    }
    assert_eq!(h.store.count_by_status().await.unwrap().total(), 0);
}

pub async fn create_many_is_all_or_nothing(h: &Harness) {
    let mut batch: Vec<NewJob> = (0..50)
        .map(|n| NewJob::new("batch", json!({ "n": n })))
        .collect();
    batch.push(NewJob::new("", json!({})));
    let err = h.store.create_many(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert_eq!(h.store.count_by_status().await.unwrap().total(), 0);

    let batch: Vec<NewJob> = (0..2500)
        .map(|n| NewJob::new("batch", json!({ "n": n })))
        .collect();
    let created = h.store.create_many(batch).await.unwrap();
    assert_eq!(created.len(), 2500);
    assert_eq!(h.store.count_by_status().await.unwrap().pending, 2500);
    for (n, job) in created.iter().enumerate() {
        assert_eq!(job.params, json!({ "n": n }), "returned in input order");
    }
    let last = created.last().unwrap();
    assert_eq!(h.store.get(last.id).await.unwrap(), *last);
}

pub async fn create_many_stores_batches_of_every_size(h: &Harness) {
    // Sizes on both sides of the backends' statement shapes (SQLite inserts
    // 64, 16, 4 and 1 rows per statement), one job of each batch with
    // every optional column set.
    let sizes = [1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 100, 149];
    let mut created = Vec::new();
    for (batch, size) in sizes.into_iter().enumerate() {
        let jobs: Vec<NewJob> = (0..size)
            .map(|n| {
                let job = NewJob::new(format!("size-{size}"), json!({ "batch": batch, "n": n }));
                if n == size / 2 {
                    job.correlation_id(format!("c-{batch}")).max_attempts(5)
                } else {
                    job
                }
            })
            .collect();
        let batch_jobs = h.store.create_many(jobs).await.unwrap();
        assert_eq!(batch_jobs.len(), size, "a batch of {size}");
        for (n, job) in batch_jobs.iter().enumerate() {
            assert_eq!(job.params, json!({ "batch": batch, "n": n }));
            assert_eq!(
                h.store.get(job.id).await.unwrap(),
                *job,
                "stored as returned"
            );
        }
        created.extend(batch_jobs);
    }
    let total: usize = sizes.iter().sum();
    assert_eq!(
        h.store.count_by_status().await.unwrap().pending,
        total as u64
    );
    let claimed = h
        .store
        .claim(&jobstore::ClaimRequest::new("w", total as u32))
        .await
        .unwrap();
    let claimed_ids: Vec<JobId> = claimed.iter().map(|c| c.job.id).collect();
    let created_ids: Vec<JobId> = created.iter().map(|j| j.id).collect();
    assert_eq!(claimed_ids, created_ids, "claimed in creation order");
}

pub async fn get_unknown_id_is_not_found(h: &Harness) {
    let id = JobId::new_at(start());
    let err = h.store.get(id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(missing) if missing == id));
    assert!(err.to_string().contains(&id.to_string()));
}

pub async fn scheduled_job_is_not_claimable_before_run_at(h: &Harness) {
    let later = h
        .store
        .create(NewJob::new("later", json!({})).delay(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(later.run_at, start() + chrono::Duration::seconds(10));
    let at = h
        .store
        .create(NewJob::new("at", json!({})).run_at(start() + chrono::Duration::seconds(20)))
        .await
        .unwrap();
    let claim = jobstore::ClaimRequest::new("w", 10);
    assert!(h.store.claim(&claim).await.unwrap().is_empty());

    h.advance(Duration::from_millis(9_999));
    assert!(
        h.store.claim(&claim).await.unwrap().is_empty(),
        "1 ms early"
    );
    h.advance(Duration::from_millis(1));
    let claimed = h.store.claim(&claim).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, later.id);

    h.advance(Duration::from_secs(10));
    let claimed = h.store.claim(&claim).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, at.id);
}

contract_tests!(
    create_returns_pending_job_with_defaults,
    create_refuses_invalid_input_and_stores_nothing,
    create_many_is_all_or_nothing,
    create_many_stores_batches_of_every_size,
    get_unknown_id_is_not_found,
    scheduled_job_is_not_claimable_before_run_at,
);
