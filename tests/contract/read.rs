use std::collections::HashSet;

use jobstore::{JobStatus, ListQuery, NewJob, StoreError};
use serde_json::json;

use crate::support::Harness;

pub async fn list_is_newest_first_and_filters(h: &Harness) {
    let a = h.job("alpha", 1).await;
    let b = h
        .store
        .create(NewJob::new("beta", json!({})).correlation_id("order-7"))
        .await
        .unwrap();
    let c = h.job("alpha", 3).await;
    let running = h.claim_one("w").await; // claims `a`, the oldest
    assert_eq!(running.job.id, a.id);

    let all = h.store.list(&ListQuery::default()).await.unwrap();
    let ids: Vec<_> = all.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![c.id, b.id, a.id], "newest first");
    assert_eq!(all.next_cursor, None);

    let alpha = h
        .store
        .list(&ListQuery::default().job_type("alpha"))
        .await
        .unwrap();
    let ids: Vec<_> = alpha.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![c.id, a.id]);

    let pending = h
        .store
        .list(&ListQuery::default().status(JobStatus::Pending))
        .await
        .unwrap();
    let ids: Vec<_> = pending.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![c.id, b.id]);

    let pending_alpha = h
        .store
        .list(
            &ListQuery::default()
                .status(JobStatus::Pending)
                .job_type("alpha"),
        )
        .await
        .unwrap();
    assert_eq!(pending_alpha.jobs.len(), 1);
    assert_eq!(pending_alpha.jobs[0].id, c.id);

    let correlated = h
        .store
        .list(&ListQuery::default().correlation_id("order-7"))
        .await
        .unwrap();
    assert_eq!(correlated.jobs.len(), 1);
    assert_eq!(correlated.jobs[0].id, b.id);

    let none = h
        .store
        .list(&ListQuery::default().job_type("gamma"))
        .await
        .unwrap();
    assert!(none.jobs.is_empty());
}

pub async fn list_pages_with_a_cursor(h: &Harness) {
    let mut created = Vec::new();
    for n in 0..25 {
        created.push(h.job("page", n).await.id);
    }
    created.reverse(); // newest first
    let mut seen = Vec::new();
    let mut query = ListQuery::default().limit(10);
    let mut pages = 0;
    loop {
        let page = h.store.list(&query).await.unwrap();
        pages += 1;
        seen.extend(page.jobs.iter().map(|j| j.id));
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
}

pub async fn list_refuses_a_bad_limit(h: &Harness) {
    for limit in [0, ListQuery::MAX_LIMIT + 1] {
        let err = h
            .store
            .list(&ListQuery::default().limit(limit))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
}

pub async fn count_by_status_counts_each_status(h: &Harness) {
    for n in 0..6 {
        h.job("count", n).await;
    }
    let done = h.claim_one("w").await;
    h.store.complete(&done.lease, json!(null)).await.unwrap();
    let failed = h.claim_one("w").await;
    h.store
        .fail(&failed.lease, &jobstore::Failure::permanent("bad input"))
        .await
        .unwrap();
    let _running = h.claim_one("w").await;
    let pending = h
        .store
        .list(&ListQuery::default().status(JobStatus::Pending))
        .await
        .unwrap();
    h.store.cancel(pending.jobs[0].id).await.unwrap();

    let counts = h.store.count_by_status().await.unwrap();
    assert_eq!(
        (
            counts.pending,
            counts.running,
            counts.completed,
            counts.failed,
            counts.cancelled
        ),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(counts.total(), 6);
}

pub async fn count_by_type_counts_each_type_in_each_status(h: &Harness) {
    for job_type in ["mail", "mail", "mail", "thumb"] {
        h.job(job_type, 0).await;
    }
    let first = h.claim_one("w").await;
    h.store.complete(&first.lease, json!(null)).await.unwrap();
    let thumb = h
        .store
        .list(&ListQuery::default().job_type("thumb"))
        .await
        .unwrap();
    h.store.cancel(thumb.jobs[0].id).await.unwrap();

    let counts = h.store.count_by_type().await.unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!((counts["mail"].completed, counts["mail"].pending), (1, 2));
    assert_eq!(counts["mail"].total(), 3);
    assert_eq!((counts["thumb"].cancelled, counts["thumb"].total()), (1, 1));
}

pub async fn running_jobs_are_listed_newest_first_and_counted_by_type(h: &Harness) {
    let mut created = Vec::new();
    for job_type in ["mail", "thumb", "mail", "mail", "thumb"] {
        created.push(h.job(job_type, 0).await);
    }
    // The four oldest run; the first of them finishes.
    let mut running: Vec<_> = Vec::new();
    for _ in 0..4 {
        running.push(h.claim_one("w").await);
    }
    let done = running.remove(0);
    h.store.complete(&done.lease, json!(null)).await.unwrap();

    let newest_first: Vec<_> = running.iter().rev().map(|c| c.job.id).collect();
    let first = h
        .store
        .list(&ListQuery::default().status(JobStatus::Running).limit(2))
        .await
        .unwrap();
    let ids: Vec<_> = first.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, newest_first[..2]);
    let cursor = first.next_cursor.expect("a second page");
    let rest = h
        .store
        .list(
            &ListQuery::default()
                .status(JobStatus::Running)
                .limit(2)
                .after(cursor),
        )
        .await
        .unwrap();
    let ids: Vec<_> = rest.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, newest_first[2..]);
    assert_eq!(rest.next_cursor, None);
    let mail = h
        .store
        .list(
            &ListQuery::default()
                .status(JobStatus::Running)
                .job_type("mail"),
        )
        .await
        .unwrap();
    let ids: Vec<_> = mail.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![created[3].id, created[2].id]);

    let by_type = h.store.count_by_type().await.unwrap();
    let mail = &by_type["mail"];
    let thumb = &by_type["thumb"];
    assert_eq!((mail.running, mail.completed, mail.total()), (2, 1, 3));
    assert_eq!((thumb.running, thumb.pending, thumb.total()), (1, 1, 2));
    let by_status = h.store.count_by_status().await.unwrap();
    assert_eq!(
        (by_status.running, by_status.completed, by_status.pending),
        (3, 1, 1)
    );
}

contract_tests!(
    list_is_newest_first_and_filters,
    running_jobs_are_listed_newest_first_and_counted_by_type,
    list_pages_with_a_cursor,
    list_refuses_a_bad_limit,
    count_by_status_counts_each_status,
    count_by_type_counts_each_type_in_each_status,
);
