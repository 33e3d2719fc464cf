//! Checks on a local database file before SQLite opens it, shared by the
//! Diesel and the local libSQL backends.
//!
//! SQLite opens a file it may not write read-only without a word, creates
//! `-wal` and `-shm` files beside it (which a later writer may then not be
//! able to use), and only fails at the first write, with "attempt to write
//! a readonly database" and no path. So a missing or read-only directory
//! and a read-only file are refused here first, naming what cannot be
//! written, before SQLite could create or change anything.

use std::path::Path;

use nix::errno::Errno;
use nix::unistd::{access, AccessFlags};

use crate::error::StoreError;

/// Refuses a database at `path` (reported as `location`) that this process
/// could not create or write: its directory missing or not writable, or
/// the file itself not writable.
///
/// Permissions are checked with `access(2)`, for the real user: root may
/// write anything but a read-only file system.
pub(crate) fn check_writable(path: &Path, location: &str) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::Open {
            location: location.to_string(),
            reason: format!("directory {} does not exist", dir.display()),
            source: None,
        });
    }
    let read_only = |reason: String| StoreError::ReadOnly {
        location: location.to_string(),
        reason,
    };
    let exists = path.exists();
    if exists {
        if let Some(why) = denied(access(path, AccessFlags::W_OK)) {
            return Err(read_only(format!(
                "the file {} cannot be written by this user ({why})",
                path.display()
            )));
        }
    }
    if let Some(why) = denied(access(dir, AccessFlags::W_OK | AccessFlags::X_OK)) {
        let consequence = if exists {
            "SQLite creates the database's -wal and -shm files there"
        } else {
            "the database file cannot be created there"
        };
        return Err(read_only(format!(
            "the directory {} cannot be written by this user ({why}), and {consequence}",
            dir.display()
        )));
    }
    Ok(())
}

/// Why an `access(2)` check said no, when it was for lack of permission or
/// a read-only file system; other failures are left for SQLite to report.
fn denied(checked: nix::Result<()>) -> Option<&'static str> {
    match checked {
        Err(Errno::EACCES | Errno::EPERM) => Some("permission denied"),
        Err(Errno::EROFS) => Some("read-only file system"),
        _ => None,
    }
}

/// Turns SQLite's "attempt to write a readonly database" (the file or its
/// `-wal`/`-shm` files became read-only after the check on open, or the
/// file system was remounted read-only) into a [`StoreError::ReadOnly`]
/// naming the database; any other error is returned as it is.
pub(crate) fn name_read_only(error: StoreError, location: &str) -> StoreError {
    match error {
        StoreError::Database { message, .. } | StoreError::Open { reason: message, .. }
            if message.contains("readonly database") =>
        {
            StoreError::ReadOnly {
                location: location.to_string(),
                reason: format!(
                    "SQLite refused to write ({message}); check that this user may write the file, its directory, and its -wal and -shm files"
                ),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readonly_database_error_names_the_database() {
        for message in [
            "attempt to write a readonly database",
            "SQLite failure: `attempt to write a readonly database`",
        ] {
            let error = name_read_only(StoreError::database(message), "/srv/jobs.db");
            let shown = error.to_string();
            assert!(matches!(error, StoreError::ReadOnly { .. }), "{error:?}");
            assert!(
                shown.starts_with("database /srv/jobs.db is read-only:"),
                "{shown}"
            );
            assert!(shown.contains(message), "{shown}");
        }
        let open = StoreError::Open {
            location: "/srv/jobs.db".into(),
            reason: "attempt to write a readonly database".into(),
            source: None,
        };
        assert!(matches!(
            name_read_only(open, "/srv/jobs.db"),
            StoreError::ReadOnly { .. }
        ));
    }

    #[test]
    fn other_errors_pass_through() {
        let error = name_read_only(StoreError::database("database is locked"), "x");
        assert!(
            error.database_message() == Some("database is locked"),
            "{error:?}"
        );
        let error = name_read_only(StoreError::InvalidInput("readonly database".into()), "x");
        assert!(matches!(error, StoreError::InvalidInput(_)), "{error:?}");
    }

    #[test]
    fn a_missing_directory_is_an_open_error() {
        let error = check_writable(Path::new("/no/such/dir/jobs.db"), "jobs").unwrap_err();
        assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
        assert!(error.to_string().contains("/no/such/dir does not exist"));
    }
}
