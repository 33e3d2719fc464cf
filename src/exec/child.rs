//! Running the program to its exit while reading its output.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncRead, BufReader};
use tokio::process::Child;

use super::lines::{BoundedLines, Line};
use super::progress_line::{self, Malformed};
use super::tail::Tail;
use crate::worker::{JobContext, JobError, JobErrorKind};

/// How many lines of each stream are kept.
pub(crate) const TAIL_LINES: usize = 20;

/// The most bytes kept of one line of output.
pub(crate) const LINE_BYTES: usize = 1000;

/// How long to keep reading output once the program has exited. A
/// background process it started may hold its stdout open; its output is
/// not waited for longer than this (and the worker kills it anyway once
/// the attempt ends).
const DRAIN: Duration = Duration::from_secs(2);

/// A program that ran to its exit, and the last lines it printed.
#[derive(Debug)]
pub(crate) struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// The last lines of stdout, progress lines left out.
    pub stdout_tail: Vec<String>,
    /// The last lines of stderr.
    pub stderr_tail: Vec<String>,
}

/// Waits for `child` to exit while reading its stdout (reporting its
/// progress lines through `ctx`) and its stderr at once, so neither pipe
/// can fill up and block it.
pub(crate) async fn run_to_exit(mut child: Child, ctx: &JobContext) -> Result<Finished, JobError> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| JobError::permanent("the program's stdout is not piped"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| JobError::permanent("the program's stderr is not piped"))?;
    let mut stdout_tail = Tail::new(TAIL_LINES);
    let mut stderr_tail = Tail::new(TAIL_LINES);
    let status = {
        let reading = async {
            let (out, err) = tokio::join!(
                read_stdout(stdout, ctx, &mut stdout_tail),
                read_stderr(stderr, &mut stderr_tail)
            );
            out.and(err)
        };
        tokio::pin!(reading);
        tokio::select! {
            read = &mut reading => {
                read?;
                child.wait().await?
            }
            status = child.wait() => {
                let status = status?;
                match tokio::time::timeout(DRAIN, &mut reading).await {
                    Ok(read) => read?,
                    Err(_) => tracing::warn!(
                        "the program exited but its output is still open \
                         (a background process?); not reading it any further"
                    ),
                }
                status
            }
        }
    };
    Ok(Finished {
        status,
        stdout_tail: stdout_tail.lines(),
        stderr_tail: stderr_tail.lines(),
    })
}

/// Reads stdout: progress lines are reported, the rest kept in `tail`.
async fn read_stdout(
    stdout: impl AsyncRead + Unpin,
    ctx: &JobContext,
    tail: &mut Tail,
) -> Result<(), JobError> {
    let mut lines = BoundedLines::new(BufReader::new(stdout), LINE_BYTES);
    while let Some(line) = lines.next_line().await? {
        match parse(&line) {
            Ok(None) => keep("stdout", line, tail),
            Ok(Some(report)) => {
                tracing::debug!(stage = %report.stage, percent = ?report.percent, "progress");
                match ctx.progress(&report.stage, report.percent).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == JobErrorKind::Transient => {
                        tracing::warn!(error = %e, "cannot store progress; going on");
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(problem) => {
                tracing::warn!(line = %line.text, %problem, "malformed progress line; kept as output");
                keep("stdout", line, tail);
            }
        }
    }
    Ok(())
}

/// Reads stderr into `tail`.
async fn read_stderr(stderr: impl AsyncRead + Unpin, tail: &mut Tail) -> Result<(), JobError> {
    let mut lines = BoundedLines::new(BufReader::new(stderr), LINE_BYTES);
    while let Some(line) = lines.next_line().await? {
        keep("stderr", line, tail);
    }
    Ok(())
}

/// A line as a progress report; a progress line cut for length is refused
/// rather than read in part.
fn parse(line: &Line) -> Result<Option<progress_line::ProgressLine>, Malformed> {
    match progress_line::parse(&line.text) {
        Ok(Some(_)) if line.cut => Err(Malformed::TooLong),
        parsed => parsed,
    }
}

fn keep(stream: &'static str, line: Line, tail: &mut Tail) {
    tracing::debug!(stream, line = %line.text, "output");
    tail.push(line.text);
}
