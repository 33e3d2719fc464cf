//! What `POST /jobs` takes.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::job::{NewJob, UniqueScope};

/// The body of `POST /jobs`.
///
/// ```json
/// {"job_type": "resize", "params": {"width": 640}, "delay": "5m",
///  "max_attempts": 3, "correlation_id": "album-7", "queue": "media",
///  "priority": 2, "unique_key": "resize-7", "unique_for": "active"}
/// ```
///
/// Only `job_type` is required; `params` defaults to `{}`. Give `run_at`
/// (RFC 3339) or `delay`, not both. Unknown fields are refused, so a typo
/// is not silently ignored. With `unique_key`, a job already holding the
/// key inside its scope (`unique_for`: `"pending"`, `"active"` (the
/// default) or a duration after it finished, e.g. `"10m"`) is answered
/// with 200 and that job instead of 201 and a new one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// The job type.
    pub job_type: String,
    /// The handler's input.
    #[serde(default = "empty_object")]
    pub params: serde_json::Value,
    /// Not claimable before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<DateTime<Utc>>,
    /// Not claimable until this long after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Attempts that may fail before the job fails for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Groups related jobs, for listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The queue (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// 0 (claimed first) to 9 (last); default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Enqueue only if no job holds this key inside its scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<String>,
    /// How long the key is held: `"pending"`, `"active"` or a duration
    /// after the job finished (`"10m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_for: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl EnqueueRequest {
    /// A request for a job of `job_type` with `params`, claimable at once.
    pub fn new(job_type: impl Into<String>, params: serde_json::Value) -> Self {
        EnqueueRequest {
            job_type: job_type.into(),
            params,
            run_at: None,
            delay: None,
            max_attempts: None,
            correlation_id: None,
            queue: None,
            priority: None,
            unique_key: None,
            unique_for: None,
        }
    }

    /// The job to create, or why the request does not make one.
    pub fn into_new_job(self) -> Result<NewJob, String> {
        let mut job = NewJob::new(self.job_type, self.params);
        match (self.run_at, self.delay) {
            (Some(_), Some(_)) => return Err("give run_at or delay, not both".into()),
            (Some(at), None) => job = job.run_at(at),
            (None, Some(delay)) => job = job.delay(delay.0),
            (None, None) => {}
        }
        if let Some(n) = self.max_attempts {
            job = job.max_attempts(n);
        }
        if let Some(id) = self.correlation_id {
            job = job.correlation_id(id);
        }
        if let Some(queue) = self.queue {
            job = job.queue(queue);
        }
        if let Some(priority) = self.priority {
            job = job.priority(priority);
        }
        let scope = match self.unique_for.as_deref() {
            None | Some("active") => UniqueScope::WhileActive,
            Some("pending") => UniqueScope::WhilePending,
            Some(period) => humantime::parse_duration(period)
                .map(UniqueScope::UntilFinishedPlus)
                .map_err(|_| {
                    format!(
                        "unique_for {period:?} is not \"pending\", \"active\" or a duration \
                         after finishing (e.g. \"10m\")"
                    )
                })?,
        };
        match self.unique_key {
            Some(key) => job = job.unique_key(key, scope),
            None if self.unique_for.is_some() => return Err("unique_for needs a unique_key".into()),
            None => {}
        }
        Ok(job)
    }
}

/// A delay, given as a number of seconds (`90`, `1.5`) or as a
/// [humantime](https://docs.rs/humantime) string (`"90s"`, `"5m"`,
/// `"1h 30m"`); written back as a humantime string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delay(pub Duration);

impl Serialize for Delay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DelayVisitor)
    }
}

struct DelayVisitor;

impl Visitor<'_> for DelayVisitor {
    type Value = Delay;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds or a duration such as \"90s\", \"5m\" or \"1h 30m\"")
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Delay, E> {
        Ok(Delay(Duration::from_secs(seconds)))
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Delay, E> {
        u64::try_from(seconds)
            .map(|s| Delay(Duration::from_secs(s)))
            .map_err(|_| E::custom(format!("delay {seconds} is negative")))
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Delay, E> {
        Duration::try_from_secs_f64(seconds)
            .map(Delay)
            .map_err(|_| E::custom(format!("delay {seconds} is not a usable number of seconds")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Delay, E> {
        humantime::parse_duration(text).map(Delay).map_err(|e| {
            E::custom(format!(
                "delay {text:?}: {e} (expected e.g. 90s, 5m, 1h 30m)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(json: &str) -> Result<Delay, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn delays_are_seconds_or_humantime() {
        assert_eq!(delay("90"), Ok(Delay(Duration::from_secs(90))));
        assert_eq!(delay("1.5"), Ok(Delay(Duration::from_millis(1500))));
        assert_eq!(delay(r#""1h 30m""#), Ok(Delay(Duration::from_secs(5400))));
        assert!(delay("-1").unwrap_err().contains("negative"));
        assert!(delay(r#""soon""#)
            .unwrap_err()
            .contains("expected e.g. 90s"));
        let back = serde_json::to_string(&Delay(Duration::from_secs(300))).unwrap();
        assert_eq!(back, r#""5m""#);
    }

    #[test]
    fn run_at_and_delay_do_not_mix() {
        let mut request = EnqueueRequest::new("x", serde_json::json!({}));
        request.run_at = Some(Utc::now());
        request.delay = Some(Delay(Duration::from_secs(1)));
        assert!(request.into_new_job().unwrap_err().contains("not both"));
    }
}

/// The body of `POST /jobs`: one job (an object, [`EnqueueRequest`]) or a
/// batch of them (an array of such objects), created all together in one
/// transaction or not at all.
#[derive(Clone, Debug, PartialEq)]
pub enum EnqueueBody {
    /// One job.
    One(EnqueueRequest),
    /// Many jobs, all or none.
    Many(Vec<EnqueueRequest>),
}

impl EnqueueBody {
    /// The most jobs one request may hold.
    pub const MAX_BATCH: usize = 10_000;
}

impl Serialize for EnqueueBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EnqueueBody::One(request) => request.serialize(serializer),
            EnqueueBody::Many(requests) => requests.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for EnqueueBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// Tells one job from a batch by the JSON's shape, keeping the field paths
/// of errors inside either.
struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = EnqueueBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a job (an object with job_type) or an array of them")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        EnqueueRequest::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(EnqueueBody::One)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<EnqueueRequest>::deserialize(de::value::SeqAccessDeserializer::new(seq))
            .map(EnqueueBody::Many)
    }
}
