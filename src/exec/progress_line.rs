//! The progress protocol: a line a program prints on stdout to report its
//! stage and, when it can measure one, a percent.
//!
//! ```text
//! ::progress stage=NAME [percent=N]
//! ::progress stage="NAME WITH SPACES" percent=N
//! ```
//!
//! The line starts with `::progress` (nothing before it), then fields
//! `key=value` separated by spaces, in any order. `stage` is required and
//! `percent` optional (a number from 0 to 100, decimals allowed); no other
//! key is accepted. A value is either bare (no spaces, no quotes) or
//! double-quoted, with `\"` and `\\` as escapes inside the quotes.

use crate::job::Progress;

/// What starts a progress line.
const PREFIX: &str = "::progress";

/// A report parsed from a progress line.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressLine {
    /// The stage.
    pub stage: String,
    /// The percent within the stage, when given.
    pub percent: Option<f32>,
}

/// Why a line that starts with `::progress` is not a valid report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// No `stage=` field.
    #[error("no stage given")]
    MissingStage,
    /// The stage is empty or blank.
    #[error("the stage is empty")]
    EmptyStage,
    /// The stage is longer than a stored stage may be.
    #[error("the stage is longer than {} bytes", Progress::MAX_STAGE_LEN)]
    StageTooLong,
    /// The percent is not a number from 0 to 100.
    #[error("percent {0:?} is not a number from 0 to 100")]
    BadPercent(String),
    /// A key other than `stage` or `percent`.
    #[error("unknown field {0:?}")]
    UnknownField(String),
    /// A key given twice.
    #[error("field {0:?} given twice")]
    Repeated(String),
    /// A word that is not `key=value`.
    #[error("expected key=value, found {0:?}")]
    NotAField(String),
    /// A quoted value with no closing quote.
    #[error("a quote is not closed")]
    UnclosedQuote,
    /// Text right after a closing quote.
    #[error("a closing quote must be followed by a space or the end of the line")]
    TextAfterQuote,
    /// The line was cut for being too long.
    #[error("the line is too long")]
    TooLong,
}

/// Parses one line of stdout: `Ok(None)` for ordinary output, a report for
/// a valid progress line, and why not for a line that starts with
/// `::progress` but does not follow the format. A report it returns is one
/// the store accepts.
///
/// ```
/// use jobstore::exec::{parse_progress_line, MalformedProgressLine};
///
/// let report = parse_progress_line(r#"::progress stage="copying files" percent=40"#);
/// let report = report.ok().flatten();
/// assert_eq!(report.as_ref().map(|r| r.stage.as_str()), Some("copying files"));
/// assert_eq!(report.and_then(|r| r.percent), Some(40.0));
/// assert_eq!(parse_progress_line("copied 3 files"), Ok(None));
/// assert_eq!(
///     parse_progress_line("::progress percent=40"),
///     Err(MalformedProgressLine::MissingStage)
/// );
/// ```
pub fn parse(line: &str) -> Result<Option<ProgressLine>, Malformed> {
    let Some(rest) = line.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Ok(None); // "::progressive" is ordinary output
    }
    let mut stage = None;
    let mut percent = None;
    let mut fields = Fields { rest };
    while let Some((key, value)) = fields.next_field()? {
        let slot = match key {
            "stage" => &mut stage,
            "percent" => &mut percent,
            other => return Err(Malformed::UnknownField(other.to_string())),
        };
        if slot.replace(value).is_some() {
            return Err(Malformed::Repeated(key.to_string()));
        }
    }
    let stage = stage.ok_or(Malformed::MissingStage)?;
    if stage.trim().is_empty() {
        return Err(Malformed::EmptyStage);
    }
    if stage.len() > Progress::MAX_STAGE_LEN {
        return Err(Malformed::StageTooLong);
    }
    let percent = percent.map(|p| parse_percent(&p)).transpose()?;
    Ok(Some(ProgressLine { stage, percent }))
}

fn parse_percent(text: &str) -> Result<f32, Malformed> {
    match text.parse::<f32>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(Malformed::BadPercent(text.to_string())),
    }
}

/// The `key=value` fields after the prefix.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Result<Option<(&'a str, String)>, Malformed> {
        let rest = self.rest.trim_start();
        if rest.is_empty() {
            return Ok(None);
        }
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let Some(eq) = rest[..word_end].find('=') else {
            return Err(Malformed::NotAField(rest[..word_end].to_string()));
        };
        let key = &rest[..eq];
        if key.is_empty() {
            return Err(Malformed::NotAField(rest[..word_end].to_string()));
        }
        let after = &rest[eq + 1..];
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        self.rest = remaining;
        Ok(Some((key, value)))
    }
}

