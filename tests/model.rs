//! Model check of the backends: random sequences of store operations run
//! against [`MemoryStore`] (the model), [`SqliteStore`] and, with the
//! `libsql` feature, `LibsqlStore` (on a local file, and on a libSQL
//! server: the one `JOBSTORE_TEST_LIBSQL_URL` names, or else a `sqld` this
//! test process starts itself), each on its own manual clock moved
//! identically and on a fresh database, and every step must be observed the
//! same way on all of them: the same value or the same refusal, then the
//! same jobs in the store.
//!
//! Job ids are UUIDv7 made by each store, so they are compared by creation
//! order: the n-th job a backend created is named n on every backend
//! (ids, `retry_of`, leases, cursors and errors alike).
//!
//! 64 sequences run by default; run more with
//! `PROPTEST_CASES=1000 cargo test --test model`. A failing sequence is
//! shrunk and its seed saved in `proptest-regressions/model.txt`, which
//! replays it first on every later run.

#[cfg(feature = "libsql")]
#[allow(dead_code)]
#[path = "support/sqld.rs"]
mod sqld;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobstore::store::{Enqueued, QueueInfo};
use jobstore::{
    CancelOutcome, Chores, ClaimRequest, Claimed, Clock, Completion, FailOutcome, Failure,
    Heartbeat, Job, JobId, JobPage, JobStatus, JobStore, Lease, ListQuery, ManualClock,
    MemoryStore, NewJob, Progress, RescueSummary, SqliteConfig, SqliteStore, StatusCounts,
    StoreError, StoreResult, UniqueScope,
};
#[cfg(feature = "libsql")]
use jobstore::{LibsqlConfig, LibsqlStore};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence, TestCaseError};
use serde_json::json;
use uuid::Uuid;

/// The job types sequences create; claims may also ask for [`UNKNOWN_TYPE`].
const JOB_TYPES: [&str; 3] = ["email", "resize", "report"];
const UNKNOWN_TYPE: &str = "unknown";
const WORKERS: [&str; 2] = ["worker-a", "worker-b"];
const CORRELATION_IDS: [&str; 2] = ["batch-a", "batch-b"];
const QUEUES: [&str; 2] = ["default", "video"];
/// Texts a search may look for: in errors, in params, a correlation id, and
/// nothing at all. None could be part of an id: the backends make
/// different ids, so a text that matched one would find different jobs.
const SEARCHES: [&str; 6] = [
    "reset",
    "CONNECTION",
    "batch-a",
    "\"n\":1",
    "\"k",
    "nothing-like-it",
];
const UNIQUE_KEYS: [&str; 2] = ["key-a", "key-b"];

/// An id no store ever creates: the job every reference to an unknown job
/// names.
fn missing_id() -> JobId {
    JobId::from(Uuid::from_u128(0x0193_b6c2_4d5e_7f00_8a1b_2c3d_4e5f_6071))
}

/// The instant every clock starts at.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("valid start instant")
}

/// When a created job becomes claimable.
#[derive(Clone, Debug)]
enum When {
    Now,
    After(Duration),
    /// At this offset from the clock's now (negative: already due).
    At(chrono::Duration),
}

/// A job to create; some are invalid, so that refusals are compared too.
#[derive(Clone, Debug)]
struct JobSpec {
    job_type: String,
    params: serde_json::Value,
    when: When,
    max_attempts: u32,
    correlation_id: Option<String>,
    queue: Option<String>,
    priority: u8,
    unique: Option<(String, UniqueScope)>,
}

impl JobSpec {
    fn build(&self, now: DateTime<Utc>) -> NewJob {
        let mut job =
            NewJob::new(self.job_type.clone(), self.params.clone()).max_attempts(self.max_attempts);
        job = match self.when {
            When::Now => job,
            When::After(delay) => job.delay(delay),
            When::At(offset) => job.run_at(now + offset),
        };
        job = job.priority(self.priority);
        if let Some(queue) = &self.queue {
            job = job.queue(queue.clone());
        }
        if let Some((key, scope)) = &self.unique {
            job = job.unique_key(key.clone(), *scope);
        }
        match &self.correlation_id {
            Some(id) => job.correlation_id(id.clone()),
            None => job,
        }
    }
}

/// A job among those created so far, counted from the newest (0) and
/// wrapping around, or one that does not exist.
#[derive(Clone, Copy, Debug)]
enum JobRef {
    Created(usize),
    Missing,
}

/// A lease among those handed out so far (stale ones included), counted
/// from the newest (0) and wrapping around; the same lease with the next
/// attempt (never handed out yet); or a lease on a job that does not exist.
#[derive(Clone, Copy, Debug)]
enum LeaseRef {
    Issued(usize),
    NextAttempt(usize),
    Missing,
}

/// The `back`-th newest of `items`, wrapping around.
fn newest<T: Copy>(items: &[T], back: usize) -> Option<T> {
    let len = items.len();
    (len > 0).then(|| items[len - 1 - back % len])
}

