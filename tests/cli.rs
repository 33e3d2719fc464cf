//! The `jobstore` binary, run as a user runs it.

use std::process::{Command, Output};

fn jobstore(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(args)
        .current_dir(dir)
        .env_remove("JOBSTORE_DATABASE_URL")
        .output()
        .expect("run jobstore")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn migrate_creates_the_default_database_then_reports_it_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let first = jobstore(dir.path(), &["migrate"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("applied 2026-11-22-000000_create_jobs"));
    assert!(
        dir.path().join("jobstore.db").is_file(),
        "default ./jobstore.db"
    );

    let second = jobstore(dir.path(), &["migrate"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn migrate_takes_a_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = jobstore(
        dir.path(),
        &["migrate", "--database-url", "sqlite:other.db"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("other.db").is_file());
    assert!(!dir.path().join("jobstore.db").exists());
}

#[test]
fn bad_database_urls_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("postgres://localhost/jobs", "unsupported database URL"),
        ("sqlite:missing/dir/jobs.db", "does not exist"),
    ];
    for (url, expected) in cases {
        let output = jobstore(dir.path(), &["--database-url", url, "migrate"]);
        assert!(!output.status.success(), "{url} succeeded");
        let err = stderr(&output);
        assert!(err.contains(expected), "{url}: {err}");
        assert!(!err.contains("panicked"), "{url}: {err}");
    }
}
