//! A cron expression read in a timezone, and its next tick.

use std::str::FromStr;

use chrono::{DateTime, SubsecRound as _, Utc};
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
/// use chrono::{DateTime, Utc};
/// use jobstore::cron::CronExpression;
///
/// let nightly = CronExpression::parse("30 2 * * *", "Europe/Berlin")?;
/// let after: DateTime<Utc> = "2026-01-10T12:00:00Z".parse()?;
/// // 02:30 in Berlin is 01:30 UTC in winter.
/// let next: DateTime<Utc> = "2026-01-11T01:30:00Z".parse()?;
/// assert_eq!(nightly.next_after(after, None)?, next);
/// assert!(CronExpression::parse("61 * * * *", "UTC").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    ///
    /// A schedule with no upcoming tick (or one beyond croner's search
    /// horizon) is an error.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        previous: Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, CronError> {
        let previous_local = previous.map(|p| p.with_timezone(&self.timezone).naive_local());
        // Ticks fall on whole seconds; croner keeps the fraction it is given.
        let mut from = after.trunc_subsecs(0).with_timezone(&self.timezone);
        for _ in 0..MAX_REPEATED_TICKS {
            let next = self.cron.find_next_occurrence(&from, false).map_err(|_| {
                CronError::NoUpcomingTick {
                    expression: self.expression.clone(),
                }
            })?;
            // In an hour that occurs twice, croner can answer the first
            // occurrence of a local time that is already past: skip it too.
            let repeated = previous_local.is_some_and(|previous| next.naive_local() <= previous);
            if repeated || next.with_timezone(&Utc) <= after {
                from = next;
                continue;
            }
            return Ok(next.with_timezone(&Utc));
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    }

    #[test]
    fn a_time_in_the_repeated_hour_that_already_passed_is_not_answered() {
        let half_past_one = CronExpression::parse("30 1 * * *", "America/New_York").unwrap();
        // 01:10 EST, in the second pass of 01:00-02:00: 01:30 EDT has passed,
        // 01:30 EST is the same local time, so the next tick is tomorrow's.
        assert_eq!(
            half_past_one.next_after(utc(1, 6, 10), None).unwrap(),
            utc(2, 6, 30)
        );
    }

    #[test]
    fn every_thirty_minutes_steps_over_the_repeated_hour_once() {
        let every_half_hour = CronExpression::parse("*/30 * * * *", "America/New_York").unwrap();
        let mut tick = utc(1, 4, 0); // 00:00 EDT
        let mut ticks = Vec::new();
        for _ in 0..6 {
            tick = every_half_hour.next_after(tick, Some(tick)).unwrap();
            ticks.push(tick);
        }
        // 00:30, 01:00, 01:30 EDT, then 02:00, 02:30, 03:00 EST: the local
        // times 01:00 and 01:30 run once.
        assert_eq!(
            ticks,
            vec![
                utc(1, 4, 30),
                utc(1, 5, 0),
                utc(1, 5, 30),
                utc(1, 7, 0),
                utc(1, 7, 30),
                utc(1, 8, 0)
            ]
        );
    }

    #[test]
    fn ticks_fall_on_whole_seconds() {
        let every_second = CronExpression::parse("* * * * * *", "UTC").unwrap();
        let every_minute = CronExpression::parse("* * * * *", "UTC").unwrap();
        let now = utc(1, 0, 0) + chrono::Duration::milliseconds(1500);
        assert_eq!(
            every_second.next_after(now, None).unwrap(),
            utc(1, 0, 0) + chrono::Duration::seconds(2)
        );
        assert_eq!(every_minute.next_after(now, None).unwrap(), utc(1, 0, 1));
    }

    #[test]
    fn seconds_are_an_optional_sixth_field() {
        let every_second = CronExpression::parse("* * * * * *", "UTC").unwrap();
        let now = utc(1, 0, 0);
        assert_eq!(
            every_second.next_after(now, None).unwrap(),
            now + chrono::Duration::seconds(1)
        );
    }

    #[test]
    fn names_and_extensions_are_accepted() {
        let cases = [
            ("0 9 * * MON-FRI", utc(2, 9, 0)), // Monday 2 November
            ("0 0 L * *", utc(30, 0, 0)),      // the last day of November
            ("0 9 * * MON#2", utc(9, 9, 0)),   // the second Monday
            ("0 9 15W * *", utc(16, 9, 0)),    // the weekday nearest the 15th (a Sunday)
            (
                "0 0 1 JAN *",
                Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
            ),
        ];
        for (expression, expected) in cases {
            let parsed = CronExpression::parse(expression, "UTC").unwrap();
            assert_eq!(
                parsed.next_after(utc(1, 12, 0), None).unwrap(),
                expected,
                "{expression}"
            );
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("61 * * * *", "UTC", "is not valid"),
            ("", "UTC", "expected 5 fields"),
            ("* * * * * * * *", "UTC", "expected 5 fields"),
            ("0 0 30 2 *", "UTC", "no upcoming time"),
            ("* * * * *", "Europe/Nowhere", "IANA timezone"),
        ];
        for (expression, timezone, expected) in cases {
            let error = CronExpression::parse(expression, timezone).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