/// One store operation, or a move of the clocks.
#[derive(Clone, Debug)]
enum Op {
    Create(JobSpec),
    CreateMany(Vec<JobSpec>),
    Claim {
        worker: String,
        queues: Vec<(String, u32)>,
        job_types: Option<Vec<String>>,
        lease: Duration,
    },
    SetPaused {
        queue: String,
        paused: bool,
    },
    SetLimit {
        queue: String,
        limit: Option<u32>,
    },
    Queues,
    ClaimJob {
        job: JobRef,
        worker: String,
        lease: Duration,
    },
    Heartbeat {
        lease: LeaseRef,
        extend_by: Duration,
    },
    HeartbeatMany {
        leases: Vec<LeaseRef>,
        extend_by: Duration,
    },
    CancelRequested(Vec<LeaseRef>),
    /// A worker's poll: completions, and a claim when a worker is given.
    Poll {
        completions: Vec<(LeaseRef, serde_json::Value)>,
        claim: Option<(String, u32)>,
    },
    Progress {
        lease: LeaseRef,
        progress: Progress,
    },
    Complete {
        lease: LeaseRef,
        result: serde_json::Value,
    },
    Fail {
        lease: LeaseRef,
        failure: Failure,
    },
    Release(LeaseRef),
    MarkCancelled(LeaseRef),
    Cancel(JobRef),
    RescueExpired,
    Retry(JobRef),
    QueuePosition(JobRef),
    QueuePositions(Vec<JobRef>),
    Get(JobRef),
    List {
        status: Option<JobStatus>,
        job_type: Option<String>,
        correlation_id: Option<String>,
        queue: Option<String>,
        search: Option<String>,
        limit: u32,
        cursor: Option<JobRef>,
    },
    CountByStatus,
    CountByType,
    Advance(chrono::Duration),
}

fn one_of(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(names).prop_map(str::to_string)
}

/// Any text at all: control characters (NUL included), any script, or
/// nothing.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "(?s).{0,12}",
        1 => "[a-z\\x00-\\x1f ]{0,6}",
    ]
}

/// Mostly one of `names`, and now and then any text.
fn name(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![9 => one_of(names), 1 => any_text()]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let number = prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        number.prop_map(Value::from),
        any_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(any_text(), inner, 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Mostly small params or results; now and then any JSON.
fn json() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        4 => (0u32..1000).prop_map(|n| json!({ "n": n })),
        1 => json_value(),
    ]
}

fn valid_job() -> impl Strategy<Value = JobSpec> {
    let when = prop_oneof![
        3 => Just(When::Now),
        1 => (0u64..20_000).prop_map(|ms| When::After(Duration::from_millis(ms))),
        1 => (-20_000_000i64..40_000_000).prop_map(|us| When::At(chrono::Duration::microseconds(us))),
    ];
    (
        name(&JOB_TYPES),
        json(),
        when,
        1u32..=3,
        prop::option::weighted(0.3, name(&CORRELATION_IDS)),
        (
            prop::option::weighted(0.5, one_of(&QUEUES)),
            prop_oneof![2 => Just(5u8), 1 => 0u8..=9],
            prop::option::weighted(0.3, (one_of(&UNIQUE_KEYS), unique_scope())),
        ),
    )
        .prop_map(
            |(job_type, params, when, max_attempts, correlation_id, (queue, priority, unique))| {
                JobSpec {
                    job_type,
                    params,
                    when,
                    max_attempts,
                    correlation_id,
                    queue,
                    priority,
                    unique,
                }
            },
        )
}

fn unique_scope() -> impl Strategy<Value = UniqueScope> {
    prop_oneof![
        Just(UniqueScope::WhilePending),
        Just(UniqueScope::WhileActive),
        (0u64..20_000).prop_map(|ms| UniqueScope::UntilFinishedPlus(Duration::from_millis(ms))),
    ]
}

/// Mostly valid jobs; now and then one the store must refuse.
fn job_spec() -> impl Strategy<Value = JobSpec> {
    let invalid = prop_oneof![
        valid_job().prop_map(|job| JobSpec {
            job_type: String::new(),
            ..job
        }),
        valid_job().prop_map(|job| JobSpec {
            job_type: "  ".into(),
            ..job
        }),
        valid_job().prop_map(|job| JobSpec {
            max_attempts: 0,
            ..job
        }),
        valid_job().prop_map(|job| JobSpec {
            correlation_id: Some(String::new()),
            ..job
        }),
        valid_job().prop_map(|job| JobSpec {
            priority: 10,
            ..job
        }),
        valid_job().prop_map(|job| JobSpec {
            queue: Some("no spaces".into()),
            ..job
        }),
    ];
    prop_oneof![12 => valid_job(), 1 => invalid]
}

/// How far back from the newest to pick: often the newest, which is the
/// likeliest to be live.
fn back() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 1 => 0usize..64]
}

fn job_ref() -> impl Strategy<Value = JobRef> {
    prop_oneof![
        19 => back().prop_map(JobRef::Created),
        1 => Just(JobRef::Missing),
    ]
}

