//! Named queues, priorities, pause and global concurrency limits.

use std::time::Duration;

use jobstore::{ClaimRequest, Completion, Failure, Job, JobStatus, NewJob, Progress, StoreError};
use serde_json::json;

use crate::support::Harness;

async fn create(h: &Harness, queue: &str, priority: u8) -> Job {
    h.store
        .create(NewJob::new("q", json!({})).queue(queue).priority(priority))
        .await
        .unwrap()
}

fn ids(claimed: &[jobstore::Claimed]) -> Vec<jobstore::JobId> {
    claimed.iter().map(|c| c.job.id).collect()
}

pub async fn a_job_that_names_no_queue_is_in_the_default_queue_at_priority_five(h: &Harness) {
    let plain = h.job("q", 1).await;
    let stored = h.store.get(plain.id).await.unwrap();
    assert_eq!((stored.queue.as_str(), stored.priority), ("default", 5));
    assert_eq!(stored.unique, None);
    let video = create(h, "video", 5).await;
    let claimed = h.store.claim(&ClaimRequest::new("w", 10)).await.unwrap();
    assert_eq!(ids(&claimed), vec![plain.id], "the default queue only");
    let claimed = h
        .store
        .claim(&ClaimRequest::new("w", 10).queue("video"))
        .await
        .unwrap();
    assert_eq!(ids(&claimed), vec![video.id]);
    assert_eq!(claimed[0].job.queue, "video");
}

