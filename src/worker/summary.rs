//! What a worker did, counted.

use serde::Serialize;

use super::AttemptOutcome;

/// What a worker did, counted by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Jobs claimed.
    pub claimed: u64,
    /// Attempts that completed.
    pub completed: u64,
    /// Attempts that failed and will run again.
    pub retrying: u64,
    /// Jobs that failed for good.
    pub failed: u64,
    /// Jobs cancelled while running.
    pub cancelled: u64,
    /// Jobs put back to pending on shutdown.
    pub released: u64,
    /// Attempts abandoned because their lease was lost.
    pub lease_lost: u64,
    /// Outcomes that could not be written (the lease will expire).
    pub store_errors: u64,
    /// Attempts whose handler panicked (the lease will expire and the job
    /// be rescued; its child processes were killed).
    pub panicked: u64,
    /// Expired leases rescued by this worker.
    pub rescued: u64,
    /// Cron ticks this worker fired (each enqueued one job).
    pub cron_fired: u64,
}

impl RunSummary {
    /// Counts an attempt's task that ended: its outcome (`None`: handed
    /// over, counted with [`RunSummary::record_handed`]), or its panic.
    pub(crate) fn record_task(
        &mut self,
        done: Result<Option<AttemptOutcome>, tokio::task::JoinError>,
    ) {
        match done {
            Ok(outcome) => self.record_ended(outcome),
            Err(error) => self.record_panic(error),
        }
    }

    /// Counts an attempt that ended: its outcome (`None`: handed over,
    /// counted with [`RunSummary::record_handed`]).
    pub(crate) fn record_ended(&mut self, outcome: Option<AttemptOutcome>) {
        if let Some(outcome) = outcome {
            self.record(outcome);
        }
    }

    /// Counts an attempt that panicked.
    pub(crate) fn record_panic(&mut self, error: impl std::fmt::Display) {
        tracing::error!(%error, "a job attempt panicked");
        self.panicked += 1;
    }

    /// Counts the outcomes of attempts that handed their results over.
    pub(crate) fn record_handed(&mut self, outcomes: Vec<AttemptOutcome>) {
        for outcome in outcomes {
            self.record(outcome);
        }
    }

    fn record(&mut self, outcome: AttemptOutcome) {
        let slot = match outcome {
            AttemptOutcome::Completed => &mut self.completed,
            AttemptOutcome::Retrying => &mut self.retrying,
            AttemptOutcome::Failed => &mut self.failed,
            AttemptOutcome::Cancelled => &mut self.cancelled,
            AttemptOutcome::Released => &mut self.released,
            AttemptOutcome::LeaseLost => &mut self.lease_lost,
            AttemptOutcome::StoreError => &mut self.store_errors,
        };
        *slot += 1;
    }
}

impl std::fmt::Display for RunSummary {
    /// One line for people: `ran 12 jobs: 10 completed, 1 failed, 1 will
    /// retry`, then whatever else happened (rescues, cron ticks, releases,
    /// problems), leaving out what did not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let jobs = if self.claimed == 1 { "job" } else { "jobs" };
        write!(f, "ran {} {jobs}", self.claimed)?;
        let parts: Vec<String> = [
            (self.completed, "completed"),
            (self.failed, "failed"),
            (self.retrying, "will retry"),
            (self.cancelled, "cancelled"),
            (self.released, "handed back at shutdown"),
            (self.lease_lost, "lost their lease"),
            (self.store_errors, "could not be recorded"),
            (self.panicked, "panicked"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        if self.rescued > 0 {
            write!(f, "; rescued {} from dead workers", self.rescued)?;
        }
        if self.cron_fired > 0 {
            write!(f, "; fired {} cron ticks", self.cron_fired)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_as_a_sentence_without_zeros() {
        let summary = RunSummary {
            claimed: 12,
            completed: 10,
            failed: 1,
            retrying: 1,
            rescued: 2,
            ..RunSummary::default()
        };
        assert_eq!(
            summary.to_string(),
            "ran 12 jobs: 10 completed, 1 failed, 1 will retry; rescued 2 from dead workers"
        );
        assert_eq!(RunSummary::default().to_string(), "ran 0 jobs");
    }
}
