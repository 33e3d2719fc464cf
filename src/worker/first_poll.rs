//! Starting an attempt on the loop's own thread when that is cheaper than
//! handing it to another.
//!
//! The loop runs on a thread of its own and its attempts run as tasks on
//! the runtime's threads. Handing a task over costs the loop a wake-up of
//! another thread and a wait for the report to come back, which for a
//! short job is more than the job itself. So the loop may poll a new
//! attempt once where it is: a job that finishes in that first poll has
//! handed its result over before the loop moves on, with no thread
//! between; one that has to wait for something continues as a task on the
//! runtime, woken from then on wherever its wake-ups land.
//!
//! Only job types whose first poll has been measured cheap are started
//! like this, so that a handler that computes or blocks before its first
//! `.await` does not hold up the loop: a type's first job runs as a task,
//! and the loop keeps a running average of how long each type's first
//! poll took, measured where it ran (the loop's thread or a runtime's). A
//! type starts on the loop's thread while that average is at most the
//! worker's [`inline_start_limit`](super::WorkerConfig::inline_start_limit);
//! one slow first poll lifts the average at once (it falls back slowly),
//! and after a panic the type starts as a task again until measured anew.
//! What the loop still risks is one slow first poll of a type that has
//! been quick so far.
//!
//! A poll is timed by the clock on the wall, but a thread that was only
//! preempted meanwhile (on a busy machine, another thread ran on its
//! core) did not make the poll slow: when the wall time is over the limit
//! and the thread neither waited for anything (no voluntary context
//! switch) nor used that much CPU, the poll counts as the CPU time it
//! used. A handler that sleeps, blocks on I/O or a lock, or computes for
//! long still counts as slow.
//!
//! Reading the thread's usage is a system call, which for a job that ends
//! in its first poll costs about as much as the job: the loop reads it at
//! most once per quarter of the limit, and the polls it starts in that
//! time share the reading. A poll's CPU time is then counted from a
//! reading up to a quarter of the limit before it, which can only make it
//! look slower, never faster.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use nix::sys::resource::{getrusage, Usage, UsageWho};
use tokio::task::coop::unconstrained;

/// How much one new measurement below the average moves it down (1/8th
/// of the way); one above it replaces it.
const WEIGHT_SHIFT: u32 = 3;

/// The average first-poll time of each job type the loop has started.
pub(super) struct FirstPolls {
    /// The longest average that still starts a type on the loop's thread.
    limit: Duration,
    /// Each type's average.
    by_type: HashMap<String, Arc<Cost>>,
    /// The loop thread's usage as last read, and when.
    reading: Option<(Instant, Option<Usage>)>,
}

impl FirstPolls {
    /// No type measured yet; types whose average is at most `limit` start
    /// on the loop's thread (none, with a zero limit).
    pub(super) fn new(limit: Duration) -> Self {
        FirstPolls {
            limit,
            by_type: HashMap::new(),
            reading: None,
        }
    }

    /// A stopwatch for a poll on the loop's thread, started at `now` (just
    /// read), with the thread's usage read now or shared from a reading at
    /// most a quarter of the limit before `now`.
    pub(super) fn stopwatch(&mut self, now: Instant) -> Stopwatch {
        let usage = match self.reading {
            Some((at, usage)) if now.duration_since(at) <= self.limit / 4 => usage,
            _ => {
                let usage = getrusage(UsageWho::RUSAGE_THREAD).ok();
                self.reading = Some((now, usage));
                usage
            }
        };
        Stopwatch {
            started: now,
            usage,
        }
    }

    /// Whether jobs may start on the loop's thread at all (a zero limit
    /// starts every job as a task, unmeasured).
    pub(super) fn enabled(&self) -> bool {
        !self.limit.is_zero()
    }

    /// Whether a job with this cost may start on the loop's thread.
    pub(super) fn is_cheap(&self, cost: &Cost) -> bool {
        self.enabled() && cost.average().is_some_and(|average| average <= self.limit)
    }

