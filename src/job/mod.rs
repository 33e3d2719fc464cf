//! What a job is: its id, status, stored record, and what a caller submits.

mod id;
mod new_job;
mod prepared;
mod progress;
mod record;
mod status;
mod unique;

pub use id::{JobId, ParseJobIdError};
pub use new_job::{validate_queue_name, NewJob};
pub(crate) use prepared::{prepare, retry_of, PreparedJob};
pub use progress::Progress;
pub use record::Job;
pub use status::{JobStatus, ParseJobStatusError};
pub use unique::{UniqueKey, UniqueScope};