fn lease_ref() -> impl Strategy<Value = LeaseRef> {
    prop_oneof![
        17 => back().prop_map(LeaseRef::Issued),
        2 => back().prop_map(LeaseRef::NextAttempt),
        1 => Just(LeaseRef::Missing),
    ]
}

fn worker() -> impl Strategy<Value = String> {
    prop_oneof![39 => name(&WORKERS), 1 => Just(String::new())]
}

/// Leases of 5 to 30 seconds, and now and then an invalid empty one.
fn lease_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        39 => (5_000u64..=30_000).prop_map(Duration::from_millis),
        1 => Just(Duration::ZERO),
    ]
}

fn progress() -> impl Strategy<Value = Progress> {
    let stage = prop_oneof![
        9 => name(&["downloading", "encoding"]),
        1 => Just(String::new()),
    ];
    let percent = prop_oneof![
        2 => Just(None),
        6 => (0.0f32..=100.0).prop_map(Some),
        1 => Just(Some(100.0)),
        1 => prop::sample::select(&[150.0f32, -1.0, f32::NAN][..]).prop_map(Some),
    ];
    (stage, percent).prop_map(|(stage, percent)| Progress { stage, percent })
}

fn failure() -> impl Strategy<Value = Failure> {
    prop_oneof![
        name(&["bad input"]).prop_map(Failure::permanent),
        (name(&["connection reset"]), 0u64..20_000).prop_map(|(message, ms)| {
            Failure::transient(message).retry_after(Duration::from_millis(ms))
        }),
    ]
}

fn status() -> impl Strategy<Value = JobStatus> {
    prop::sample::select(&JobStatus::ALL[..])
}

fn list_op() -> impl Strategy<Value = Op> {
    let limit = prop_oneof![19 => 1u32..=5, 1 => Just(0u32)];
    (
        prop::option::of(status()),
        prop::option::weighted(0.2, one_of(&JOB_TYPES)),
        prop::option::weighted(0.2, one_of(&CORRELATION_IDS)),
        (
            prop::option::weighted(0.2, one_of(&QUEUES)),
            prop::option::weighted(0.2, one_of(&SEARCHES)),
        ),
        limit,
        prop::option::weighted(0.3, job_ref()),
    )
        .prop_map(
            |(status, job_type, correlation_id, (queue, search), limit, cursor)| Op::List {
                status,
                job_type,
                correlation_id,
                queue,
                search,
                limit,
                cursor,
            },
        )
}

fn claim_op() -> impl Strategy<Value = Op> {
    let limit = prop_oneof![39 => 1u32..=4, 1 => Just(0u32)];
    let queues = prop_oneof![
        3 => limit.clone().prop_map(|n| vec![("default".to_string(), n)]),
        2 => (limit.clone(), limit).prop_map(|(a, b)| vec![
            ("default".to_string(), a),
            ("video".to_string(), b),
        ]),
        1 => (0u32..=4).prop_map(|n| vec![("video".to_string(), n)]),
    ];
    let types: Vec<String> = JOB_TYPES
        .iter()
        .chain(&[UNKNOWN_TYPE])
        .map(|t| t.to_string())
        .collect();
    let job_types = prop::option::weighted(0.3, prop::sample::subsequence(types, 0..=2));
    (worker(), queues, job_types, lease_duration()).prop_map(
        |(worker, queues, job_types, lease)| Op::Claim {
            worker,
            queues,
            job_types,
            lease,
        },
    )
}

/// Clock moves of whole seconds, or of any microseconds, so that
/// truncation to milliseconds is exercised.
fn advance() -> impl Strategy<Value = chrono::Duration> {
    prop_oneof![
        (0i64..=40).prop_map(chrono::Duration::seconds),
        (0i64..=40_000_000).prop_map(chrono::Duration::microseconds),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => job_spec().prop_map(Op::Create),
        2 => prop::collection::vec(job_spec(), 0..5).prop_map(Op::CreateMany),
        6 => claim_op(),
        2 => (job_ref(), worker(), lease_duration())
            .prop_map(|(job, worker, lease)| Op::ClaimJob { job, worker, lease }),
        2 => (lease_ref(), 0u64..=30_000).prop_map(|(lease, ms)| Op::Heartbeat {
            lease,
            extend_by: Duration::from_millis(ms),
        }),
        2 => (prop::collection::vec(lease_ref(), 0..4), 0u64..=30_000).prop_map(|(leases, ms)| {
            Op::HeartbeatMany {
                leases,
                extend_by: Duration::from_millis(ms),
            }
        }),
        1 => prop::collection::vec(lease_ref(), 0..4).prop_map(Op::CancelRequested),
        3 => (
            prop::collection::vec((lease_ref(), json()), 0..4),
            prop::option::of((worker(), 1u32..4)),
        )
            .prop_map(|(completions, claim)| Op::Poll { completions, claim }),
        2 => (lease_ref(), progress()).prop_map(|(lease, progress)| Op::Progress { lease, progress }),
        3 => (lease_ref(), json()).prop_map(|(lease, result)| Op::Complete { lease, result }),
        4 => (lease_ref(), failure()).prop_map(|(lease, failure)| Op::Fail { lease, failure }),
        1 => lease_ref().prop_map(Op::Release),
        1 => lease_ref().prop_map(Op::MarkCancelled),
        2 => job_ref().prop_map(Op::Cancel),
        2 => Just(Op::RescueExpired),
        2 => job_ref().prop_map(Op::Retry),
        1 => job_ref().prop_map(Op::QueuePosition),
        1 => prop::collection::vec(job_ref(), 0..4).prop_map(Op::QueuePositions),
        1 => job_ref().prop_map(Op::Get),
        2 => list_op(),
        1 => Just(Op::CountByStatus),
        1 => Just(Op::CountByType),
        3 => advance().prop_map(Op::Advance),
        1 => (one_of(&QUEUES), prop::bool::weighted(0.6))
            .prop_map(|(queue, paused)| Op::SetPaused { queue, paused }),
        1 => (one_of(&QUEUES), prop::option::weighted(0.7, 0u32..=3))
            .prop_map(|(queue, limit)| Op::SetLimit { queue, limit }),
        1 => Just(Op::Queues),
    ]
}

