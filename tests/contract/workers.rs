use std::collections::BTreeMap;
use std::time::Duration;

use jobstore::{StoreError, WorkerInfo};

use crate::support::{start, Harness};

fn info(id: &str, pid: u32) -> WorkerInfo {
    WorkerInfo {
        id: id.to_string(),
        host: "box-1".to_string(),
        pid,
        queues: BTreeMap::from([("default".to_string(), 4), ("video".to_string(), 1)]),
        version: "1.2.3".to_string(),
        lease: Duration::from_secs(30),
    }
}

pub async fn workers_are_alive_while_they_announce_and_gone_after_their_lease(h: &Harness) {
    assert!(h.store.workers().await.unwrap().is_empty());
    h.store.announce_worker(&info("w1", 100)).await.unwrap();
    h.advance(Duration::from_secs(1));
    h.store.announce_worker(&info("w2", 200)).await.unwrap();
    h.job("t", 1).await;
    h.claim_one("w1").await;

    let workers = h.store.workers().await.unwrap();
    let ids: Vec<&str> = workers.iter().map(|w| w.info.id.as_str()).collect();
    assert_eq!(ids, ["w2", "w1"], "newest first");
    let w1 = &workers[1];
    assert_eq!(w1.info, info("w1", 100), "everything it said");
    assert!(w1.alive);
    assert_eq!((w1.running, workers[0].running), (1, 0));
    assert_eq!(w1.started_at, start());

    // w1 keeps announcing, w2 falls silent past its lease.
    h.advance(Duration::from_secs(20));
    h.store.announce_worker(&info("w1", 100)).await.unwrap();
    h.advance(Duration::from_secs(20));
    let workers = h.store.workers().await.unwrap();
    let state = |id: &str| workers.iter().find(|w| w.info.id == id).unwrap().clone();
    assert!(state("w1").alive);
    assert_eq!(
        state("w1").started_at,
        start(),
        "an announcement is not a start"
    );
    assert!(!state("w2").alive, "silent for longer than its lease");
    assert_eq!(state("w2").state(), "gone");
}

pub async fn a_retired_worker_is_gone_and_starts_anew_when_it_returns(h: &Harness) {
    h.store.announce_worker(&info("w", 1)).await.unwrap();
    h.advance(Duration::from_secs(5));
    h.store.retire_worker("w").await.unwrap();
    let workers = h.store.workers().await.unwrap();
    assert!(!workers[0].alive);
    assert_eq!(
        workers[0].stopped_at,
        Some(start() + chrono::Duration::seconds(5))
    );
    h.advance(Duration::from_secs(5));
    h.store.announce_worker(&info("w", 2)).await.unwrap();
    let workers = h.store.workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    assert!(workers[0].alive);
    assert_eq!(workers[0].stopped_at, None);
    assert_eq!(workers[0].info.pid, 2);
    assert_eq!(
        workers[0].started_at,
        start() + chrono::Duration::seconds(10),
        "a new start"
    );
    // Retiring an unknown worker changes nothing.
    h.store.retire_worker("nobody").await.unwrap();
}

pub async fn workers_gone_for_a_day_are_forgotten(h: &Harness) {
    h.store.announce_worker(&info("old", 1)).await.unwrap();
    h.advance(Duration::from_secs(2 * 86_400));
    h.store.announce_worker(&info("new", 2)).await.unwrap();
    let ids: Vec<String> = h
        .store
        .workers()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.info.id)
        .collect();
    assert_eq!(ids, ["new"]);
}

pub async fn a_bad_announcement_is_refused(h: &Harness) {
    let mut bad = info("", 1);
    assert!(matches!(
        h.store.announce_worker(&bad).await.unwrap_err(),
        StoreError::InvalidInput(_)
    ));
    bad = info("w", 1);
    bad.lease = Duration::ZERO;
    assert!(matches!(
        h.store.announce_worker(&bad).await.unwrap_err(),
        StoreError::InvalidInput(_)
    ));
    assert!(h.store.workers().await.unwrap().is_empty());
}

contract_tests!(
    workers_are_alive_while_they_announce_and_gone_after_their_lease,
    a_retired_worker_is_gone_and_starts_anew_when_it_returns,
    workers_gone_for_a_day_are_forgotten,
    a_bad_announcement_is_refused,
);
