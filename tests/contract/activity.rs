//! Finding jobs (by queue, by a search) and the activity report the
//! dashboard's charts draw.

use std::time::Duration;

use jobstore::{ActivityWindow, ClaimRequest, Failure, JobStatus, ListQuery, NewJob, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

async fn found(h: &Harness, query: ListQuery) -> Vec<jobstore::JobId> {
    let mut ids: Vec<_> = h
        .store
        .list(&query.limit(1000))
        .await
        .unwrap()
        .jobs
        .into_iter()
        .map(|job| job.id)
        .collect();
    ids.sort();
    ids
}

pub async fn list_finds_by_queue_and_by_search(h: &Harness) {
    let video = h
        .store
        .create(NewJob::new("encode", json!({ "file": "Holiday Cat.mp4" })).queue("video"))
        .await
        .unwrap();
    let report = h
        .store
        .create(NewJob::new("report", json!({ "month": 11 })).correlation_id("batch-9"))
        .await
        .unwrap();
    let broken = h
        .store
        .create(NewJob::new("sync", json!({ "to": "backup" })))
        .await
        .unwrap();
    let claimed = h
        .store
        .claim(&ClaimRequest::from_queues("w", [("default", 1)]).job_types(["sync"]))
        .await
        .unwrap();
    h.store
        .fail(&claimed[0].lease, &Failure::permanent("disk FULL on /var"))
        .await
        .unwrap();

    let default = ListQuery::default;
    assert_eq!(found(h, default().queue("video")).await, vec![video.id]);
    assert_eq!(found(h, default().queue("nowhere")).await, vec![]);
    // Text in params and in errors, in any ASCII case.
    assert_eq!(
        found(h, default().search("holiday cat")).await,
        vec![video.id]
    );
    assert_eq!(
        found(h, default().search("  full on ")).await,
        vec![broken.id]
    );
    // An id, its last eight characters (as the dashboard shows it), its start.
    let id = report.id.to_string();
    assert_eq!(found(h, default().search(&id)).await, vec![report.id]);
    assert_eq!(
        found(h, default().search(&id[id.len() - 8..])).await,
        vec![report.id]
    );
    assert!(found(h, default().search(&id[..13]))
        .await
        .contains(&report.id));
    assert_eq!(found(h, default().search("batch-9")).await, vec![report.id]);
    assert_eq!(found(h, default().search("nothing like it")).await, vec![]);
    // A search is one more filter.
    let failed = default().search("full").status(JobStatus::Failed);
    assert_eq!(found(h, failed).await, vec![broken.id]);
    let wrong_queue = default().search("holiday").queue("default");
    assert_eq!(found(h, wrong_queue).await, vec![]);
    // Blank text is no search.
    assert_eq!(found(h, default().search("   ")).await.len(), 3);

    for bad in [
        default().search("x".repeat(ListQuery::MAX_SEARCH + 1)),
        default().search("a\u{0}b"),
        default().queue(""),
    ] {
        match h.store.list(&bad).await {
            Err(StoreError::InvalidInput(message)) => {
                assert!(
                    message.contains("search") || message.contains("queue"),
                    "{message}"
                )
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

pub async fn a_text_search_reads_only_the_newest_jobs(h: &Harness) {
    let old = h
        .store
        .create(NewJob::new("old", json!({ "needle": true })))
        .await
        .unwrap();
    let filler = (0..ListQuery::SEARCH_WINDOW)
        .map(|n| NewJob::new("filler", json!({ "n": n })))
        .collect();
    h.store.enqueue_many(filler).await.unwrap();
    let default = ListQuery::default;
    assert_eq!(
        found(h, default().search("needle")).await,
        vec![],
        "beyond the window"
    );
    let id = old.id.to_string();
    assert_eq!(
        found(h, default().search(&id)).await,
        vec![old.id],
        "an id at any age"
    );
}

pub async fn activity_counts_what_finished_started_and_waited_per_queue(h: &Harness) {
    // 12:00:00: three jobs in the default queue, one in video.
    for n in 0..3 {
        h.store
            .create(NewJob::new("task", json!({ "n": n })))
            .await
            .unwrap();
    }
    h.store
        .create(NewJob::new("encode", json!({})).queue("video"))
        .await
        .unwrap();
    // 12:00:30: two start, having waited 30 s.
    h.advance(Duration::from_secs(30));
    let claimed = h
        .store
        .claim(&ClaimRequest::from_queues("w", [("default", 2)]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    // 12:01:30: one completes, one fails for good.
    h.advance(Duration::from_secs(60));
    h.store
        .complete(&claimed[0].lease, json!("ok"))
        .await
        .unwrap();
    h.store
        .fail(&claimed[1].lease, &Failure::permanent("no"))
        .await
        .unwrap();
    // 12:02:30: a report of the last five minutes, by minute.
    h.advance(Duration::from_secs(60));
    let now = start() + chrono::Duration::seconds(150);
    let window = ActivityWindow::ending_at(now, Duration::from_secs(60), 5);
    assert_eq!(window.since, start() - chrono::Duration::minutes(2));
    let report = h.store.activity(&window).await.unwrap();
    let queues: Vec<_> = report.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(queues, ["default", "video"]);

    let default = &report[0].buckets;
    assert_eq!(default.len(), 5);
    assert_eq!(default[2].start, start());
    let column =
        |f: fn(&jobstore::ActivityBucket) -> u64| default.iter().map(f).collect::<Vec<_>>();
    assert_eq!(column(|b| b.started), [0, 0, 2, 0, 0]);
    assert_eq!(column(|b| b.completed), [0, 0, 0, 1, 0]);
    assert_eq!(column(|b| b.failed), [0, 0, 0, 1, 0]);
    assert_eq!(column(|b| b.depth), [0, 0, 1, 1, 1]);
    assert_eq!(default[2].wait_p50_ms, Some(30_000));
    assert_eq!(default[2].wait_p95_ms, Some(30_000));
    assert_eq!(default[3].wait_p50_ms, None);

    let video = &report[1].buckets;
    let depth: Vec<_> = video.iter().map(|b| b.depth).collect();
    assert_eq!(depth, [0, 0, 1, 1, 1]);
    assert!(video.iter().all(|b| b.started == 0 && b.completed == 0));

    // A window before anything happened has nothing in it.
    let before = ActivityWindow::ending_at(
        start() - chrono::Duration::hours(1),
        Duration::from_secs(60),
        5,
    );
    assert_eq!(h.store.activity(&before).await.unwrap(), vec![]);

    for bad in [
        ActivityWindow {
            buckets: 0,
            ..window
        },
        ActivityWindow {
            buckets: ActivityWindow::MAX_BUCKETS + 1,
            ..window
        },
        ActivityWindow {
            bucket: Duration::from_millis(500),
            ..window
        },
    ] {
        assert!(
            matches!(
                h.store.activity(&bad).await,
                Err(StoreError::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
}

pub async fn activity_wait_percentiles_are_nearest_rank(h: &Harness) {
    // Twenty jobs due at 12:00:00 start one a second from 12:00:01: waits
    // of 1 to 20 s, so the median is 10 s and the 95th percentile 19 s.
    for n in 0..20 {
        h.store
            .create(NewJob::new("task", json!({ "n": n })))
            .await
            .unwrap();
    }
    for _ in 0..20 {
        h.advance(Duration::from_secs(1));
        let claimed = h
            .store
            .claim(&ClaimRequest::from_queues("w", [("default", 1)]))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
    }
    let window = ActivityWindow::ending_at(start(), Duration::from_secs(3600), 1);
    let report = h.store.activity(&window).await.unwrap();
    let hour = &report[0].buckets[0];
    assert_eq!(hour.started, 20);
    assert_eq!(hour.wait_p50_ms, Some(10_000));
    assert_eq!(hour.wait_p95_ms, Some(19_000));
}

pub async fn a_job_waiting_for_its_retry_is_not_counted_as_started(h: &Harness) {
    h.store
        .create(NewJob::new("task", json!({})).max_attempts(3))
        .await
        .unwrap();
    h.advance(Duration::from_secs(30));
    let claimed = h
        .store
        .claim(&ClaimRequest::from_queues("w", [("default", 1)]))
        .await
        .unwrap();
    h.store
        .fail(
            &claimed[0].lease,
            &Failure::transient("try again").retry_after(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    let window = ActivityWindow::ending_at(start(), Duration::from_secs(3600), 1);
    let report = h.store.activity(&window).await.unwrap();
    let hour = &report[0].buckets[0];
    assert_eq!(
        hour.started, 0,
        "its start belongs to an attempt that is over"
    );
    assert_eq!(hour.wait_p50_ms, None);
    assert_eq!(
        hour.depth, 1,
        "due again at 12:10:30, waiting at the hour's end"
    );
}

contract_tests!(
    a_job_waiting_for_its_retry_is_not_counted_as_started,
    list_finds_by_queue_and_by_search,
    a_text_search_reads_only_the_newest_jobs,
    activity_counts_what_finished_started_and_waited_per_queue,
    activity_wait_percentiles_are_nearest_rank,
);
