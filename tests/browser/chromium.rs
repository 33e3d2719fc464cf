//! Finding and starting a headless Chromium with its DevTools endpoint.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The browsers tried, in order, unless `CHROMIUM` names one.
const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// The Chromium binary, if there is one.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| CANDIDATES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium with a fresh profile, killed when dropped.
pub struct Chromium {
    child: Child,
    /// The browser's DevTools WebSocket URL.
    pub ws_url: String,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub fn launch(binary: &std::path::Path) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));

        // Chromium announces its DevTools endpoint on stderr; keep draining
        // stderr afterwards so it never blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let (found, announced) = mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(Ok(url.trim().to_string()));
                } else if seen.len() < 50 {
                    seen.push(line);
                }
            }
            let _ = found.send(Err(seen.join("\n")));
        });
        let ws_url = match announced.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(url)) => url,
            Ok(Err(output)) => panic!("chromium exited without a DevTools endpoint:\n{output}"),
            Err(_) => panic!("chromium announced no DevTools endpoint within 30 s"),
        };
        Chromium {
            child,
            ws_url,
            _profile: profile,
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
