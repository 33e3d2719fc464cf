//! The request and response bodies of the API: public serde types, so a
//! Rust client can reuse them.

mod cancel;
mod cron;
mod enqueue;
mod error;
mod health;
mod job;
mod stats;

pub use cancel::{CancelAction, CancelResponse};
pub use cron::DeclareScheduleRequest;
pub use enqueue::{Delay, EnqueueBody, EnqueueRequest};
pub use error::{ErrorBody, ErrorCode, ErrorResponse};
pub use health::HealthResponse;
pub use job::{JobListResponse, JobResponse};
pub use stats::{ActivityResponse, StatsResponse};
