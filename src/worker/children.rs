//! The child processes of a job, and stopping them for good.
//!
//! Every child a handler spawns through its [`JobContext`](super::JobContext)
//! leads a process group of its own, so the whole tree it starts (a shell and
//! its `ffmpeg`, say) can be signalled at once. When an attempt ends for any
//! reason, each group gets SIGTERM, then SIGKILL once the grace period runs
//! out, and the worker waits until no process of the group is left alive
//! before it writes the job's outcome.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use tokio::time::{sleep, Instant};

/// How often a group is checked while waiting for it to die: at first
/// every millisecond (most die at once), then less often, up to this.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// The first wait before a group is checked again.
const FIRST_CHECK: Duration = Duration::from_millis(1);

/// How long to wait after SIGKILL before reporting survivors (a process in
/// uninterruptible sleep can outlive SIGKILL for a while).
const KILL_WAIT: Duration = Duration::from_secs(10);

/// The process groups one attempt has started.
#[derive(Clone, Debug, Default)]
pub(crate) struct Children {
    groups: Arc<Groups>,
}

/// The groups not yet stopped. Normally [`Children::stop_all`] empties it;
/// if the attempt unwinds instead (a handler panicked), dropping the last
/// handle sends SIGKILL to whatever is left, so nothing outlives the job.
#[derive(Debug, Default)]
struct Groups(Mutex<Vec<i32>>);

impl Groups {
    fn take(&self) -> Vec<i32> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        for pgid in self.take() {
            tracing::error!(
                pgid,
                "attempt ended without stopping its children; sending SIGKILL"
            );
            signal_group(pgid, Signal::SIGKILL);
        }
    }
}

impl Children {
    /// Records the group led by a freshly spawned child.
    pub(crate) fn track(&self, pgid: i32) {
        self.groups
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pgid);
    }

    /// Stops every group: SIGTERM, up to `grace` to exit, then SIGKILL.
    /// Returns the groups that still had live processes after all that.
    pub(crate) async fn stop_all(&self, grace: Duration) -> Vec<i32> {
        let groups = self.groups.take();
        let mut survivors = Vec::new();
        for pgid in groups {
            if !stop_group(pgid, grace).await {
                survivors.push(pgid);
            }
        }
        survivors
    }
}

/// Stops one group; true once none of its processes is alive. The group's
/// leader is this process's own child, so it is also reaped here rather
/// than left a zombie.
async fn stop_group(pgid: i32, grace: Duration) -> bool {
    let dead = terminate_group(pgid, grace).await;
    if dead {
        // ECHILD: the runtime reaped it already.
        let _ = waitpid(Pid::from_raw(pgid), Some(WaitPidFlag::WNOHANG));
    }
    dead
}

async fn terminate_group(pgid: i32, grace: Duration) -> bool {
    if !group_alive(pgid) {
        return true;
    }
    signal_group(pgid, Signal::SIGTERM);
    if wait_until_dead(pgid, grace).await {
        return true;
    }
    tracing::warn!(
        pgid,
        ?grace,
        "child processes ignored SIGTERM; sending SIGKILL"
    );
    signal_group(pgid, Signal::SIGKILL);
    let dead = wait_until_dead(pgid, KILL_WAIT).await;
    if !dead {
        tracing::error!(pgid, "child processes survived SIGKILL");
    }
    dead
}

fn signal_group(pgid: i32, signal: Signal) {
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, error = %e, "cannot signal child process group"),
    }
}

async fn wait_until_dead(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut pause = FIRST_CHECK;
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(pause).await;
        pause = (pause * 2).min(CHECK_EVERY);
    }
}

/// Whether any process of group `pgid` is still running. A zombie (exited,
/// not yet reaped by its parent) runs nothing and counts as dead.
fn group_alive(pgid: i32) -> bool {
    match std::fs::read_dir("/proc") {
        Ok(entries) => entries.flatten().any(|entry| {
            let is_pid = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
            is_pid
                && std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .and_then(|stat| parse_stat(&stat))
                    .is_some_and(|(state, group)| group == pgid && state != 'Z' && state != 'X')
        }),
        // No /proc: ask the kernel whether the group still exists at all.
        Err(_) => !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH)),
    }
}

/// The state and process group from a `/proc/PID/stat` line. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted
/// from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_names() {
        let line = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0";
        assert_eq!(parse_stat(line), Some(('S', 4242)));
        assert_eq!(parse_stat("garbage"), None);
    }
}
