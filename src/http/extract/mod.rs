//! Request extractors whose refusals are the API's JSON errors.

mod job_id;
mod json_body;
mod path_name;

pub(crate) use job_id::JobIdPath;
pub(crate) use json_body::JsonBody;
pub(crate) use path_name::{QueueNamePath, ScheduleNamePath};