/// What an operation returned, with ids named by creation order.
#[derive(Debug, PartialEq)]
enum Seen {
    Done,
    Job(Box<Job>),
    Enqueued(Vec<(Job, bool)>),
    Queues(Vec<QueueInfo>),
    Queue(QueueInfo),
    Claimed(Vec<Claimed>),
    Heartbeat(Heartbeat),
    Failed(FailOutcome),
    Cancel(CancelOutcome),
    Rescued(RescueSummary),
    Position(Option<u64>),
    Positions(Vec<Option<u64>>),
    Beats(Vec<Result<Heartbeat, Refusal>>),
    Leases(Vec<Lease>),
    Polled {
        completed: Vec<Result<(), Refusal>>,
        claimed: Vec<Claimed>,
        chores: Chores,
    },
    Page(JobPage),
    Counts(StatusCounts),
    TypeCounts(BTreeMap<String, StatusCounts>),
}

/// Why an operation was refused, with ids named by creation order.
#[derive(Debug, PartialEq)]
enum Refusal {
    NotFound(JobId),
    LeaseLost {
        id: JobId,
        attempt: u32,
        current_attempt: u32,
        status: JobStatus,
    },
    InvalidTransition {
        id: JobId,
        action: &'static str,
        status: JobStatus,
    },
    InvalidInput(String),
    /// Any other error: never expected, and shown in full.
    Other(String),
}

type Outcome = Result<Seen, Refusal>;

/// One store under test, with the ids and leases it handed out so far.
struct Backend {
    name: &'static str,
    store: Arc<dyn JobStore>,
    clock: ManualClock,
    /// Every job id, in creation order.
    ids: Vec<JobId>,
    /// Every lease, in the order they were handed out.
    leases: Vec<Lease>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn memory() -> Self {
        let clock = ManualClock::new(start());
        let store = MemoryStore::with_clock(Arc::new(clock.clone()));
        Self::new("memory", Arc::new(store), clock, None)
    }

    async fn sqlite() -> Self {
        let clock = ManualClock::new(start());
        let dir = tempfile::tempdir().expect("temp dir");
        let config = SqliteConfig::new(dir.path().join("jobs.db")).clock(Arc::new(clock.clone()));
        let store = SqliteStore::open_with(config)
            .await
            .expect("open sqlite store");
        Self::new("sqlite", Arc::new(store), clock, Some(dir))
    }

    #[cfg(feature = "libsql")]
    async fn libsql() -> Self {
        let clock = ManualClock::new(start());
        let dir = tempfile::tempdir().expect("temp dir");
        let config = LibsqlConfig::local(dir.path().join("jobs.db")).clock(Arc::new(clock.clone()));
        let store = LibsqlStore::open_with(config)
            .await
            .expect("open libsql store");
        Self::new("libsql", Arc::new(store), clock, Some(dir))
    }

    /// On the shared libSQL server (emptied first; see `sqld::shared`).
    #[cfg(feature = "libsql")]
    async fn libsql_remote() -> Self {
        let (url, token) = tokio::task::spawn_blocking(sqld::shared)
            .await
            .expect("the server");
        let clock = ManualClock::new(start());
        let config =
            LibsqlConfig::remote(url.clone(), token.clone()).clock(Arc::new(clock.clone()));
        let store = LibsqlStore::open_with(config)
            .await
            .expect("open remote libsql store");
        empty_server(&url, &token).await;
        Self::new("libsql server", Arc::new(store), clock, None)
    }

    fn new(
        name: &'static str,
        store: Arc<dyn JobStore>,
        clock: ManualClock,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        Backend {
            name,
            store,
            clock,
            ids: Vec::new(),
            leases: Vec::new(),
            _dir: dir,
        }
    }

