//! Why a cron schedule is refused.

/// A cron expression, timezone or schedule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// The expression does not parse.
    #[error("cron expression {expression:?} is not valid: {reason}")]
    InvalidExpression {
        /// The expression as given.
        expression: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The timezone is not an IANA timezone name.
    #[error("unknown timezone {name:?}: use an IANA timezone name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"")]
    UnknownTimezone {
        /// The name as given.
        name: String,
    },

    /// The expression parses but never fires (e.g. `0 0 30 2 *`, February 30th).
    #[error("cron expression {expression:?} has no upcoming time (does it name a date that never occurs?)")]
    NoUpcomingTick {
        /// The expression.
        expression: String,
    },

    /// The schedule's name is empty, too long or holds control characters.
    #[error("schedule name {name:?} is not valid: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<CronError> for crate::error::StoreError {
    fn from(error: CronError) -> Self {
        crate::error::StoreError::InvalidInput(error.to_string())
    }
}