    /// The cost record of `job_type`, made on its first job.
    pub(super) fn cost(&mut self, job_type: &str) -> Arc<Cost> {
        if let Some(cost) = self.by_type.get(job_type) {
            return Arc::clone(cost);
        }
        let cost = Arc::new(Cost::new(self.limit));
        self.by_type.insert(job_type.to_string(), Arc::clone(&cost));
        cost
    }
}

/// The running average of one job type's first poll, in nanoseconds
/// (`u64::MAX` before the first measurement and after a panic).
pub(super) struct Cost {
    average: AtomicU64,
    /// Polls up to this long on the wall are taken as timed; longer ones
    /// are looked at more closely (see [`Stopwatch`]).
    limit: Duration,
}

impl Cost {
    /// Nothing measured yet, for a loop with this limit.
    fn new(limit: Duration) -> Self {
        Cost {
            average: AtomicU64::new(u64::MAX),
            limit,
        }
    }

    /// Records the poll `stopwatch` timed.
    fn record_timed(&self, stopwatch: Stopwatch) {
        self.record(stopwatch.took(self.limit));
    }

    /// The average so far; `None` before the first measurement and after
    /// a panic.
    fn average(&self) -> Option<Duration> {
        match self.average.load(Ordering::Relaxed) {
            u64::MAX => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Adds one measurement: a poll slower than the average replaces it, a
    /// faster one moves it down by an eighth of the difference.
    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_nanos())
            .unwrap_or(u64::MAX)
            .min(u64::MAX - 1);
        // Measurements from several threads may race; the update is
        // retried until it applies to the average it read.
        let _ = self
            .average
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
                Some(if average == u64::MAX || sample >= average {
                    sample
                } else {
                    average - ((average - sample) >> WEIGHT_SHIFT)
                })
            });
    }

    /// Rules the type out of starting on the loop's thread: its first
    /// poll panicked.
    fn rule_out(&self) {
        self.average.store(u64::MAX, Ordering::Relaxed);
    }
}

/// Times a poll on the thread it runs on.
pub(super) struct Stopwatch {
    started: Instant,
    /// The thread's usage when the poll started (`None` if it could not
    /// be read: the wall time counts).
    usage: Option<Usage>,
}

impl Stopwatch {
    fn start() -> Self {
        Stopwatch {
            usage: getrusage(UsageWho::RUSAGE_THREAD).ok(),
            started: Instant::now(),
        }
    }

    /// How long the poll took: its wall time, unless that is over `limit`
    /// and the thread neither waited (no voluntary context switch) nor
    /// used as much CPU meanwhile, in which case it was preempted and the
    /// CPU time it used counts.
    fn took(self, limit: Duration) -> Duration {
        let wall = self.started.elapsed();
        if wall <= limit {
            return wall;
        }
        let (Some(before), Ok(after)) = (self.usage, getrusage(UsageWho::RUSAGE_THREAD)) else {
            return wall;
        };
        if after.voluntary_context_switches() != before.voluntary_context_switches() {
            return wall;
        }
        cpu_time(&after)
            .checked_sub(cpu_time(&before))
            .map_or(wall, |cpu| cpu.min(wall))
    }
}

/// The user and system time a usage reports.
fn cpu_time(usage: &Usage) -> Duration {
    let duration = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    duration(usage.user_time()) + duration(usage.system_time())
}

/// What came of polling an attempt once on the loop's thread.
pub(super) enum Inline<F: Future> {
    /// It ended.
    Ended(F::Output),
    /// It panicked, with this message (the panic hook has reported it).
    Panicked(String),
    /// It waits for something: spawn this to continue it.
    Waiting(Continued<F>),
}

