//! The shared statements never scan the jobs table: their plans, read with
//! `EXPLAIN QUERY PLAN` on the exact SQL and values the stores run, use
//! the indexes the migrations made for them.

use chrono::Utc;
use diesel::{Connection, SqliteConnection};

use super::executor::run_all;
use super::migrate;
use crate::job::{prepare, JobId};
use crate::store::sql::{cancel, claim, create, cron, read, Batch, Statement};
use crate::store::{ClaimRequest, ListQuery};

/// The plan of each statement of `batch`, on a migrated database holding
/// one pending job (whose id is given to `batch`).
fn plans(batch: impl FnOnce(JobId) -> Batch) -> Vec<(String, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    migrate::run(&mut conn).unwrap();
    let job = prepare(
        &crate::NewJob::new("email", serde_json::json!({})),
        Utc::now(),
        None,
    )
    .unwrap();
    run_all(&mut conn, &create::insert(std::slice::from_ref(&job))).unwrap();
    batch(job.job.id)
        .statements
        .into_iter()
        .map(|statement| {
            let explain = Statement::query(
                format!("EXPLAIN QUERY PLAN {}", statement.sql),
                statement.params.clone(),
            );
            let rows = run_all(&mut conn, &[explain]).unwrap().remove(0).rows;
            let plan = rows.iter().map(|row| row.text(3).unwrap()).collect();
            (statement.sql.to_string(), plan)
        })
        .collect()
}

/// No plan of `plans` reads a table whole (reading a whole covering index
/// is allowed: counting every job does; so is a scan of a constant row or
/// of a subquery's own few rows).
fn assert_no_table_scan(plans: &[(String, Vec<String>)]) {
    for (sql, plan) in plans {
        for line in plan {
            assert!(
                !line.starts_with("SCAN")
                    || line.contains("COVERING INDEX")
                    || line == "SCAN CONSTANT ROW"
                    || line.starts_with("SCAN (subquery-"),
                "full scan in plan of {sql}: {plan:?}"
            );
        }
    }
}

/// Every plan uses `index` (somewhere), and none scans a table (see
/// [`assert_no_table_scan`]) or sorts.
fn assert_searches_with(plans: &[(String, Vec<String>)], index: &str) {
    assert!(!plans.is_empty(), "no statement");
    assert_no_table_scan(plans);
    for (sql, plan) in plans {
        for line in plan {
            assert!(
                !line.contains("TEMP B-TREE"),
                "sort in plan of {sql}: {plan:?}"
            );
        }
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{sql} does not use {index}: {plan:?}"
        );
    }
}

#[test]
fn claims_search_the_claim_index() {
    let now = Utc::now();
    for request in [
        ClaimRequest::new("w", 10),
        ClaimRequest::new("w", 10).job_types(["a", "b"]),
        ClaimRequest::from_queues("w", [("default", 4), ("video", 1)]),
    ] {
        let plans = plans(|_| Batch::write(claim::claim(&request, now).unwrap()));
        assert_eq!(plans.len(), request.queues.len());
        assert!(plans[0].0.starts_with("UPDATE"));
        assert_searches_with(&plans, "jobs_claim_idx");
    }
}

#[test]
fn a_claim_seeks_each_priority_and_reads_only_due_jobs() {
    let request = ClaimRequest::new("w", 10);
    let plans = plans(|_| Batch::write(claim::claim(&request, Utc::now()).unwrap()));
    assert!(
        plans[0]
            .1
            .iter()
            .any(|line| line.contains("priority=? AND run_at<?")),
        "{plans:?}"
    );
}

#[test]
fn whether_a_job_is_claimable_and_when_the_next_is_due_search_the_claim_index() {
    let request = ClaimRequest::from_queues("w", [("default", 4), ("video", 1)]);
    assert_searches_with(
        &plans(|_| claim::claimable(&request, Utc::now())),
        "jobs_claim_idx",
    );
    assert_searches_with(
        &plans(|_| Batch::read(vec![claim::next_due(&request)])),
        "jobs_claim_idx",
    );
}

