//! Request extractors whose refusals are the API's JSON errors.

mod job_id;
mod json_body;
mod queue_name;
mod schedule_name;

pub(crate) use job_id::JobIdPath;
pub(crate) use json_body::JsonBody;
pub(crate) use queue_name::QueueNamePath;
pub(crate) use schedule_name::ScheduleNamePath;