/// Polls `future` once here, timing the poll with `stopwatch` (from
/// [`FirstPolls::stopwatch`]) into `cost`, outside the cooperative budget
/// of the loop's own task (the loop may start many attempts in a row; each
/// gets the fresh budget a new task would).
pub(super) fn poll_here<F: Future>(future: F, cost: &Cost, stopwatch: Stopwatch) -> Inline<F> {
    let mut future = Box::pin(future);
    let relay = Arc::new(Relay(AtomicWaker::new()));
    let waker = Waker::from(Arc::clone(&relay));
    let polled = catch_unwind(AssertUnwindSafe(|| {
        let once = unconstrained(poll_fn(|cx| future.as_mut().poll(cx)));
        pin!(once).poll(&mut Context::from_waker(&waker))
    }));
    match polled {
        Ok(Poll::Ready(output)) => {
            cost.record_timed(stopwatch);
            Inline::Ended(output)
        }
        Ok(Poll::Pending) => {
            cost.record_timed(stopwatch);
            Inline::Waiting(Continued {
                future,
                relay,
                waker,
            })
        }
        Err(panic) => {
            cost.rule_out();
            // Dropped here, unwinding or not, as a task's would be.
            drop(catch_unwind(AssertUnwindSafe(move || drop(future))));
            Inline::Panicked(panic_message(&*panic))
        }
    }
}

/// The message a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// An attempt first polled on the loop's thread, to be continued as a task.
///
/// What it started waiting for during that poll holds a waker that relays
/// to whichever task polls it now; it is always polled through that same
/// waker, so every wake-up, old or new, reaches the task. (A wake-up that
/// comes before the task first runs is not lost: a new task always runs.)
pub(super) struct Continued<F: Future> {
    future: Pin<Box<F>>,
    relay: Arc<Relay>,
    waker: Waker,
}

impl<F: Future> Future for Continued<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.relay.0.register(cx.waker());
        this.future
            .as_mut()
            .poll(&mut Context::from_waker(&this.waker))
    }
}

/// Wakes the task that last registered with it.
struct Relay(AtomicWaker);

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.0.wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake();
    }
}

/// An attempt started as a task, timing its first poll into `cost`.
pub(super) struct Measured<F> {
    future: Pin<Box<F>>,
    cost: Option<Arc<Cost>>,
}

impl<F> Measured<F> {
    /// `future`, to be spawned; its first poll is timed into `cost`.
    pub(super) fn new(future: F, cost: Arc<Cost>) -> Self {
        Measured {
            future: Box::pin(future),
            cost: Some(cost),
        }
    }
}