#[test]
fn a_unique_enqueue_looks_keys_up_on_the_unique_index() {
    let job = prepare(
        &crate::NewJob::new("t", serde_json::json!({}))
            .unique_key("k", crate::UniqueScope::WhileActive),
        Utc::now(),
        None,
    )
    .unwrap();
    let plans = plans(|_| create::enqueue(std::slice::from_ref(&job), Utc::now()));
    let release = &plans[..1];
    let holders = &plans[plans.len() - 1..];
    assert_searches_with(release, "jobs_unique_idx");
    assert_searches_with(holders, "jobs_unique_idx");
}

#[test]
fn listing_queues_reads_the_claim_and_reaper_indexes() {
    let plans = plans(|_| crate::store::sql::queues::list(Utc::now()));
    assert_searches_with(&plans[..1], "jobs_claim_idx");
}

#[test]
fn rescue_searches_the_reaper_index() {
    let plans = plans(|_| cancel::rescue(Utc::now(), Some("rescuer")));
    assert_eq!(
        plans.len(),
        4,
        "record, cancel, requeue and fail statements"
    );
    assert_searches_with(&plans, "jobs_reaper_idx");
}

#[test]
fn queue_positions_count_on_the_claim_index() {
    let plans = plans(|id| read::queue_positions(&[id], Utc::now()));
    assert_searches_with(&plans, "jobs_claim_idx");
}

/// A one-statement plan of two parts joined by `UNION ALL`: each part's
/// lines, the statement's SQL with each.
fn union_parts(plans: &[(String, Vec<String>)]) -> [(String, Vec<String>); 2] {
    assert_eq!(plans.len(), 1, "{plans:?}");
    let (sql, plan) = &plans[0];
    let split = plan
        .iter()
        .position(|line| line == "UNION ALL")
        .unwrap_or_else(|| panic!("no UNION ALL in {plan:?}"));
    [
        (sql.clone(), plan[..split].to_vec()),
        (sql.clone(), plan[split + 1..].to_vec()),
    ]
}

/// The running jobs' part of a plan searches the reaper index (and may
/// sort what it finds: running jobs are few) without reading the table
/// whole.
fn assert_reads_running_jobs_from_the_reaper_index(sql: &str, plan: &[String]) {
    assert!(
        plan.iter().any(|line| line.contains("jobs_reaper_idx")),
        "{sql} does not search the reaper index: {plan:?}"
    );
    assert!(
        !plan.iter().any(|line| line.starts_with("SCAN jobs")),
        "full scan in plan of {sql}: {plan:?}"
    );
}

#[test]
fn counting_reads_a_status_index_alone_and_running_jobs_from_the_reaper_index() {
    for (batch, index) in [
        (read::count_by_type(), "COVERING INDEX jobs_type_idx"),
        (read::count_by_status(), "COVERING INDEX jobs_list_idx"),
    ] {
        let [indexed, running] = union_parts(&plans(|_| batch));
        assert_searches_with(std::slice::from_ref(&indexed), index);
        assert_reads_running_jobs_from_the_reaper_index(&running.0, &running.1);
    }
}

#[test]
fn listing_by_status_searches_a_status_index_and_running_jobs_the_reaper_index() {
    use crate::JobStatus;
    let cursor = JobId::new_at(Utc::now());
    for status in [
        JobStatus::Pending,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ] {
        let by_status = ListQuery::default().status(status);
        assert_searches_with(
            &plans(|_| read::list(&by_status.clone().after(cursor))),
            "INDEX jobs_list_idx (status=? AND id<?)",
        );
        assert_searches_with(
            &plans(|_| read::list(&by_status.clone().queue("video"))),
            "jobs_list_idx",
        );
        assert_searches_with(
            &plans(|_| read::list(&by_status.job_type("email").after(cursor))),
            "INDEX jobs_type_idx (job_type=? AND status=? AND id<?)",
        );
    }
    let running = ListQuery::default().status(JobStatus::Running);
    for query in [running.clone(), running.after(cursor).job_type("email")] {
        for (sql, plan) in plans(|_| read::list(&query)) {
            assert_reads_running_jobs_from_the_reaper_index(&sql, &plan);
        }
    }
}

#[test]
fn listing_by_type_alone_walks_the_type_index_newest_first() {
    let by_type = ListQuery::default().job_type("email");
    let cursor = JobId::new_at(Utc::now());
    for query in [by_type.clone(), by_type.after(cursor)] {
        assert_searches_with(&plans(|_| read::list(&query)), "jobs_job_type_idx");
    }
}

