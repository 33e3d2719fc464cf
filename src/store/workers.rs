//! The workers that run jobs, as each announces itself.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// What a worker says about itself, at start and at every heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its id (`WorkerConfig::worker_id`), recorded on the jobs it claims.
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// The queues it serves, each with how many of its jobs it runs at
    /// once.
    pub queues: BTreeMap<String, usize>,
    /// The jobstore version it runs.
    pub version: String,
    /// How long after its last announcement it counts as gone (its lease);
    /// in JSON, `lease_ms`.
    #[serde(rename = "lease_ms", with = "millis")]
    pub lease: Duration,
}

impl WorkerInfo {
    /// Refuses what cannot be stored.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.id.is_empty() || self.id.len() > 200 {
            return Err(StoreError::InvalidInput(format!(
                "worker id {:?} must be 1 to 200 bytes long",
                self.id
            )));
        }
        if self.lease.is_zero() {
            return Err(StoreError::InvalidInput(
                "a worker's lease must be longer than zero".into(),
            ));
        }
        Ok(())
    }
}

/// A worker as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// What it said about itself, last time.
    #[serde(flatten)]
    pub info: WorkerInfo,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last announced itself.
    pub last_seen_at: DateTime<Utc>,
    /// When it said it stopped (`None` if it has not).
    pub stopped_at: Option<DateTime<Utc>>,
    /// Whether it is alive: not stopped, and seen within its lease.
    pub alive: bool,
    /// How many jobs it holds now.
    pub running: u64,
}

impl WorkerRecord {
    /// `alive` or `gone`.
    pub fn state(&self) -> &'static str {
        if self.alive {
            "alive"
        } else {
            "gone"
        }
    }
}

/// How long a gone worker's row is kept.
pub(crate) const KEEP_GONE: Duration = Duration::from_secs(86_400);

/// A duration as whole milliseconds, in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
