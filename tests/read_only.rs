//! A database the user may not write: a read-only directory, a read-only
//! database file, a writable file in a read-only directory. The `jobstore`
//! binary is run as a real process; each command must fail with an error
//! that names what cannot be written, and leave the directory and the file
//! exactly as they were (no file created, not one byte changed, no `-wal`
//! or `-shm` left beside it). Both local backends: `sqlite:` and `libsql:`.
//!
//! File permissions do not stop root, and CI runs as root: as root, the
//! binary runs as `nobody` (uid and gid 65534) through `setpriv`
//! (util-linux), and the files are owned by root; as any other user, the
//! modes alone make them read-only.

#![cfg(feature = "cli")]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// The unprivileged user the binary runs as when the tests run as root.
const NOBODY: u32 = 65534;

/// The commands tried against each read-only database.
const COMMANDS: &[&[&str]] = &[
    &["migrate"],
    &["enqueue", "exec", "--params", r#"{"program":"true"}"#],
    &["worker", "--once", "--no-cron"],
    &["list"],
];

/// A temp dir the binary's user can reach, and how to run the binary as a
/// user that file permissions apply to.
struct Sandbox {
    dir: tempfile::TempDir,
    /// The binary, as that user can execute it.
    binary: PathBuf,
    /// Whether the tests run as root (the binary then runs as `nobody`).
    root: bool,
}

impl Sandbox {
    /// `None` when the tests run as root and `setpriv` is missing: there is
    /// then no way to run the binary as a user permissions apply to.
    fn new() -> Option<Sandbox> {
        let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let mut sandbox = Sandbox {
            dir,
            binary: PathBuf::from(env!("CARGO_BIN_EXE_jobstore")),
            root,
        };
        if !root {
            return Some(sandbox);
        }
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!(
                "SKIPPED: running as root and setpriv (util-linux) is missing, so the \
                 binary cannot run as a user that file permissions apply to"
            );
            return None;
        }
        // The binary must be executable by `nobody`: a target directory
        // private to root is not, so use a copy then.
        if !sandbox.run(&["--version"]).status.success() {
            let bin = sandbox.dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            set_mode(&bin, 0o755);
            let copy = bin.join("jobstore");
            std::fs::copy(&sandbox.binary, &copy).unwrap();
            set_mode(&copy, 0o755);
            sandbox.binary = copy;
            let version = sandbox.run(&["--version"]);
            assert!(
                version.status.success(),
                "nobody cannot run a copy of the binary either: {}",
                String::from_utf8_lossy(&version.stderr)
            );
        }
        Some(sandbox)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the binary with `args`, as `nobody` when the tests run as root.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = if self.root {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={NOBODY}"))
                .arg(format!("--regid={NOBODY}"))
                .arg("--clear-groups")
                .arg(&self.binary);
            command
        } else {
            Command::new(&self.binary)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("JOBSTORE_DATABASE_URL")
            .env_remove("JOB_STORE_BACKEND")
            .env_remove("JOB_STORE_DB_PATH")
            .output()
            .expect("run jobstore")
    }

    /// Makes `path` writable by the binary's user.
    fn give_to_user(&self, path: &Path, mode: u32) {
        if self.root {
            std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        set_mode(path, mode);
    }
}

impl Drop for Sandbox {
    /// Makes the read-only directories writable again, so that the temp
    /// dir can be removed when the tests do not run as root.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                if entry.path().is_dir() {
                    let _ = std::fs::set_permissions(
                        entry.path(),
                        std::fs::Permissions::from_mode(0o755),
                    );
                }
            }
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Creates a database at `url` holding one pending job, as the user the
/// tests run as (root, or the owner), in a process that has exited (so no
/// `-wal` or `-shm` is left), and returns the job's id.
fn database_with_a_job(sandbox: &Sandbox, url: &str) -> String {
    let output = common::jobstore(
        sandbox.dir.path(),
        &[
            "enqueue",
            "exec",
            "--params",
            r#"{"program":"true"}"#,
            "--database-url",
            url,
        ],
    );
    let id = common::stdout_of(&output).trim().to_string();
    settle(&url_path(url));
    id
}

/// The path in a `sqlite:` or `libsql:` URL.
fn url_path(url: &str) -> PathBuf {
    PathBuf::from(url.split_once(':').map_or(url, |(_, path)| path))
}

/// Removes the write-ahead log a command may leave behind: when a
/// command's connections close at the same moment, none of them is the
/// last one, and SQLite keeps `-wal` and `-shm` (a known race at process
/// exit). One more connection, alone, checkpoints and removes them.
fn settle(db: &Path) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::SqliteConnection::establish(&db.to_string_lossy()).unwrap();
    diesel::sql_query("SELECT count(*) FROM jobs")
        .execute(&mut conn)
        .unwrap();
}