    fn job_id(&self, job: JobRef) -> JobId {
        let created = match job {
            JobRef::Created(back) => newest(&self.ids, back),
            JobRef::Missing => None,
        };
        created.unwrap_or_else(missing_id)
    }

    fn lease(&self, lease: LeaseRef) -> Lease {
        let issued = match lease {
            LeaseRef::Issued(back) => newest(&self.leases, back),
            LeaseRef::NextAttempt(back) => newest(&self.leases, back).map(|lease| Lease {
                attempt: lease.attempt + 1,
                ..lease
            }),
            LeaseRef::Missing => None,
        };
        issued.unwrap_or(Lease {
            job_id: missing_id(),
            attempt: 1,
        })
    }

    /// Runs `op`, and reports what it returned in terms every backend
    /// shares.
    async fn step(&mut self, op: &Op) -> Outcome {
        match self.apply(op).await {
            Ok(seen) => Ok(self.shared_seen(seen)),
            Err(error) => Err(self.refusal(error)),
        }
    }

    /// Every job in the store, newest first.
    async fn snapshot(&self) -> Outcome {
        let all = ListQuery::default().limit(ListQuery::MAX_LIMIT);
        match self.store.list(&all).await {
            Ok(page) => Ok(self.shared_seen(Seen::Page(page))),
            Err(error) => Err(self.refusal(error)),
        }
    }

    async fn apply(&mut self, op: &Op) -> StoreResult<Seen> {
        let store = Arc::clone(&self.store);
        Ok(match op {
            Op::Create(spec) => {
                let enqueued = store.enqueue(spec.build(self.clock.now())).await?;
                self.note_enqueued(std::slice::from_ref(&enqueued));
                Seen::Enqueued(vec![(enqueued.job, enqueued.existing)])
            }
            Op::CreateMany(specs) => {
                let now = self.clock.now();
                let enqueued = store
                    .enqueue_many(specs.iter().map(|spec| spec.build(now)).collect())
                    .await?;
                self.note_enqueued(&enqueued);
                Seen::Enqueued(enqueued.into_iter().map(|e| (e.job, e.existing)).collect())
            }
            Op::SetPaused { queue, paused } => {
                Seen::Queue(store.set_queue_paused(queue, *paused).await?)
            }
            Op::SetLimit { queue, limit } => {
                Seen::Queue(store.set_queue_limit(queue, *limit).await?)
            }
            Op::Queues => Seen::Queues(store.queues().await?),
            Op::Claim {
                worker,
                queues,
                job_types,
                lease,
            } => {
                let mut request = ClaimRequest::from_queues(worker.clone(), queues.clone())
                    .lease_duration(*lease);
                request.job_types = job_types.clone();
                let claimed = store.claim(&request).await?;
                self.leases.extend(claimed.iter().map(|c| c.lease));
                Seen::Claimed(claimed)
            }
            Op::ClaimJob { job, worker, lease } => {
                let claimed = store.claim_job(self.job_id(*job), worker, *lease).await?;
                self.leases.push(claimed.lease);
                Seen::Claimed(vec![claimed])
            }
            Op::Heartbeat { lease, extend_by } => {
                Seen::Heartbeat(store.heartbeat(&self.lease(*lease), *extend_by).await?)
            }
            Op::HeartbeatMany { leases, extend_by } => {
                let leases: Vec<Lease> = leases.iter().map(|l| self.lease(*l)).collect();
                let beats = store.heartbeat_many(&leases, *extend_by).await?;
                Seen::Beats(
                    beats
                        .into_iter()
                        .map(|beat| beat.map_err(|e| self.refusal(e)))
                        .collect(),
                )
            }
            Op::CancelRequested(leases) => {
                let leases: Vec<Lease> = leases.iter().map(|l| self.lease(*l)).collect();
                let requested = store.cancel_requested(&leases).await?;
                Seen::Leases(
                    requested
                        .into_iter()
                        .map(|l| self.shared_lease(l))
                        .collect(),
                )
            }
            Op::Poll { completions, claim } => {
                let completions: Vec<Completion> = completions
                    .iter()
                    .map(|(lease, result)| Completion::new(self.lease(*lease), result.clone()))
                    .collect();
                let request = claim
                    .as_ref()
                    .map(|(worker, limit)| ClaimRequest::new(worker.clone(), *limit));
                let polled = store.poll(completions, request.as_ref()).await?;
                self.leases
                    .extend(polled.exchange.claimed.iter().map(|c| c.lease));
                Seen::Polled {
                    completed: polled
                        .exchange
                        .completed
                        .into_iter()
                        .map(|done| done.map_err(|e| self.refusal(e)))
                        .collect(),
                    claimed: polled.exchange.claimed,
                    chores: polled.chores,
                }
            }
            Op::Progress { lease, progress } => {
                store.progress(&self.lease(*lease), progress).await?;
                Seen::Done
            }
            Op::Complete { lease, result } => {
                store.complete(&self.lease(*lease), result.clone()).await?;
                Seen::Done
            }
            Op::Fail { lease, failure } => {
                Seen::Failed(store.fail(&self.lease(*lease), failure).await?)
            }
            Op::Release(lease) => {
                store.release(&self.lease(*lease)).await?;
                Seen::Done
            }
            Op::MarkCancelled(lease) => {
                store.mark_cancelled(&self.lease(*lease)).await?;
                Seen::Done
            }
            Op::Cancel(job) => Seen::Cancel(store.cancel(self.job_id(*job)).await?),
            Op::RescueExpired => Seen::Rescued(store.rescue_expired().await?),
            Op::Retry(job) => {
                let job = store.retry(self.job_id(*job)).await?;
                self.ids.push(job.id);
                Seen::Job(Box::new(job))
            }
            Op::QueuePosition(job) => {
                Seen::Position(store.queue_position(self.job_id(*job)).await?)
            }
            Op::QueuePositions(jobs) => {
                let ids: Vec<JobId> = jobs.iter().map(|job| self.job_id(*job)).collect();
                Seen::Positions(store.queue_positions(&ids).await?)
            }
            Op::Get(job) => Seen::Job(Box::new(store.get(self.job_id(*job)).await?)),
            Op::List {
                status,
                job_type,
                correlation_id,
                queue,
                search,
                limit,
                cursor,
            } => {
                let query = ListQuery {
                    status: *status,
                    job_type: job_type.clone(),
                    correlation_id: correlation_id.clone(),
                    queue: queue.clone(),
                    search: search.clone(),
                    limit: *limit,
                    cursor: cursor.map(|job| self.job_id(job)),
                };
                Seen::Page(store.list(&query).await?)
            }
            Op::CountByStatus => Seen::Counts(store.count_by_status().await?),
            Op::CountByType => Seen::TypeCounts(store.count_by_type().await?),
            Op::Advance(by) => {
                self.clock.advance(*by);
                Seen::Done
            }
        })
    }

