//! The `--database-url` value.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the CLI finds its jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file through the Diesel backend: `sqlite:PATH` or a plain path.
    Sqlite(PathBuf),
}

/// A `--database-url` that names no supported backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported database URL {url:?}: expected sqlite:PATH (or a plain file path)")]
pub struct ParseDatabaseUrlError {
    url: String,
}

impl FromStr for DatabaseUrl {
    type Err = ParseDatabaseUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let unsupported = || ParseDatabaseUrlError {
            url: url.to_string(),
        };
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(unsupported());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        // A scheme we do not know (`postgres://...`, `foo:bar`) is refused
        // rather than taken for a file name.
        let looks_like_scheme = url.split_once(':').is_some_and(|(scheme, _)| {
            scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+')
        });
        if url.is_empty() || looks_like_scheme {
            return Err(unsupported());
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(url)))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_urls_and_plain_paths() {
        let sqlite = |p: &str| Ok(DatabaseUrl::Sqlite(PathBuf::from(p)));
        assert_eq!("sqlite:./jobstore.db".parse(), sqlite("./jobstore.db"));
        assert_eq!("sqlite:///tmp/j.db".parse(), sqlite("/tmp/j.db"));
        assert_eq!("jobs.db".parse(), sqlite("jobs.db"));
        assert_eq!("/var/lib/jobs.db".parse(), sqlite("/var/lib/jobs.db"));
    }

    #[test]
    fn refuses_unknown_schemes() {
        for url in ["postgres://localhost/db", "mysql:x", "sqlite:", ""] {
            let err = url.parse::<DatabaseUrl>().unwrap_err();
            assert!(err.to_string().contains("expected sqlite:PATH"), "{url}");
        }
    }
}