/// Reads a quoted value up to its closing quote; returns the value and
/// what follows the quote.
fn unquote(quoted: &str) -> Result<(String, &str), Malformed> {
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let remaining = &quoted[i + 1..];
                if !remaining.is_empty() && !remaining.starts_with(char::is_whitespace) {
                    return Err(Malformed::TextAfterQuote);
                }
                return Ok((value, remaining));
            }
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return Err(Malformed::UnclosedQuote),
            },
            other => value.push(other),
        }
    }
    Err(Malformed::UnclosedQuote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stage: &str, percent: Option<f32>) -> Result<Option<ProgressLine>, Malformed> {
        Ok(Some(ProgressLine {
            stage: stage.to_string(),
            percent,
        }))
    }

    #[test]
    fn parses_stage_and_percent() {
        assert_eq!(
            parse("::progress stage=encoding percent=40"),
            report("encoding", Some(40.0))
        );
        assert_eq!(
            parse("::progress   percent=12.5  stage=encoding  "),
            report("encoding", Some(12.5))
        );
        assert_eq!(parse("::progress stage=upload"), report("upload", None));
        assert_eq!(
            parse("::progress stage=x percent=0"),
            report("x", Some(0.0))
        );
        assert_eq!(
            parse("::progress stage=x percent=100"),
            report("x", Some(100.0))
        );
    }

    #[test]
    fn parses_quoted_stages() {
        assert_eq!(
            parse(r#"::progress stage="uploading files" percent=30"#),
            report("uploading files", Some(30.0))
        );
        assert_eq!(
            parse(r#"::progress stage="say \"hi\" \\ bye""#),
            report(r#"say "hi" \ bye"#, None)
        );
        assert_eq!(parse(r#"::progress stage="a\nb""#), report(r"a\nb", None));
    }

    #[test]
    fn other_lines_are_ordinary_output() {
        for line in ["", "hello", " ::progress stage=x", "::progressive stage=x"] {
            assert_eq!(parse(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn refuses_malformed_progress_lines() {
        use Malformed::*;
        let cases = [
            ("::progress", MissingStage),
            ("::progress percent=50", MissingStage),
            ("::progress stage=", EmptyStage),
            (r#"::progress stage="  ""#, EmptyStage),
            ("::progress stage=x percent=150", BadPercent("150".into())),
            ("::progress stage=x percent=-1", BadPercent("-1".into())),
            ("::progress stage=x percent=NaN", BadPercent("NaN".into())),
            ("::progress stage=x percent=half", BadPercent("half".into())),
            ("::progress stage=x percent=", BadPercent(String::new())),
            ("::progress stage=x pct=5", UnknownField("pct".into())),
            ("::progress stage=x stage=y", Repeated("stage".into())),
            ("::progress stage x", NotAField("stage".into())),
            ("::progress stage=x =5", NotAField("=5".into())),
            (r#"::progress stage="open"#, UnclosedQuote),
            (r#"::progress stage="open\"#, UnclosedQuote),
            (r#"::progress stage="a"b"#, TextAfterQuote),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line), Err(expected), "{line:?}");
        }
        let long = format!(
            "::progress stage={}",
            "s".repeat(Progress::MAX_STAGE_LEN + 1)
        );
        assert_eq!(parse(&long), Err(StageTooLong));
    }

    /// A seeded fuzz: random bytes and mutated valid lines never panic the
    /// parser, and whatever it accepts is a report the store accepts.
    #[test]
    fn arbitrary_lines_never_panic_and_accepted_ones_are_valid() {
        const PIECES: &[&str] = &[
            "::progress",
            " ",
            "stage=",
            "percent=",
            "\"",
            "\\",
            "=",
            "100",
            "-1",
            "1e3",
            "NaN",
            "inf",
            "50.5",
            "x",
            "\u{0}",
            "é",
            "\t",
            "stage=\"a b\"",
            "percent=0",
        ];
        let mut rng = fastrand::Rng::with_seed(0x6a6f6273);
        for round in 0..100_000 {
            let line = if round % 2 == 0 {
                let bytes: Vec<u8> = (0..rng.usize(0..80)).map(|_| rng.u8(..)).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                let mut line = String::from("::progress");
                for _ in 0..rng.usize(0..12) {
                    line.push_str(PIECES[rng.usize(..PIECES.len())]);
                }
                line
            };
            if let Ok(Some(report)) = parse(&line) {
                let progress = match report.percent {
                    Some(p) => Progress::percent(report.stage.clone(), p),
                    None => Progress::indeterminate(report.stage.clone()),
                };
                assert!(progress.validate().is_ok(), "{line:?} gave {report:?}");
            }
        }
    }
}