    /// The id every backend gives the same job: its place in creation
    /// order. An id this backend never created is kept as it is.
    /// Notes the ids of the jobs an enqueue created (not those it found).
    fn note_enqueued(&mut self, enqueued: &[Enqueued]) {
        for e in enqueued {
            if !e.existing && !self.ids.contains(&e.job.id) {
                self.ids.push(e.job.id);
            }
        }
    }

    fn shared_id(&self, id: JobId) -> JobId {
        match self.ids.iter().position(|known| *known == id) {
            Some(place) => JobId::from(Uuid::from_u128(place as u128 + 1)),
            None => id,
        }
    }

    fn shared_lease(&self, lease: Lease) -> Lease {
        Lease {
            job_id: self.shared_id(lease.job_id),
            attempt: lease.attempt,
        }
    }

    fn shared_claimed(&self, claimed: Vec<Claimed>) -> Vec<Claimed> {
        claimed
            .into_iter()
            .map(|c| Claimed {
                job: self.shared_job(c.job),
                lease: self.shared_lease(c.lease),
            })
            .collect()
    }

    fn shared_job(&self, job: Job) -> Job {
        Job {
            id: self.shared_id(job.id),
            retry_of: job.retry_of.map(|id| self.shared_id(id)),
            ..job
        }
    }

    fn shared_seen(&self, seen: Seen) -> Seen {
        match seen {
            Seen::Job(job) => Seen::Job(Box::new(self.shared_job(*job))),
            Seen::Enqueued(jobs) => Seen::Enqueued(
                jobs.into_iter()
                    .map(|(j, existing)| (self.shared_job(j), existing))
                    .collect(),
            ),
            Seen::Claimed(claimed) => Seen::Claimed(self.shared_claimed(claimed)),
            Seen::Polled {
                completed,
                claimed,
                chores,
            } => Seen::Polled {
                completed,
                claimed: self.shared_claimed(claimed),
                chores,
            },
            Seen::Page(page) => Seen::Page(JobPage {
                jobs: page.jobs.into_iter().map(|j| self.shared_job(j)).collect(),
                next_cursor: page.next_cursor.map(|id| self.shared_id(id)),
            }),
            other => other,
        }
    }

    fn refusal(&self, error: StoreError) -> Refusal {
        match error {
            StoreError::NotFound(id) => Refusal::NotFound(self.shared_id(id)),
            StoreError::LeaseLost {
                id,
                attempt,
                current_attempt,
                status,
            } => Refusal::LeaseLost {
                id: self.shared_id(id),
                attempt,
                current_attempt,
                status,
            },
            StoreError::InvalidTransition { id, action, status } => Refusal::InvalidTransition {
                id: self.shared_id(id),
                action,
                status,
            },
            StoreError::InvalidInput(message) => Refusal::InvalidInput(message),
            other => Refusal::Other(other.to_string()),
        }
    }
}

