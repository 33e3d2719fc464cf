//! The `exec` progress-line parser, fed any line a program could print.
//!
//! Checks: it never panics; a report it accepts is one the store accepts;
//! and written back in the documented format (quoted stage, `\"` and `\\`
//! escaped), the report parses to itself.

#![no_main]

use jobstore::exec::parse_progress_line;
use jobstore::Progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The worker hands the parser one line at a time, invalid UTF-8
    // replaced; the parser must still cope with anything else.
    let line = String::from_utf8_lossy(data);
    let Ok(Some(report)) = parse_progress_line(&line) else {
        return;
    };
    let progress = Progress {
        stage: report.stage.clone(),
        percent: report.percent,
    };
    if let Err(e) = progress.validate() {
        panic!("{line:?} was accepted as {report:?}, which the store refuses: {e}");
    }
    let escaped = report.stage.replace('\\', "\\\\").replace('"', "\\\"");
    let written = match report.percent {
        Some(percent) => format!("::progress stage=\"{escaped}\" percent={percent}"),
        None => format!("::progress stage=\"{escaped}\""),
    };
    let reparsed = parse_progress_line(&written);
    assert_eq!(
        reparsed,
        Ok(Some(report.clone())),
        "{line:?} gave {report:?}, written back as {written:?}"
    );
});