/// Runs every command of [`COMMANDS`] against `url` and checks that each
/// fails, says `expected` (and that the database is read-only), and leaves
/// `dir` (and `file`, when there is one) as they were.
fn every_command_is_refused(
    sandbox: &Sandbox,
    url: &str,
    dir: &Path,
    file: Option<&Path>,
    expected: &[String],
) {
    let listed = listing(dir);
    let bytes = file.map(|f| std::fs::read(f).unwrap());
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.extend(["--database-url", url]);
        let output = sandbox.run(&args);
        let err = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded: {err}");
        for needle in expected {
            assert!(
                err.contains(needle.as_str()),
                "{args:?}: {err:?} lacks {needle:?}"
            );
        }
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err:?}");
        assert_eq!(listing(dir), listed, "{args:?} changed {}", dir.display());
        if let (Some(file), Some(bytes)) = (file, &bytes) {
            assert!(
                std::fs::read(file).unwrap() == *bytes,
                "{args:?} changed {}",
                file.display()
            );
        }
    }
}

#[test]
fn a_read_only_directory_gets_a_clear_error_and_no_file() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    for scheme in schemes() {
        let dir = sandbox.path(&format!("{scheme}-ro"));
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o555);
        let db = dir.join("jobs.db");
        let url = format!("{scheme}:{}", db.display());
        let location = if scheme == "sqlite" {
            db.display().to_string()
        } else {
            url.clone()
        };
        every_command_is_refused(
            &sandbox,
            &url,
            &dir,
            None,
            &[
                format!("database {location} is read-only"),
                format!("the directory {} cannot be written", dir.display()),
                "the database file cannot be created there".into(),
            ],
        );
        assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));

        // The same commands work once the user may write the directory:
        // the refusal was about permissions, and nothing else stood in the
        // way.
        sandbox.give_to_user(&dir, 0o755);
        let output = sandbox.run(&["migrate", "--database-url", &url]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(db.is_file());
    }
}

#[test]
fn a_read_only_database_file_is_refused_and_left_byte_for_byte() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    // The directory is writable by everyone: only the file's own
    // permissions stand in the way.
    for scheme in schemes() {
        let dir = sandbox.path(&format!("{scheme}-file"));
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o777);
        let db = dir.join("jobs.db");
        let url = format!("{scheme}:{}", db.display());
        let id = database_with_a_job(&sandbox, &url);
        assert_eq!(listing(&dir), ["jobs.db"], "a clean database to start with");
        set_mode(&db, 0o444);
        let location = if scheme == "sqlite" {
            db.display().to_string()
        } else {
            url.clone()
        };
        every_command_is_refused(
            &sandbox,
            &url,
            &dir,
            Some(&db),
            &[
                format!("database {location} is read-only"),
                format!("the file {} cannot be written", db.display()),
            ],
        );
        assert_eq!(listing(&dir), ["jobs.db"], "no -wal or -shm created");

        // Writable again, the job is there and runs.
        sandbox.give_to_user(&db, 0o644);
        let output = sandbox.run(&["worker", "--once", "--no-cron", "--database-url", &url]);
        assert!(output.status.success(), "{}", stderr(&output));
        let output = sandbox.run(&["show", &id, "--json", "--database-url", &url]);
        assert!(output.status.success(), "{}", stderr(&output));
        let job: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(job["status"], "completed", "{job}");
    }
}

#[test]
fn a_writable_file_in_a_read_only_directory_is_refused_naming_the_directory() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    // SQLite keeps the write-ahead log in `-wal` and `-shm` files beside
    // the database: a writable file alone is not enough.
    for scheme in schemes() {
        let dir = sandbox.path(&format!("{scheme}-dir"));
        std::fs::create_dir(&dir).unwrap();
        let db = dir.join("jobs.db");
        let url = format!("{scheme}:{}", db.display());
        database_with_a_job(&sandbox, &url);
        sandbox.give_to_user(&db, 0o666);
        set_mode(&dir, 0o555);
        let location = if scheme == "sqlite" {
            db.display().to_string()
        } else {
            url.clone()
        };
        every_command_is_refused(
            &sandbox,
            &url,
            &dir,
            Some(&db),
            &[
                format!("database {location} is read-only"),
                format!("the directory {} cannot be written", dir.display()),
                "-wal and -shm".into(),
            ],
        );
        assert_eq!(listing(&dir), ["jobs.db"]);
    }
}

/// The URL schemes of the local backends this build has.
fn schemes() -> Vec<&'static str> {
    if cfg!(feature = "libsql") {
        vec!["sqlite", "libsql"]
    } else {
        vec!["sqlite"]
    }
}