/// Runs `ops` on the model and on both SQL backends, and fails at the first
/// step any backend observes differently; otherwise returns what each step
/// returned.
async fn check(ops: &[Op]) -> Result<Vec<Outcome>, TestCaseError> {
    let mut model = Backend::memory();
    #[allow(unused_mut)]
    let mut backends = vec![Backend::sqlite().await];
    #[cfg(feature = "libsql")]
    {
        backends.push(Backend::libsql().await);
        backends.push(Backend::libsql_remote().await);
    }
    let mut outcomes = Vec::with_capacity(ops.len());
    for (step, op) in ops.iter().enumerate() {
        let expected = model.step(op).await;
        for backend in &mut backends {
            let observed = backend.step(op).await;
            prop_assert_eq!(
                &observed,
                &expected,
                "{} differs from the model at step {}: {:?}",
                backend.name,
                step,
                op
            );
        }
        let jobs = model.snapshot().await;
        for backend in &backends {
            let observed = backend.snapshot().await;
            prop_assert_eq!(
                &observed,
                &jobs,
                "{}'s jobs differ from the model's after step {}: {:?}",
                backend.name,
                step,
                op
            );
        }
        outcomes.push(expected);
    }
    Ok(outcomes)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Replays one sequence, panicking with the divergence if there is one;
/// otherwise returns what each step returned.
fn replay(ops: &[Op]) -> Vec<Outcome> {
    let _turn = server_turn();
    runtime()
        .block_on(check(ops))
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The tests of this file take turns, as they share the server.
fn server_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Deletes every job and schedule on the server.
#[cfg(feature = "libsql")]
async fn empty_server(url: &str, token: &str) {
    let url = format!("{}/v3/pipeline", url.trim_end_matches('/'));
    let execute = |sql: &str| json!({ "type": "execute", "stmt": { "sql": sql } });
    let body = json!({
        "baton": null,
        "requests": [execute("DELETE FROM jobs"), execute("DELETE FROM job_attempts"), execute("DELETE FROM cron_jobs"), execute("DELETE FROM queues"), execute("DELETE FROM workers"), { "type": "close" }],
    });
    let mut request = reqwest::Client::new().post(url).json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let answer: serde_json::Value = request
        .send()
        .await
        .expect("reach the server")
        .json()
        .await
        .expect("a JSON answer");
    let results = answer["results"].as_array().expect("results");
    assert!(
        results.iter().all(|r| r["type"] == "ok"),
        "emptying the server failed: {answer}"
    );
}

/// 64 cases unless `PROPTEST_CASES` says otherwise; failures are saved in
/// `proptest-regressions/model.txt`.
fn config() -> ProptestConfig {
    let base = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        base.cases
    } else {
        64
    };
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model.txt",
        ))),
        ..base
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_backend_observes_what_the_model_does(ops in prop::collection::vec(op(), 1..60)) {
        let _turn = server_turn();
        runtime().block_on(check(&ops))?;
    }
}

/// A valid job of `job_type`, claimable now.
fn job(job_type: &str) -> JobSpec {
    JobSpec {
        job_type: job_type.into(),
        params: json!({ "n": 1 }),
        when: When::Now,
        max_attempts: 2,
        correlation_id: None,
        queue: None,
        priority: 5,
        unique: None,
    }
}

fn claim_one(worker: &str) -> Op {
    Op::Claim {
        worker: worker.into(),
        queues: vec![("default".into(), 1)],
        job_types: None,
        lease: Duration::from_secs(5),
    }
}

#[test]
fn a_sequence_touching_every_operation_agrees() {
    let newest = JobRef::Created(0);
    let lease = LeaseRef::Issued(0);
    replay(&[
        Op::Create(JobSpec {
            correlation_id: Some("batch-a".into()),
            ..job("email")
        }),
        claim_one("worker-a"),
        Op::Progress {
            lease,
            progress: Progress::percent("downloading", 150.0),
        },
        Op::Progress {
            lease,
            progress: Progress::percent("downloading", 33.3),
        },
        Op::Heartbeat {
            lease,
            extend_by: Duration::from_secs(5),
        },
        Op::Advance(chrono::Duration::seconds(6)),
        Op::RescueExpired,
        Op::Complete {
            lease,
            result: json!({ "n": 1 }),
        },
        Op::ClaimJob {
            job: newest,
            worker: "worker-b".into(),
            lease: Duration::from_secs(5),
        },
        Op::Cancel(newest),
        Op::Fail {
            lease,
            failure: Failure::transient("connection reset"),
        },
        Op::Retry(newest),
        Op::QueuePosition(newest),
        Op::List {
            status: None,
            job_type: None,
            correlation_id: Some("batch-a".into()),
            queue: None,
            search: Some(" RESET ".into()),
            limit: 1,
            cursor: None,
        },
        Op::CountByStatus,
        Op::CountByType,
    ]);
}

