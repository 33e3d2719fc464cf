//! What a running job reports about itself.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A stage name plus, when the stage can measure it, a percent within it.
///
/// `percent: None` means the stage cannot measure progress: pollers show the
/// stage with an indeterminate indicator instead of a made-up number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The stage, e.g. "downloading" or "encoding".
    pub stage: String,
    /// Percent done within the stage, 0 to 100, or none when unmeasurable.
    pub percent: Option<f32>,
}

impl Progress {
    /// The longest stage name accepted, in bytes.
    pub const MAX_STAGE_LEN: usize = 200;

    /// A stage with a measured percent.
    pub fn percent(stage: impl Into<String>, percent: f32) -> Self {
        Progress {
            stage: stage.into(),
            percent: Some(percent),
        }
    }

    /// A stage that cannot measure its progress.
    pub fn indeterminate(stage: impl Into<String>) -> Self {
        Progress {
            stage: stage.into(),
            percent: None,
        }
    }

    /// Checks the stage name and that the percent is within 0..=100.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.stage.trim().is_empty() {
            return Err(StoreError::InvalidInput(
                "progress stage must not be empty".into(),
            ));
        }
        if self.stage.len() > Self::MAX_STAGE_LEN {
            return Err(StoreError::InvalidInput(format!(
                "progress stage is {} bytes long; at most {} are allowed",
                self.stage.len(),
                Self::MAX_STAGE_LEN
            )));
        }
        match self.percent {
            Some(p) if !(0.0..=100.0).contains(&p) => Err(StoreError::InvalidInput(format!(
                "progress percent {p} is outside 0..=100"
            ))),
            _ => Ok(()),
        }
    }
}
