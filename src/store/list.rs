//! Listing and counting jobs.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::job::{Job, JobId, JobStatus};

/// Which jobs to list, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this type.
    pub job_type: Option<String>,
    /// Only jobs with this correlation id.
    pub correlation_id: Option<String>,
    /// Only jobs in this queue.
    pub queue: Option<String>,
    /// Only jobs this text finds (see [`ListQuery::search`]).
    pub search: Option<String>,
    /// The most jobs on one page (1 to [`ListQuery::MAX_LIMIT`]).
    pub limit: u32,
    /// Continue after this cursor: the `next_cursor` of the previous page.
    pub cursor: Option<JobId>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            status: None,
            job_type: None,
            correlation_id: None,
            queue: None,
            search: None,
            limit: Self::DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl ListQuery {
    /// The page size unless told otherwise.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page.
    pub const MAX_LIMIT: u32 = 1000;
    /// How many of the newest jobs a text search reads (ids and correlation
    /// ids are found at any age, through their indexes).
    pub const SEARCH_WINDOW: u32 = 10_000;
    /// The longest search text, in characters.
    pub const MAX_SEARCH: usize = 200;

    /// Only jobs in `status`.
    pub fn status(mut self, status: JobStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only jobs of `job_type`.
    pub fn job_type(mut self, job_type: impl Into<String>) -> Self {
        self.job_type = Some(job_type.into());
        self
    }

    /// Only jobs with `correlation_id`.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// Only jobs in `queue`.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Only jobs that `text` finds: the job whose id it is, jobs whose
    /// correlation id it is, and, among the newest
    /// [`ListQuery::SEARCH_WINDOW`] jobs, those whose id starts or ends
    /// with it (the dashboard shows an id's last eight characters) or whose
    /// params or error contain it, ignoring ASCII case. Surrounding spaces
    /// are ignored.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// The search text as used: trimmed, `None` when there is none.
    pub(crate) fn search_text(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// At most `limit` jobs per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The page after `cursor`.
    pub fn after(mut self, cursor: JobId) -> Self {
        self.cursor = Some(cursor);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if !(1..=Self::MAX_LIMIT).contains(&self.limit) {
            return Err(StoreError::InvalidInput(format!(
                "list limit is {}; it must be between 1 and {}",
                self.limit,
                Self::MAX_LIMIT
            )));
        }
        if let Some(text) = &self.search {
            let length = text.trim().chars().count();
            if length > Self::MAX_SEARCH {
                return Err(StoreError::InvalidInput(format!(
                    "search text is {length} characters; it may be at most {}",
                    Self::MAX_SEARCH
                )));
            }
            if text.chars().any(char::is_control) {
                return Err(StoreError::InvalidInput(
                    "search text may not contain control characters".into(),
                ));
            }
        }
        if self.queue.as_deref().is_some_and(|q| q.trim().is_empty()) {
            return Err(StoreError::InvalidInput(
                "queue filter is empty; leave it out to list every queue".into(),
            ));
        }
        Ok(())
    }
}

/// Whether the search `text` (trimmed, not empty) finds `job`; `recent`
/// tells whether the job is among the newest [`ListQuery::SEARCH_WINDOW`].
/// The SQL backends say the same in SQL.
pub(crate) fn search_finds(job: &Job, text: &str, recent: bool) -> bool {
    let id = job.id.to_string();
    if id == text || job.correlation_id.as_deref() == Some(text) {
        return true;
    }
    if !recent {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let contains = |haystack: &str| haystack.to_ascii_lowercase().contains(&lower);
    id.starts_with(&lower)
        || id.ends_with(&lower)
        || contains(&job.params.to_string())
        || job.error.as_deref().is_some_and(contains)
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    /// The jobs, newest first.
    pub jobs: Vec<Job>,
    /// Pass this as [`ListQuery::cursor`] for the next page; `None` on the
    /// last page.
    pub next_cursor: Option<JobId>,
}

impl JobPage {
    /// A page from up to `limit + 1` jobs fetched newest first: the extra
    /// job only tells that another page follows.
    pub(crate) fn from_overfetched(mut jobs: Vec<Job>, limit: u32) -> Self {
        let limit = limit as usize;
        let next_cursor = if jobs.len() > limit {
            jobs.truncate(limit);
            jobs.last().map(|job| job.id)
        } else {
            None
        };
        JobPage { jobs, next_cursor }
    }
}

/// How many jobs are in each status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Waiting to be claimed.
    pub pending: u64,
    /// Held by a worker.
    pub running: u64,
    /// Finished with a result.
    pub completed: u64,
    /// Finished with an error.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl StatusCounts {
    /// The count for one status.
    pub fn get(&self, status: JobStatus) -> u64 {
        match status {
            JobStatus::Pending => self.pending,
            JobStatus::Running => self.running,
            JobStatus::Completed => self.completed,
            JobStatus::Failed => self.failed,
            JobStatus::Cancelled => self.cancelled,
        }
    }

    /// Adds `n` to the count of `status`.
    pub fn add(&mut self, status: JobStatus, n: u64) {
        let slot = match status {
            JobStatus::Pending => &mut self.pending,
            JobStatus::Running => &mut self.running,
            JobStatus::Completed => &mut self.completed,
            JobStatus::Failed => &mut self.failed,
            JobStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }

    /// All jobs.
    pub fn total(&self) -> u64 {
        JobStatus::ALL.iter().map(|s| self.get(*s)).sum()
    }
}