/// Queues, priorities, unique keys, pauses and limits, in one sequence
/// every backend must agree on.
#[test]
fn a_sequence_touching_queues_priorities_and_unique_keys_agrees() {
    let video = |priority: u8| JobSpec {
        queue: Some("video".into()),
        priority,
        ..job("resize")
    };
    let unique = |scope: UniqueScope| JobSpec {
        unique: Some(("key-a".into(), scope)),
        ..job("email")
    };
    let claim = |queues: &[(&str, u32)]| Op::Claim {
        worker: "worker-a".into(),
        queues: queues.iter().map(|(q, n)| (q.to_string(), *n)).collect(),
        job_types: None,
        lease: Duration::from_secs(5),
    };
    let outcomes = replay(&[
        Op::CreateMany(vec![video(7), video(2), video(2), job("email")]),
        Op::QueuePositions(vec![
            JobRef::Created(0),
            JobRef::Created(1),
            JobRef::Created(2),
            JobRef::Created(3),
        ]),
        Op::SetLimit {
            queue: "video".into(),
            limit: Some(1),
        },
        claim(&[("video", 3), ("default", 1)]),
        claim(&[("video", 3)]),
        Op::SetPaused {
            queue: "default".into(),
            paused: true,
        },
        Op::Create(job("report")),
        claim(&[("default", 2)]),
        Op::Queues,
        Op::SetPaused {
            queue: "default".into(),
            paused: false,
        },
        Op::CreateMany(vec![
            unique(UniqueScope::WhileActive),
            unique(UniqueScope::WhileActive),
        ]),
        Op::Create(unique(UniqueScope::WhilePending)),
        claim(&[("default", 4)]),
        Op::Create(unique(UniqueScope::WhileActive)),
        Op::Queues,
    ]);
    // The video queue's limit of one let one job start, the first by
    // priority; the paused default queue gave nothing.
    let Ok(Seen::Claimed(first)) = &outcomes[3] else {
        panic!("{:?}", outcomes[3]);
    };
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        (first[0].job.queue.as_str(), first[0].job.priority),
        ("video", 2)
    );
    let Ok(Seen::Claimed(second)) = &outcomes[4] else {
        panic!("{:?}", outcomes[4]);
    };
    assert!(second.is_empty(), "the limit holds: {second:?}");
    let Ok(Seen::Claimed(paused)) = &outcomes[7] else {
        panic!("{:?}", outcomes[7]);
    };
    assert!(
        paused.is_empty(),
        "a paused queue gives nothing: {paused:?}"
    );
    let Ok(Seen::Enqueued(pair)) = &outcomes[10] else {
        panic!("{:?}", outcomes[10]);
    };
    assert_eq!((pair[0].1, pair[1].1), (false, true));
    assert_eq!(
        pair[0].0.id, pair[1].0.id,
        "the second answers with the first"
    );
    let Ok(Seen::Enqueued(pending)) = &outcomes[11] else {
        panic!("{:?}", outcomes[11]);
    };
    assert!(pending[0].1, "the key is held by the pending job");
}

/// Found by the model check: the local libSQL backend read text only up to
/// its first NUL character, so a worker id "\0" came back as "" in the
/// claimed job (and in every later read).
#[test]
fn a_worker_id_holding_nul_reads_back_whole() {
    replay(&[
        Op::Create(JobSpec {
            when: When::At(chrono::Duration::zero()),
            max_attempts: 1,
            params: json!({ "n": 0 }),
            ..job("email")
        }),
        claim_one("\0"),
    ]);
}

/// The other text a caller chooses, read back whole on every backend.
#[test]
fn stage_error_and_correlation_id_holding_nul_read_back_whole() {
    let lease = LeaseRef::Issued(0);
    let outcomes = replay(&[
        Op::Create(JobSpec {
            correlation_id: Some("batch\0a".into()),
            ..job("email")
        }),
        claim_one("worker-a"),
        Op::Progress {
            lease,
            progress: Progress::indeterminate("\0stage"),
        },
        Op::Fail {
            lease,
            failure: Failure::permanent("bad\0input"),
        },
        Op::Get(JobRef::Created(0)),
    ]);
    let Some(Ok(Seen::Job(failed))) = outcomes.last() else {
        panic!("the job was not read back: {outcomes:?}");
    };
    assert_eq!(failed.stage.as_deref(), Some("\0stage"));
    assert_eq!(failed.error.as_deref(), Some("bad\0input"));
    assert_eq!(failed.correlation_id.as_deref(), Some("batch\0a"));
}

/// Found by the model check: the memory store accepted a job type "\0",
/// which the SQL backends' schema refuses (SQLite's `length` stops at a
/// NUL) with a database error. A job type with a control character is
/// now invalid input on every backend, as a cron schedule name is.
#[test]
fn a_job_type_holding_a_control_character_is_refused_everywhere() {
    let outcomes = replay(&[
        Op::Create(JobSpec {
            params: json!({ "n": 0 }),
            max_attempts: 1,
            ..job("\0")
        }),
        Op::Create(job("report\n")),
        Op::CreateMany(vec![job("email"), job("re\tsize")]),
        Op::CountByStatus,
    ]);
    for outcome in &outcomes[..3] {
        assert!(
            matches!(outcome, Err(Refusal::InvalidInput(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(outcomes[3], Ok(Seen::Counts(StatusCounts::default())));
}