pub async fn a_claim_takes_priority_then_run_at_then_id(h: &Harness) {
    let fifth = create(h, "default", 9).await;
    let third = create(h, "default", 5).await;
    let first = create(h, "default", 0).await;
    let fourth = create(h, "default", 5).await;
    let second = h
        .store
        .create(
            NewJob::new("q", json!({}))
                .priority(1)
                .run_at(crate::support::start() + chrono::Duration::seconds(1)),
        )
        .await
        .unwrap();
    let not_yet = h
        .store
        .create(
            NewJob::new("q", json!({}))
                .priority(0)
                .delay(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    h.advance(Duration::from_secs(1));
    let claimed = h.store.claim(&ClaimRequest::new("w", 10)).await.unwrap();
    assert_eq!(
        ids(&claimed),
        vec![first.id, second.id, third.id, fourth.id, fifth.id]
    );
    assert_eq!(
        h.store.get(not_yet.id).await.unwrap().status,
        JobStatus::Pending
    );
}

pub async fn a_claim_takes_from_each_queue_up_to_its_own_limit(h: &Harness) {
    for _ in 0..3 {
        create(h, "default", 5).await;
        create(h, "video", 5).await;
    }
    let request = ClaimRequest::from_queues("w", [("default", 2), ("video", 1), ("mail", 4)]);
    let claimed = h.store.claim(&request).await.unwrap();
    let queues: Vec<&str> = claimed.iter().map(|c| c.job.queue.as_str()).collect();
    assert_eq!(queues, vec!["default", "default", "video"]);
}

pub async fn a_paused_queue_gives_no_job_until_resumed(h: &Harness) {
    let running = create(h, "video", 5).await;
    let claimed = h
        .store
        .claim(&ClaimRequest::new("w", 1).queue("video"))
        .await
        .unwrap();
    assert_eq!(ids(&claimed), vec![running.id]);
    let waiting = create(h, "video", 5).await;
    let other = h.job("q", 1).await;

    let paused = h.store.set_queue_paused("video", true).await.unwrap();
    assert!(paused.paused);
    assert_eq!((paused.available, paused.running), (1, 1));
    let video = ClaimRequest::new("w", 5).queue("video");
    assert!(h.store.claim(&video).await.unwrap().is_empty());
    assert!(!h.store.claimable(&video).await.unwrap());
    let polled = h.store.poll(Vec::new(), Some(&video)).await.unwrap();
    assert!(polled.exchange.claimed.is_empty());
    assert_eq!(
        polled.chores.next_due, None,
        "a paused queue's jobs are not due for its workers"
    );
    // Its running job finishes; other queues go on.
    h.store
        .complete_many(vec![Completion::new(claimed[0].lease, json!(1))])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(
        ids(&h.store.claim(&ClaimRequest::new("w", 5)).await.unwrap()),
        vec![other.id]
    );

    let resumed = h.store.set_queue_paused("video", false).await.unwrap();
    assert!(!resumed.paused);
    assert!(h.store.claimable(&video).await.unwrap());
    assert_eq!(ids(&h.store.claim(&video).await.unwrap()), vec![waiting.id]);
}

pub async fn a_queue_limit_caps_its_running_jobs_across_every_claimer(h: &Harness) {
    for _ in 0..5 {
        create(h, "render", 5).await;
    }
    let limited = h.store.set_queue_limit("render", Some(2)).await.unwrap();
    assert_eq!(limited.concurrency_limit, Some(2));
    let render = |worker: &str| ClaimRequest::new(worker, 5).queue("render");
    let first = h.store.claim(&render("a")).await.unwrap();
    assert_eq!(first.len(), 2, "the limit, not the claim's 5");
    assert!(h.store.claim(&render("b")).await.unwrap().is_empty());
    assert!(!h.store.claimable(&render("b")).await.unwrap());
    // One finishes: exactly one more may start, taken in the same write.
    let exchange = h
        .store
        .complete_and_claim(
            vec![Completion::new(first[0].lease, json!(1))],
            &render("b"),
        )
        .await
        .unwrap();
    assert_eq!(exchange.claimed.len(), 1);
    // Failing back to pending frees a place too.
    h.store
        .fail(&first[1].lease, &Failure::transient("again"))
        .await
        .unwrap();
    assert_eq!(h.store.claim(&render("c")).await.unwrap().len(), 1);
    assert!(h.store.claim(&render("c")).await.unwrap().is_empty());
    // Lifting the limit lets the rest start.
    h.store.set_queue_limit("render", None).await.unwrap();
    assert_eq!(h.store.claim(&render("c")).await.unwrap().len(), 2);
    // A limit of zero lets nothing start.
    create(h, "render", 5).await;
    h.store.set_queue_limit("render", Some(0)).await.unwrap();
    assert!(h.store.claim(&render("c")).await.unwrap().is_empty());
}

pub async fn queues_list_counts_and_settings(h: &Harness) {
    assert!(h.store.queues().await.unwrap().is_empty());
    h.job("q", 1).await;
    create(h, "video", 5).await;
    h.store
        .create(
            NewJob::new("q", json!({}))
                .queue("video")
                .delay(Duration::from_secs(9)),
        )
        .await
        .unwrap();
    h.claim_one("w").await;
    h.store.set_queue_paused("mail", true).await.unwrap();
    let queues = h.store.queues().await.unwrap();
    let summary: Vec<(&str, bool, u64, u64, u64)> = queues
        .iter()
        .map(|q| {
            (
                q.name.as_str(),
                q.paused,
                q.available,
                q.scheduled,
                q.running,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("default", false, 0, 0, 1),
            ("mail", true, 0, 0, 0),
            ("video", false, 1, 1, 0),
        ]
    );
}

pub async fn queue_settings_and_names_are_checked(h: &Harness) {
    let invalid = |e: StoreError| assert!(matches!(e, StoreError::InvalidInput(_)), "{e:?}");
    invalid(
        h.store
            .set_queue_paused("no spaces", true)
            .await
            .unwrap_err(),
    );
    invalid(h.store.set_queue_paused("", true).await.unwrap_err());
    invalid(
        h.store
            .set_queue_limit("x", Some(2_000_000))
            .await
            .unwrap_err(),
    );
    invalid(
        h.store
            .create(NewJob::new("q", json!({})).priority(10))
            .await
            .unwrap_err(),
    );
    invalid(
        h.store
            .create(NewJob::new("q", json!({})).queue("a/b"))
            .await
            .unwrap_err(),
    );
    invalid(
        h.store
            .claim(&ClaimRequest::from_queues("w", [("a", 1), ("a", 1)]))
            .await
            .unwrap_err(),
    );
    invalid(
        h.store
            .claim(&ClaimRequest::new("w", 1).queue("bad queue"))
            .await
            .unwrap_err(),
    );
    assert!(h.store.queues().await.unwrap().is_empty(), "nothing stored");
}

pub async fn a_job_back_in_line_shows_no_stage_or_percent(h: &Harness) {
    let lease_for = Duration::from_secs(5);
    let job = h
        .store
        .create(NewJob::new("q", json!({})).max_attempts(5))
        .await
        .unwrap();
    let request = ClaimRequest::new("w", 1).lease_duration(lease_for);
    let progress = Progress::percent("rendering", 83.0);
    let back_in_line = |how: &'static str| async move {
        let stored = h.store.get(job.id).await.unwrap();
        assert_eq!(stored.status, JobStatus::Pending, "{how}");
        assert_eq!((stored.stage, stored.progress), (None, None), "{how}");
    };
    // Released (shutdown).
    let c = h.store.claim(&request).await.unwrap().remove(0);
    h.store.progress(&c.lease, &progress).await.unwrap();
    h.store.release(&c.lease).await.unwrap();
    back_in_line("released").await;
    // Failed, to be retried.
    let c = h.store.claim(&request).await.unwrap().remove(0);
    h.store.progress(&c.lease, &progress).await.unwrap();
    h.store
        .fail(&c.lease, &Failure::transient("again"))
        .await
        .unwrap();
    back_in_line("retried").await;
    // Rescued after its worker died.
    h.advance(Duration::from_secs(60));
    let c = h.store.claim(&request).await.unwrap().remove(0);
    h.store.progress(&c.lease, &progress).await.unwrap();
    h.advance(Duration::from_secs(6));
    assert_eq!(h.store.rescue_expired().await.unwrap().requeued, 1);
    back_in_line("rescued").await;
}

contract_tests!(
    a_job_that_names_no_queue_is_in_the_default_queue_at_priority_five,
    a_claim_takes_priority_then_run_at_then_id,
    a_claim_takes_from_each_queue_up_to_its_own_limit,
    a_paused_queue_gives_no_job_until_resumed,
    a_queue_limit_caps_its_running_jobs_across_every_claimer,
    queues_list_counts_and_settings,
    queue_settings_and_names_are_checked,
    a_job_back_in_line_shows_no_stage_or_percent,
);
