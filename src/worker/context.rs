//! What a running handler works with.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::attempt::progress::ProgressReports;
use super::children::Children;
use super::spawner;
use super::{JobError, ProgramAllowlist};
use crate::job::{Job, Progress};
use crate::store::{JobStore, Lease};

/// The running job's view of the world: its record, progress reporting,
/// the store (to enqueue follow-up jobs) and its cancellation signal.
///
/// Every event a handler logs through `tracing` lands inside a span that
/// carries the job's id, type and attempt.
#[derive(Clone)]
pub struct JobContext {
    store: Arc<dyn JobStore>,
    job: Arc<Job>,
    lease: Option<Lease>,
    stages: &'static [&'static str],
    /// Shared by the context's clones (a clone of the token itself locks
    /// it, and every attempt clones its context for its handler).
    cancel: Arc<CancellationToken>,
    children: Children,
    /// Where a persisted attempt's progress goes.
    reports: Option<ProgressReports>,
    /// The programs [`JobContext::spawn`] may start.
    allowed: ProgramAllowlist,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job_id", &self.job.id)
            .field("attempt", &self.attempt())
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// The context of one attempt; `lease` is `None` for an inline run
    /// that is not persisted.
    pub(crate) fn new(
        store: Arc<dyn JobStore>,
        job: Job,
        lease: Option<Lease>,
        stages: &'static [&'static str],
        allowed: ProgramAllowlist,
    ) -> Self {
        let reports = lease.map(|lease| ProgressReports::new(Arc::clone(&store), lease));
        JobContext {
            store,
            job: Arc::new(job),
            lease,
            stages,
            cancel: Arc::new(CancellationToken::new()),
            children: Children::default(),
            reports,
            allowed,
        }
    }

    /// Where a persisted attempt's progress reports go.
    pub(crate) fn progress_reports(&self) -> Option<&ProgressReports> {
        self.reports.as_ref()
    }

    /// The lease this attempt holds, when the job is persisted.
    pub(crate) fn lease(&self) -> Option<Lease> {
        self.lease
    }

    /// The process groups this attempt started.
    pub(crate) fn children(&self) -> &Children {
        &self.children
    }

    /// Tells the handler to stop.
    pub(crate) fn stop(&self) {
        self.cancel.cancel();
    }

    /// Spawns `command` as a child process that belongs to this job.
    ///
    /// The child leads a new process group. When the attempt ends (its
    /// handler returns, times out, is cancelled, or the worker shuts down),
    /// the whole group gets SIGTERM, then SIGKILL after the worker's
    /// `kill_grace`, and the job's outcome is written only once none of its
    /// processes is alive: nothing it started is left behind.
    ///
    /// If the worker process itself dies without stopping them (SIGKILL,
    /// the OOM killer), the kernel SIGKILLs the child on Linux (a
    /// parent-death signal, requested before the program starts); what the
    /// child started itself is orphaned then, and only a supervisor that
    /// kills the worker's cgroup or PID namespace stops it. The job is
    /// rescued once its lease expires and runs again.
    ///
    /// A program that does not exist or may not be executed (or a working
    /// directory that does not exist or may not be entered) is a permanent
    /// error: no retry will fix it. Any other failure to start the child
    /// (too many processes or open files, say) is transient. The error
    /// message names the program.
    pub fn spawn(
        &self,
        command: &mut tokio::process::Command,
    ) -> Result<tokio::process::Child, JobError> {
        let program = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        if let Some(refusal) = self.allowed.refusal(&program) {
            return Err(JobError::permanent(refusal));
        }
        let steering = command
            .as_std()
            .get_envs()
            .find_map(|(name, _)| self.allowed.env_refusal(&name.to_string_lossy()));
        if let Some(refusal) = steering {
            return Err(JobError::permanent(refusal));
        }
        let child = spawner::spawn(command.process_group(0)).map_err(|e| {
            let message = format!("cannot start {program:?}: {e}");
            match e.kind() {
                // What no retry fixes: no such program, no right to run
                // it, or a command that cannot be made (a NUL byte).
                std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::InvalidInput => JobError::permanent(message),
                _ => JobError::transient(message),
            }
        })?;
        match child.id().and_then(|pid| i32::try_from(pid).ok()) {
            Some(pid) => self.children.track(pid),
            None => tracing::warn!("a child process exited before it could be tracked"),
        }
        Ok(child)
    }

    /// The job as it was claimed.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// This attempt's number (1 for the first).
    pub fn attempt(&self) -> u32 {
        self.lease.map_or(self.job.attempt, |lease| lease.attempt)
    }

    /// Whether the job is stored (always, in a worker; an inline run may
    /// opt out, and its progress reports are then checked but not stored).
    pub fn is_persisted(&self) -> bool {
        self.lease.is_some()
    }

    /// The store, to enqueue follow-up jobs or read others.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// Reports the current stage and, when the stage can measure it, the
    /// percent done within it (0 to 100). Pass `None` for a stage that
    /// cannot measure progress: pollers then show no made-up number.
    ///
    /// Reports closer together than a quarter of a second are coalesced:
    /// the first is written at once, the latest of those that follow when
    /// the quarter second is up, and the last one before the attempt ends
    /// always. A percent outside 0..=100 is refused; so is any report after
    /// the job's lease was lost (the handler should then stop), at the
    /// latest one report later.
    pub async fn progress(&self, stage: &str, percent: Option<f32>) -> Result<(), JobError> {
        let progress = Progress {
            stage: stage.to_string(),
            percent,
        };
        progress.validate().map_err(JobError::permanent)?;
        let Some(reports) = &self.reports else {
            return Ok(());
        };
        reports.report(progress).await.map_err(|e| match e {
            crate::StoreError::InvalidInput(_) | crate::StoreError::LeaseLost { .. } => {
                JobError::permanent(e)
            }
            other => JobError::transient(other),
        })
    }

    /// Where `stage` stands among the job type's declared stages: `(2, 4)`
    /// for "stage 2 of 4".
    pub fn stage_position(&self, stage: &str) -> Option<(usize, usize)> {
        let index = self.stages.iter().position(|s| *s == stage)?;
        Some((index + 1, self.stages.len()))
    }

    /// Whether the job was asked to stop (cancelled, timed out, or the
    /// worker is shutting down).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the job is asked to stop; a handler can `select!` on
    /// it to clean up before its future is dropped.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }
}
