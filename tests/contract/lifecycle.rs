use std::time::Duration;

use jobstore::{
    ClaimRequest, Claimed, Completion, FailOutcome, Failure, JobStatus, Lease, NewJob, Progress,
    StoreError,
};
use serde_json::json;

use crate::support::{start, Harness};

fn lease_lost(err: &StoreError) -> bool {
    err.is_lease_lost()
}

pub async fn heartbeat_extends_the_lease(h: &Harness) {
    h.job("hb", 1).await;
    let c = h.claim_one("w").await;
    h.advance(Duration::from_secs(50));
    let beat = h
        .store
        .heartbeat(&c.lease, Duration::from_secs(60))
        .await
        .unwrap();
    let now = start() + chrono::Duration::seconds(50);
    assert_eq!(beat.lease_expires_at, now + chrono::Duration::seconds(60));
    assert!(!beat.cancel_requested);
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.lease_expires_at, Some(beat.lease_expires_at));
    assert_eq!(job.updated_at, now);
}

pub async fn progress_records_stage_and_optional_percent(h: &Harness) {
    h.job("p", 1).await;
    let c = h.claim_one("w").await;
    h.store
        .progress(&c.lease, &Progress::percent("downloading", 42.5))
        .await
        .unwrap();
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.stage.as_deref(), Some("downloading"));
    assert_eq!(job.progress, Some(42.5));

    h.store
        .progress(&c.lease, &Progress::indeterminate("analyzing"))
        .await
        .unwrap();
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.stage.as_deref(), Some("analyzing"));
    assert_eq!(job.progress, None, "no fake percent");

    for bad in [
        Progress::percent("x", 100.5),
        Progress::percent("x", -1.0),
        Progress::percent("x", f32::NAN),
        Progress::indeterminate(""),
    ] {
        let err = h.store.progress(&c.lease, &bad).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput(_)),
            "{bad:?}: {err:?}"
        );
    }
    assert_eq!(
        h.store.get(c.job.id).await.unwrap(),
        job,
        "refused progress changed nothing"
    );
    h.store
        .progress(&c.lease, &Progress::percent("x", 100.0))
        .await
        .unwrap();
    h.store
        .progress(&c.lease, &Progress::percent("x", 0.0))
        .await
        .unwrap();
}

pub async fn complete_stores_the_result(h: &Harness) {
    h.job("c", 1).await;
    let c = h.claim_one("w").await;
    h.advance(Duration::from_secs(2));
    h.store
        .complete(&c.lease, json!({ "bytes": 1234, "path": "/out.mp4" }))
        .await
        .unwrap();
    let job = h.store.get(c.job.id).await.unwrap();
    let now = start() + chrono::Duration::seconds(2);
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(
        job.result,
        Some(json!({ "bytes": 1234, "path": "/out.mp4" }))
    );
    assert_eq!(job.completed_at, Some(now));
    assert_eq!(job.lease_expires_at, None);
    assert_eq!(
        job.locked_by.as_deref(),
        Some("w"),
        "a completed job keeps the worker that completed it"
    );
    assert_eq!(job.error, None);
}

