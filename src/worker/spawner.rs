//! Starting job children so that they die with the worker process.
//!
//! A worker stops its jobs' children itself whenever it can (see
//! [`Children`](super::children::Children)); a worker that is SIGKILLed
//! cannot. On Linux each child therefore asks the kernel, before it runs
//! its program, to be sent SIGKILL when its parent goes away
//! (`PR_SET_PDEATHSIG`).
//!
//! The kernel's "parent" there is the *thread* that forked the child, not
//! the process: the signal fires as soon as that thread exits, even while
//! the rest of the worker runs on. A Tokio worker thread is not safe for
//! that (a handler calling `block_in_place` turns it into a blocking-pool
//! thread, which exits after ten idle seconds; a runtime built on a
//! short-lived thread takes its threads with it). So every child is forked
//! by one thread of its own, started on first use and never stopped: it
//! exits only with the process, which is exactly when the children should
//! die.
//!
//! Only the direct child is covered: the signal is not inherited by what
//! the child starts itself, and a set-user-ID program drops it. A
//! supervisor that kills the worker's whole cgroup or PID namespace covers
//! the rest (see README.md, "Your own job types, deployed as a service").

use std::io;
use std::sync::mpsc;
use std::sync::OnceLock;

use tokio::process::{Child, Command};
use tokio::runtime::Handle;

/// A command to start, on the runtime whose process driver will reap it,
/// and where to send it back with the outcome.
struct Request {
    command: Command,
    runtime: Handle,
    reply: mpsc::SyncSender<(Command, io::Result<Child>)>,
}

/// The spawning thread's inbox, or why the thread could not be started.
static SPAWNER: OnceLock<Result<mpsc::Sender<Request>, String>> = OnceLock::new();

/// Starts `command` as a child that is SIGKILLed if the worker process
/// dies (on Linux), from the spawning thread; the caller waits the few
/// milliseconds a fork and exec take. `command` is left as it was given.
///
/// Needs a Tokio runtime, which reaps the child.
pub(crate) fn spawn(command: &mut Command) -> io::Result<Child> {
    let runtime = Handle::try_current()
        .map_err(|e| io::Error::other(format!("a child process needs a Tokio runtime: {e}")))?;
    die_with_parent(command);
    let inbox = SPAWNER
        .get_or_init(start_thread)
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))?;
    let (reply, outcome) = mpsc::sync_channel(1);
    let request = Request {
        command: std::mem::replace(command, Command::new("")),
        runtime,
        reply,
    };
    inbox
        .send(request)
        .map_err(|_| io::Error::other("the process-spawning thread has stopped"))?;
    let (given, result) = outcome
        .recv()
        .map_err(|_| io::Error::other("the process-spawning thread has stopped"))?;
    *command = given;
    result
}

/// Starts the thread that forks every child. It holds the only receiver
/// and the sender lives in a static, so its loop never ends before the
/// process does.
fn start_thread() -> Result<mpsc::Sender<Request>, String> {
    let (inbox, requests) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("jobstore-spawner".into())
        .spawn(move || {
            for Request {
                mut command,
                runtime,
                reply,
            } in requests
            {
                let result = {
                    let _entered = runtime.enter();
                    command.spawn()
                };
                // The caller waits for this answer; if it is gone, the
                // child is dropped here and reaped by the runtime.
                let _ = reply.send((command, result));
            }
        })
        .map_err(|e| format!("cannot start the process-spawning thread: {e}"))?;
    Ok(inbox)
}

/// Has the child ask for SIGKILL when its parent thread exits, and exit at
/// once if the worker already died before it could ask.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use nix::sys::prctl::set_pdeathsig;
    use nix::sys::signal::Signal;
    use nix::unistd::getppid;

    let worker = std::process::id();
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: it makes two system calls
    // (prctl, getppid) and allocates nothing, errors included.
    unsafe {
        command.pre_exec(move || {
            set_pdeathsig(Signal::SIGKILL).map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            // Killed between fork and prctl: the child was re-parented and
            // the signal will never come.
            if u32::try_from(getppid().as_raw()).ok() != Some(worker) {
                return Err(io::Error::from_raw_os_error(
                    nix::errno::Errno::ESRCH as i32,
                ));
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no parent-death signal: a supervisor must stop the
/// children of a worker that was killed.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    use std::time::Duration;

    use nix::sys::signal::Signal;
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// `sh` waiting for a line on stdin, then exiting 7.
    fn waiting_shell() -> Command {
        let mut command = Command::new("sh");
        command
            .args(["-c", "read line; exit 7"])
            .stdin(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts a child from a thread that then exits, with `start`, and
    /// returns it once the thread is gone for good (its /proc entry
    /// removed, which the kernel does after it has sent any parent-death
    /// signal).
    fn started_by_a_thread_that_exits(start: fn(&mut Command) -> io::Result<Child>) -> Child {
        let runtime = Handle::current();
        let (child, task) = std::thread::spawn(move || {
            let _entered = runtime.enter();
            let task = std::fs::read_link("/proc/thread-self").unwrap();
            (start(&mut waiting_shell()).unwrap(), task)
        })
        .join()
        .unwrap();
        let task = std::path::Path::new("/proc").join(task);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while task.exists() {
            assert!(std::time::Instant::now() < deadline, "{task:?} still there");
            std::thread::sleep(Duration::from_millis(5));
        }
        child
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_child_outlives_the_thread_that_asked_for_it() {
        // The reason for the spawning thread: forked by a thread that
        // exits, a child asking for the parent-death signal dies with it.
        let mut direct = started_by_a_thread_that_exits(|command| {
            die_with_parent(command);
            command.spawn()
        });
        let status = tokio::time::timeout(Duration::from_secs(10), direct.wait())
            .await
            .expect("SIGKILLed when its thread exited")
            .unwrap();
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32), "{status:?}");

        // Forked by the spawning thread, it runs on until told to exit.
        let mut child = started_by_a_thread_that_exits(spawn);
        assert!(child.try_wait().unwrap().is_none(), "still running");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"exit\n").await.unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(7), "{status:?}");
    }

    #[tokio::test]
    async fn the_command_is_given_back_after_a_failed_spawn() {
        let mut command = Command::new("/no/such/program");
        let error = spawn(&mut command).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert_eq!(command.as_std().get_program(), "/no/such/program");
        let mut child = spawn(Command::new("true").kill_on_drop(true)).unwrap();
        assert!(child.wait().await.unwrap().success());
    }
}