#[test]
fn bulk_actions_and_prunes_by_type_search_the_type_index() {
    use crate::store::sql::bulk;
    use crate::store::{BulkAction, JobFilter};
    let by_type = JobFilter::default().job_type("email");
    let prune = by_type.clone().finished_before(Utc::now());
    for filter in [&by_type, &prune] {
        for action in [BulkAction::Retry, BulkAction::Cancel, BulkAction::Delete] {
            for batch in [
                bulk::preview(action, filter),
                bulk::apply(action, filter, Utc::now()),
            ] {
                let plans = plans(|_| batch);
                assert_no_table_scan(&plans);
                assert!(
                    plans
                        .iter()
                        .any(|(_, plan)| plan.iter().any(|l| l.contains("jobs_job_type_idx"))),
                    "{plans:?}"
                );
            }
        }
    }
}

#[test]
fn a_bulk_action_by_status_searches_a_status_index() {
    use crate::store::sql::bulk;
    use crate::store::{BulkAction, JobFilter};
    let failed_or_cancelled = JobFilter::default()
        .status(crate::JobStatus::Failed)
        .status(crate::JobStatus::Cancelled);
    let plans = plans(|_| bulk::preview(BulkAction::Delete, &failed_or_cancelled));
    assert_searches_with(&plans, "jobs_list_idx (status=?)");
}

#[test]
fn listing_a_correlation_id_searches_its_index() {
    let plans = plans(|_| read::list(&ListQuery::default().correlation_id("cron:nightly")));
    assert_searches_with(&plans, "SEARCH jobs USING INDEX jobs_correlation_idx");
}

/// A search reads what its indexes find (an id, a correlation id, the
/// newest jobs' range of the primary key) and then only those jobs: the
/// table is never read whole, with or without other filters. (It sorts
/// what it found: at most the search window's jobs.)
#[test]
fn a_search_reads_only_what_its_indexes_find() {
    for query in [
        ListQuery::default().search("batch-7"),
        ListQuery::default()
            .search("connection refused")
            .status(crate::JobStatus::Failed)
            .queue("video"),
    ] {
        let plans = plans(|_| read::list(&query));
        for (sql, plan) in &plans {
            for line in plan {
                assert!(
                    !line.starts_with("SCAN jobs") || line.contains("COVERING INDEX"),
                    "full scan in plan of {sql}: {plan:?}"
                );
            }
            let all = plan.join("\n");
            assert!(all.contains("jobs_correlation_idx"), "{plan:?}");
            assert!(all.contains("(id=?)"), "{plan:?}");
            assert!(all.contains("(id>?)"), "{plan:?}");
        }
    }
}

#[test]
fn due_schedules_are_searched_on_the_due_index() {
    let plans = plans(|_| cron::due(Utc::now()));
    assert_searches_with(&plans, "cron_jobs_due_idx");
}

#[test]
fn completions_heartbeats_and_cancel_checks_look_up_each_job_by_its_key() {
    use crate::store::sql::lease;
    use crate::store::Lease;
    let now = Utc::now();
    let leases = |id| {
        vec![
            Lease {
                job_id: id,
                attempt: 1,
            },
            Lease {
                job_id: JobId::new_at(now),
                attempt: 2,
            },
        ]
    };
    let beats = plans(|id| Batch::write(vec![lease::heartbeat(&leases(id), now, now)]));
    assert_searches_with(&beats, "id=?)");
    let checks = plans(|id| lease::cancel_requested(&leases(id)));
    assert_searches_with(&checks, "id=?)");
    let completions = plans(|id| {
        Batch::write(
            leases(id)
                .iter()
                .map(|lease| lease::complete(lease, "null".to_string(), now))
                .collect(),
        )
    });
    assert_searches_with(&completions, "id=?)");
}

#[test]
fn a_bulk_retry_looks_for_earlier_retries_on_their_index() {
    use crate::store::sql::bulk;
    use crate::store::{BulkAction, JobFilter};
    let filter = JobFilter::default().job_type("email");
    for batch in [
        bulk::preview(BulkAction::Retry, &filter),
        bulk::apply(BulkAction::Retry, &filter, Utc::now()),
    ] {
        let plans = plans(|_| batch);
        assert!(
            plans
                .iter()
                .all(|(_, plan)| plan.iter().any(|line| line.contains("jobs_retry_of_idx"))),
            "{plans:?}"
        );
    }
}