impl<F: Future> Future for Measured<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(cost) = self.cost.take() else {
            return self.future.as_mut().poll(cx);
        };
        let stopwatch = Stopwatch::start();
        let polled = self.future.as_mut().poll(cx);
        cost.record_timed(stopwatch);
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_follows_its_measurements() {
        let polls = FirstPolls::new(Duration::from_micros(50));
        let cost = Cost::new(Duration::from_micros(50));
        assert!(
            !polls.is_cheap(&cost),
            "a type never measured starts as a task"
        );
        cost.record(Duration::from_micros(5));
        assert!(polls.is_cheap(&cost));
        cost.record(Duration::from_millis(5));
        assert!(!polls.is_cheap(&cost), "one slow poll is enough to stop");
        for _ in 0..100 {
            cost.record(Duration::from_micros(2));
        }
        assert!(polls.is_cheap(&cost), "cheap first polls bring it back");
        cost.rule_out();
        assert!(!polls.is_cheap(&cost), "ruled out");
        cost.record(Duration::from_micros(2));
        assert!(polls.is_cheap(&cost), "measured again as a task");
        let none = FirstPolls::new(Duration::ZERO);
        assert!(!none.is_cheap(&cost), "a zero limit starts nothing here");
    }

    #[test]
    fn polls_started_soon_after_a_reading_of_the_usage_share_it() {
        let reading = |polls: &FirstPolls| polls.reading.map(|(at, _)| at);
        let mut polls = FirstPolls::new(Duration::from_secs(3600));
        polls.stopwatch(Instant::now());
        let first = reading(&polls);
        assert!(first.is_some());
        polls.stopwatch(Instant::now());
        assert_eq!(reading(&polls), first, "shared within a quarter hour");

        let mut tight = FirstPolls::new(Duration::from_nanos(1));
        tight.stopwatch(Instant::now());
        let first = reading(&tight).unwrap();
        while Instant::now() == first {
            std::hint::spin_loop();
        }
        tight.stopwatch(Instant::now());
        assert!(reading(&tight).unwrap() > first, "read again once stale");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_future_continued_as_a_task_is_woken_by_what_it_waited_for_here() {
        let (tell, told) = tokio::sync::oneshot::channel::<u32>();
        let cost = Cost::new(Duration::from_micros(50));
        // The receiver registers the loop-side waker during the first poll.
        let Inline::Waiting(continued) = poll_here(told, &cost, Stopwatch::start()) else {
            panic!("the receiver cannot be ready before anything is sent");
        };
        let task = tokio::spawn(continued);
        tell.send(7).unwrap();
        let received = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the task was woken")
            .unwrap();
        assert_eq!(received.unwrap(), 7);
    }

    #[test]
    fn a_future_that_ends_in_its_first_poll_ends_here_and_a_panic_is_caught() {
        let cost = Cost::new(Duration::from_micros(50));
        assert!(matches!(
            poll_here(async { 3 }, &cost, Stopwatch::start()),
            Inline::Ended(3)
        ));
        cost.record(Duration::from_micros(5));
        let buggy = async {
            if cost.average().is_some() {
                panic!("handler bug");
            }
        };
        match poll_here(buggy, &cost, Stopwatch::start()) {
            Inline::Panicked(message) => assert_eq!(message, "handler bug"),
            _ => panic!("the panic was not caught"),
        }
        assert_eq!(cost.average(), None, "a panic rules the type out");
    }

    /// The CPU time this thread has used.
    fn thread_cpu() -> Duration {
        cpu_time(&getrusage(UsageWho::RUSAGE_THREAD).unwrap())
    }

    /// Spins until this thread has used `cpu` of CPU time.
    fn spin_for(cpu: Duration) {
        let start = thread_cpu();
        while thread_cpu() - start < cpu {
            std::hint::spin_loop();
        }
    }

    const LIMIT: Duration = Duration::from_micros(50);

    #[test]
    fn a_poll_that_blocks_counts_its_wall_time() {
        let stopwatch = Stopwatch::start();
        std::thread::sleep(Duration::from_millis(5));
        assert!(stopwatch.took(LIMIT) >= Duration::from_millis(5));
    }

    #[test]
    fn a_poll_that_computes_long_counts_as_slow() {
        let stopwatch = Stopwatch::start();
        spin_for(Duration::from_millis(2));
        // (The CPU clock and the wall clock differ by a few microseconds.)
        let took = stopwatch.took(LIMIT);
        assert!(took > Duration::from_millis(1), "{took:?}");
    }

    #[test]
    fn a_poll_that_was_only_preempted_counts_the_cpu_it_used() {
        // Twice as many spinning threads as cores: every one of them, this
        // one included, is preempted while it runs.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..cores * 2)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        // A try in which the thread happened to wait (a voluntary context
        // switch, rare but possible on a loaded machine) rightly counts its
        // wall time, and says nothing here: it is tried again.
        let mut measured = None;
        for _ in 0..20 {
            let switches = voluntary_switches();
            let stopwatch = Stopwatch::start();
            let started = Instant::now();
            let before = thread_cpu();
            // Until preempted for at least 10 ms all told.
            while started.elapsed() < (thread_cpu() - before) + Duration::from_millis(10) {
                std::hint::spin_loop();
            }
            let wall = started.elapsed();
            let took = stopwatch.took(LIMIT);
            if voluntary_switches() == switches {
                measured = Some((took, wall));
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for spinner in spinners {
            spinner.join().unwrap();
        }
        let (took, wall) = measured.expect("a try without the thread waiting");
        assert!(took > LIMIT, "it did compute: {took:?}");
        assert!(
            took + Duration::from_millis(5) < wall,
            "the time it was preempted counts: {took:?} of {wall:?}"
        );
    }

    fn voluntary_switches() -> i64 {
        getrusage(UsageWho::RUSAGE_THREAD)
            .unwrap()
            .voluntary_context_switches()
    }
}
