//! A cron expression read in a timezone, and its next tick.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::CronError;

/// How many candidate ticks [`CronExpression::next_after`] skips, at most,
/// while it steps over a wall-clock time repeated by a daylight-saving
/// change.
const MAX_REPEATED_TICKS: usize = 10_000;

/// A parsed cron expression and the timezone its fields are read in.
///
/// Five fields (minute, hour, day of month, month, day of week), or six with
/// seconds first; names (`MON`, `JAN`), ranges, lists, steps and the
/// extensions `L`, `W` and `#` are accepted. Parsing and the calendar search
/// are the `croner` crate's.
///
/// Daylight-saving changes follow cron's usual rules: a tick whose local time
/// is skipped (spring forward) fires right after the change, and a local
/// time that occurs twice (fall back) fires once.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use jobstore::cron::CronExpression;
///
/// let nightly = CronExpression::parse("30 2 * * *", "Europe/Berlin")?;
/// let after = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
/// // 02:30 in Berlin is 01:30 UTC in winter.
/// assert_eq!(
///     nightly.next_after(after, None)?,
///     Utc.with_ymd_and_hms(2026, 1, 11, 1, 30, 0).unwrap()
/// );
/// assert!(CronExpression::parse("61 * * * *", "UTC").is_err());
/// # Ok::<(), jobstore::cron::CronError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CronExpression {
    cron: Cron,
    expression: String,
    timezone: Tz,
}

impl CronExpression {
    /// Parses `expression`, read in the IANA timezone `timezone` (e.g.
    /// `"UTC"`, `"Europe/Berlin"`), and checks it has an upcoming tick.
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, CronError> {
        let expression = expression.trim();
        let cron = Cron::from_str(expression).map_err(|e| CronError::InvalidExpression {
            expression: expression.to_string(),
            reason: describe(&e),
        })?;
        let timezone = parse_timezone(timezone)?;
        let parsed = CronExpression {
            cron,
            expression: expression.to_string(),
            timezone,
        };
        parsed.next_after(Utc::now(), None)?;
        Ok(parsed)
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    /// The timezone the fields are read in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first tick strictly after `after`.
    ///
    /// `previous` is the tick fired last, if any: a candidate whose local
    /// wall-clock time is not later than the previous tick's (the hour
    /// repeated when clocks fall back) is skipped, so a fall-back never
    /// fires the same local time twice.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        previous: Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, CronError> {
        let previous_local = previous.map(|p| p.with_timezone(&self.timezone).naive_local());
        let mut from = after.with_timezone(&self.timezone);
        for _ in 0..MAX_REPEATED_TICKS {
            let next = self
                .cron
                .find_next_occurrence(&from, false)
                .map_err(|_| CronError::NoUpcomingTick {
                    expression: self.expression.clone(),
                })?;
            match previous_local {
                Some(previous) if next.naive_local() <= previous => from = next,
                _ => return Ok(next.with_timezone(&Utc)),
            }
        }
        Err(CronError::NoUpcomingTick {
            expression: self.expression.clone(),
        })
    }
}

/// The IANA timezone `name`, or an error that says what is accepted.
pub(crate) fn parse_timezone(name: &str) -> Result<Tz, CronError> {
    Tz::from_str(name.trim()).map_err(|_| CronError::UnknownTimezone {
        name: name.to_string(),
    })
}

/// croner's error, as a reason a person can act on.
fn describe(error: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    let reason = match error {
        E::EmptyPattern => "it is empty".to_string(),
        E::InvalidPattern(reason) | E::ComponentError(reason) => {
            reason.trim_end_matches('.').to_string()
        }
        E::IllegalCharacters(chars) => format!("it holds characters cron does not accept: {chars}"),
        other => other.to_string(),
    };
    format!("{reason}{FIELDS}")
}

/// What a cron expression is expected to hold, appended to parse errors.
const FIELDS: &str = " (expected 5 fields: minute hour day-of-month month day-of-week, \
                      or 6 with seconds first)";