pub async fn transient_failure_retries_until_attempts_run_out(h: &Harness) {
    h.job("t", 1).await;
    let first = h.claim_one("w").await;
    let outcome = h
        .store
        .fail(
            &first.lease,
            &Failure::transient("connection reset").retry_after(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let retry_at = start() + chrono::Duration::seconds(30);
    assert_eq!(
        outcome,
        FailOutcome::Retrying {
            run_at: retry_at,
            retry_count: 1
        }
    );
    let job = h.store.get(first.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.retry_count, 1);
    assert_eq!(
        job.error.as_deref(),
        Some("connection reset"),
        "last error stays visible"
    );
    assert_eq!(job.run_at, retry_at);
    assert_eq!(job.locked_by, None);
    assert!(
        h.store
            .claim(&ClaimRequest::new("w", 1))
            .await
            .unwrap()
            .is_empty(),
        "backoff"
    );

    h.advance(Duration::from_secs(30));
    let second = h.claim_one("w").await;
    assert_eq!(second.lease.attempt, 2);
    let outcome = h
        .store
        .fail(&second.lease, &Failure::transient("connection reset again"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        FailOutcome::Failed,
        "max_attempts 2: one automatic retry"
    );
    let job = h.store.get(first.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.retry_count, 1);
    assert_eq!(job.error.as_deref(), Some("connection reset again"));
    assert!(job.completed_at.is_some());
}

pub async fn permanent_failure_fails_at_once(h: &Harness) {
    h.store
        .create(NewJob::new("p", json!({})).max_attempts(5))
        .await
        .unwrap();
    let c = h.claim_one("w").await;
    let outcome = h
        .store
        .fail(&c.lease, &Failure::permanent("unsupported format"))
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Failed);
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.retry_count, 0);
    assert_eq!(job.error.as_deref(), Some("unsupported format"));
}

pub async fn release_does_not_spend_an_attempt(h: &Harness) {
    h.job("r", 1).await;
    let c = h.claim_one("w").await;
    h.store.release(&c.lease).await.unwrap();
    let job = h.store.get(c.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.retry_count, 0, "no attempt spent");
    assert_eq!((job.locked_by.clone(), job.lease_expires_at), (None, None));
    let again = h.claim_one("w").await;
    assert_eq!(again.job.id, c.job.id);
    assert_eq!(again.lease.attempt, 2, "the fencing token still moves on");
    assert!(lease_lost(
        &h.store.complete(&c.lease, json!(1)).await.unwrap_err()
    ));
}

pub async fn writes_to_a_finished_job_are_refused(h: &Harness) {
    h.job("f", 1).await;
    let c = h.claim_one("w").await;
    h.store.complete(&c.lease, json!("done")).await.unwrap();
    let done = h.store.get(c.job.id).await.unwrap();

    let err = h
        .store
        .complete(&c.lease, json!("again"))
        .await
        .unwrap_err();
    match err {
        StoreError::LeaseLost { id, status, .. } => {
            assert_eq!(id, c.job.id);
            assert_eq!(status, JobStatus::Completed);
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    assert!(lease_lost(
        &h.store
            .fail(&c.lease, &Failure::permanent("x"))
            .await
            .unwrap_err()
    ));
    assert!(lease_lost(
        &h.store
            .progress(&c.lease, &Progress::percent("x", 1.0))
            .await
            .unwrap_err()
    ));
    assert!(lease_lost(
        &h.store
            .heartbeat(&c.lease, Duration::from_secs(1))
            .await
            .unwrap_err()
    ));
    assert!(lease_lost(&h.store.release(&c.lease).await.unwrap_err()));
    assert!(lease_lost(
        &h.store.mark_cancelled(&c.lease).await.unwrap_err()
    ));
    assert_eq!(
        h.store.get(c.job.id).await.unwrap(),
        done,
        "nothing changed"
    );

    // Completing a cancelled job is refused too.
    let pending = h.job("f", 2).await;
    h.store.cancel(pending.id).await.unwrap();
    let forged = Lease {
        job_id: pending.id,
        attempt: 0,
    };
    let err = h.store.complete(&forged, json!(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::LeaseLost {
                status: JobStatus::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );

    let unknown = Lease {
        job_id: jobstore::JobId::new_at(start()),
        attempt: 1,
    };
    let err = h.store.complete(&unknown, json!(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn stale_lease_is_refused_after_rescue_and_reclaim(h: &Harness) {
    h.job("s", 1).await;
    let short = ClaimRequest::new("old-worker", 1).lease_duration(Duration::from_secs(30));
    let old = h.store.claim(&short).await.unwrap().remove(0);
    h.advance(Duration::from_secs(31));
    assert_eq!(h.store.rescue_expired().await.unwrap().requeued, 1);
    let new = h.claim_one("new-worker").await;
    assert_eq!(new.lease.attempt, 2);

    let err = h
        .store
        .complete(&old.lease, json!("late"))
        .await
        .unwrap_err();
    match err {
        StoreError::LeaseLost {
            attempt,
            current_attempt,
            status,
            ..
        } => {
            assert_eq!(
                (attempt, current_attempt, status),
                (1, 2, JobStatus::Running)
            );
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    assert!(lease_lost(
        &h.store
            .progress(&old.lease, &Progress::percent("x", 5.0))
            .await
            .unwrap_err()
    ));
    assert!(lease_lost(
        &h.store
            .heartbeat(&old.lease, Duration::from_secs(60))
            .await
            .unwrap_err()
    ));
    assert!(lease_lost(
        &h.store
            .fail(&old.lease, &Failure::permanent("x"))
            .await
            .unwrap_err()
    ));
    let job = h.store.get(new.job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.locked_by.as_deref(), Some("new-worker"));

    h.store
        .complete(&new.lease, json!("on time"))
        .await
        .unwrap();
    assert_eq!(
        h.store.get(new.job.id).await.unwrap().result,
        Some(json!("on time"))
    );
}

pub async fn complete_many_guards_each_completion_and_commits_the_rest(h: &Harness) {
    for n in 0..3 {
        h.job("g", n).await;
    }
    let claimed = h.store.claim(&ClaimRequest::new("w", 3)).await.unwrap();
    let [first, second, third] = <[Claimed; 3]>::try_from(claimed).unwrap();
    // The second job is cancelled and marked before its group is written:
    // its completion is refused, the others commit.
    h.store.cancel(second.job.id).await.unwrap();
    h.store.mark_cancelled(&second.lease).await.unwrap();
    let unknown = Lease {
        job_id: jobstore::JobId::new_at(start()),
        attempt: 1,
    };
    h.advance(Duration::from_secs(3));
    let outcomes = h
        .store
        .complete_many(vec![
            Completion::new(first.lease, json!("one")),
            Completion::new(second.lease, json!("two")),
            Completion::new(unknown, json!("nobody")),
            Completion::new(third.lease, json!({ "n": 3 })),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    assert!(
        lease_lost(outcomes[1].as_ref().unwrap_err()),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[2], Err(StoreError::NotFound(_))),
        "{:?}",
        outcomes[2]
    );
    assert!(outcomes[3].is_ok(), "{:?}", outcomes[3]);

    let now = start() + chrono::Duration::seconds(3);
    for (claimed, result) in [(&first, json!("one")), (&third, json!({ "n": 3 }))] {
        let job = h.store.get(claimed.job.id).await.unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        assert_eq!(job.result, Some(result));
        assert_eq!(job.completed_at, Some(now));
        assert_eq!(job.lease_expires_at, None);
        assert!(job.locked_by.is_some(), "the worker that completed it");
    }
    let refused = h.store.get(second.job.id).await.unwrap();
    assert_eq!(
        (refused.status, refused.result),
        (JobStatus::Cancelled, None)
    );

    // A second write of the same completions changes nothing.
    let again = h
        .store
        .complete_many(vec![Completion::new(first.lease, json!("again"))])
        .await
        .unwrap();
    assert!(lease_lost(again[0].as_ref().unwrap_err()));
    assert_eq!(
        h.store.get(first.job.id).await.unwrap().result,
        Some(json!("one"))
    );
    assert!(h.store.complete_many(Vec::new()).await.unwrap().is_empty());
}

pub async fn heartbeat_many_extends_each_held_lease_and_refuses_the_others(h: &Harness) {
    for n in 0..3 {
        h.job("hb", n).await;
    }
    let claimed = h.store.claim(&ClaimRequest::new("w", 3)).await.unwrap();
    let (a, b, c) = (&claimed[0], &claimed[1], &claimed[2]);
    h.store.complete(&b.lease, json!(null)).await.unwrap();
    h.store.cancel(c.job.id).await.unwrap();
    let stale = Lease {
        job_id: a.job.id,
        attempt: a.lease.attempt + 1,
    };
    let gone = Lease {
        job_id: jobstore::JobId::new_at(start()),
        attempt: 1,
    };
    h.advance(Duration::from_secs(20));
    let beats = h
        .store
        .heartbeat_many(
            &[a.lease, b.lease, c.lease, stale, gone],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let until = start() + chrono::Duration::seconds(80);
    let a_beat = beats[0].as_ref().unwrap();
    assert_eq!(a_beat.lease_expires_at, until);
    assert!(!a_beat.cancel_requested);
    assert!(
        matches!(
            &beats[1],
            Err(StoreError::LeaseLost {
                status: JobStatus::Completed,
                ..
            })
        ),
        "{:?}",
        beats[1]
    );
    let c_beat = beats[2].as_ref().unwrap();
    assert!(
        c_beat.cancel_requested,
        "a cancel request rides on the heartbeat"
    );
    assert!(
        matches!(&beats[3], Err(e) if e.is_lease_lost()),
        "{:?}",
        beats[3]
    );
    assert!(
        matches!(&beats[4], Err(StoreError::NotFound(_))),
        "{:?}",
        beats[4]
    );
    assert_eq!(
        h.store.get(a.job.id).await.unwrap().lease_expires_at,
        Some(until)
    );
    assert_eq!(
        h.store.get(b.job.id).await.unwrap().lease_expires_at,
        None,
        "a refused lease changes nothing"
    );
    assert!(h
        .store
        .heartbeat_many(&[], Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
}

pub async fn cancel_requested_names_the_held_jobs_asked_to_stop(h: &Harness) {
    for n in 0..3 {
        h.job("c", n).await;
    }
    let claimed = h.store.claim(&ClaimRequest::new("w", 3)).await.unwrap();
    let leases: Vec<Lease> = claimed.iter().map(|c| c.lease).collect();
    assert!(h.store.cancel_requested(&leases).await.unwrap().is_empty());
    h.store.cancel(claimed[1].job.id).await.unwrap();
    h.store.cancel(claimed[2].job.id).await.unwrap();
    h.store.mark_cancelled(&claimed[2].lease).await.unwrap();
    let stale = Lease {
        job_id: claimed[1].job.id,
        attempt: claimed[1].lease.attempt + 1,
    };
    assert_eq!(
        h.store
            .cancel_requested(&[leases[0], leases[1], leases[2], stale])
            .await
            .unwrap(),
        vec![leases[1]],
        "only a job still held by the lease, whose cancel was asked"
    );
}

contract_tests!(
    heartbeat_extends_the_lease,
    heartbeat_many_extends_each_held_lease_and_refuses_the_others,
    cancel_requested_names_the_held_jobs_asked_to_stop,
    progress_records_stage_and_optional_percent,
    complete_stores_the_result,
    complete_many_guards_each_completion_and_commits_the_rest,
    transient_failure_retries_until_attempts_run_out,
    permanent_failure_fails_at_once,
    release_does_not_spend_an_attempt,
    writes_to_a_finished_job_are_refused,
    stale_lease_is_refused_after_rescue_and_reclaim,
);
