//! Choosing and opening a backend from configuration: a URL, or the
//! `JOB_STORE_*` environment variables.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{StoreError, StoreResult};
#[cfg(feature = "libsql")]
use crate::store::libsql::{LibsqlConfig, LibsqlStore};
use crate::store::location::LibsqlLocation;
use crate::store::memory::MemoryStore;
use crate::store::sqlite::SqliteStore;
use crate::store::JobStore;

/// The environment variable naming the backend.
pub const BACKEND_VAR: &str = "JOB_STORE_BACKEND";
/// The environment variable naming the local database file.
pub const DB_PATH_VAR: &str = "JOB_STORE_DB_PATH";
/// The environment variable holding a remote libSQL database's URL.
pub const TURSO_URL_VAR: &str = "TURSO_DATABASE_URL";
/// The environment variable holding a remote libSQL database's token.
pub const TURSO_TOKEN_VAR: &str = "TURSO_AUTH_TOKEN";

/// The database file used when none is configured.
pub const DEFAULT_DB_PATH: &str = "./jobstore.db";

/// Which backend to open, and where.
///
/// ```
/// use jobstore::store::{ParseStoreUrlError, StoreConfig};
///
/// # fn main() -> Result<(), ParseStoreUrlError> {
/// let config: StoreConfig = "sqlite:./jobs.db".parse()?;
/// assert_eq!(config, StoreConfig::Sqlite("./jobs.db".into()));
/// assert_eq!("memory:".parse::<StoreConfig>()?, StoreConfig::Memory);
/// let turso: StoreConfig = "libsql://jobs-acme.turso.io".parse()?;
/// assert_eq!(turso.to_string(), "libsql://jobs-acme.turso.io");
/// assert!("postgres://db".parse::<StoreConfig>().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded default: a SQLite file through Diesel.
    Sqlite(PathBuf),
    /// A libSQL database: a local file, or a server (Turso, `sqld`).
    Libsql(LibsqlLocation),
    /// Jobs in this process's memory, gone when it exits.
    Memory,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Display never shows secrets, so Debug is Display.
        write!(f, "{self}")
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig::Sqlite(PathBuf::from(DEFAULT_DB_PATH))
    }
}

impl StoreConfig {
    /// The configuration given by the environment: `JOB_STORE_BACKEND`
    /// (`sqlite`, the default, `libsql` or `memory`), `JOB_STORE_DB_PATH`
    /// (default `./jobstore.db`), and `TURSO_DATABASE_URL` /
    /// `TURSO_AUTH_TOKEN` for a remote libSQL database.
    pub fn from_env() -> StoreResult<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration given by variables read through `var` (the
    /// environment, a config file, a test's map).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        let db_path = match var(DB_PATH_VAR) {
            Some(path) if path.trim().is_empty() => {
                return Err(config_error(DB_PATH_VAR, &path, "a file path"));
            }
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(DEFAULT_DB_PATH),
        };
        let remote = match var(TURSO_URL_VAR).filter(|url| !url.trim().is_empty()) {
            Some(url) => {
                let url = url.trim().to_string();
                if !is_remote_url(&url) {
                    return Err(config_error(
                        TURSO_URL_VAR,
                        &url,
                        "a libsql://, https:// or http:// URL",
                    ));
                }
                let auth_token = var(TURSO_TOKEN_VAR).unwrap_or_default();
                Some(LibsqlLocation::Remote { url, auth_token })
            }
            None => None,
        };
        let backend = var(BACKEND_VAR);
        match (backend.as_deref().map(str::trim), remote) {
            // A Turso URL alone is enough to choose libSQL.
            (None | Some("libsql"), Some(remote)) => Ok(StoreConfig::Libsql(remote)),
            (Some("libsql"), None) => Ok(StoreConfig::Libsql(LibsqlLocation::Local(db_path))),
            (None | Some("sqlite"), _) => Ok(StoreConfig::Sqlite(db_path)),
            (Some("memory"), _) => Ok(StoreConfig::Memory),
            (Some(other), _) => Err(config_error(BACKEND_VAR, other, "sqlite, libsql or memory")),
        }
    }

    /// A remote libSQL configuration without a token takes it from
    /// `TURSO_AUTH_TOKEN`, so a URL given on the command line never has to
    /// carry the secret.
    pub fn with_token_from_env(self) -> Self {
        match self {
            StoreConfig::Libsql(LibsqlLocation::Remote { url, auth_token })
                if auth_token.is_empty() =>
            {
                StoreConfig::Libsql(LibsqlLocation::Remote {
                    url,
                    auth_token: std::env::var(TURSO_TOKEN_VAR).unwrap_or_default(),
                })
            }
            other => other,
        }
    }

    /// Opens the store this configuration names, applying pending
    /// migrations.
    pub async fn open(&self) -> StoreResult<Arc<dyn JobStore>> {
        Ok(self.open_reporting().await?.0)
    }

    /// Opens the store, and says which migrations opening it applied.
    pub async fn open_reporting(&self) -> StoreResult<(Arc<dyn JobStore>, Vec<String>)> {
        match self {
            StoreConfig::Sqlite(path) => {
                let store = SqliteStore::open(path).await?;
                let applied = store.applied_on_open().to_vec();
                Ok((Arc::new(store), applied))
            }
            #[cfg(feature = "libsql")]
            StoreConfig::Libsql(location) => {
                let store = LibsqlStore::open_with(LibsqlConfig::at(location.clone())).await?;
                let applied = store.applied_on_open().to_vec();
                Ok((Arc::new(store), applied))
            }
            #[cfg(not(feature = "libsql"))]
            StoreConfig::Libsql(location) => Err(StoreError::Config(format!(
                "{location} is a libSQL database, and this build of jobstore has no libSQL \
                 backend: enable its `libsql` feature"
            ))),
            StoreConfig::Memory => Ok((Arc::new(MemoryStore::new()), Vec::new())),
        }
    }
}

fn is_remote_url(url: &str) -> bool {
    ["libsql://", "https://", "http://"]
        .iter()
        .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len())
}

fn config_error(var: &str, value: &str, expected: &str) -> StoreError {
    StoreError::Config(format!("{var} is {value:?}; expected {expected}"))
}

/// A database URL that names no supported backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported database URL {url:?}: expected sqlite:PATH (or a plain file path), libsql:PATH, libsql://HOST, https://HOST, http://HOST or memory:"
)]
pub struct ParseStoreUrlError {
    url: String,
}

impl FromStr for StoreConfig {
    type Err = ParseStoreUrlError;

    /// Parses `sqlite:PATH` (or a plain path), `libsql:PATH`, a remote
    /// `libsql://`, `https://` or `http://` URL (its token comes from
    /// elsewhere: see [`StoreConfig::with_token_from_env`]) and `memory:`.
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let unsupported = || ParseStoreUrlError {
            url: url.to_string(),
        };
        if url == "memory:" {
            return Ok(StoreConfig::Memory);
        }
        if is_remote_url(url) {
            return Ok(StoreConfig::Libsql(LibsqlLocation::Remote {
                url: url.to_string(),
                auth_token: String::new(),
            }));
        }
        if let Some(path) = url.strip_prefix("libsql:") {
            if path.is_empty() || path.starts_with("//") {
                return Err(unsupported());
            }
            return Ok(StoreConfig::Libsql(LibsqlLocation::Local(PathBuf::from(
                path,
            ))));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(unsupported());
            }
            return Ok(StoreConfig::Sqlite(PathBuf::from(path)));
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
        Ok(StoreConfig::Sqlite(PathBuf::from(url)))
    }
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreConfig::Libsql(location) => write!(f, "{location}"),
            StoreConfig::Memory => f.write_str("memory:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> StoreResult<StoreConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StoreConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn parses_urls_and_plain_paths() {
        let sqlite = |p: &str| Ok(StoreConfig::Sqlite(PathBuf::from(p)));
        assert_eq!("sqlite:./jobstore.db".parse(), sqlite("./jobstore.db"));
        assert_eq!("sqlite:///tmp/j.db".parse(), sqlite("/tmp/j.db"));
        assert_eq!("jobs.db".parse(), sqlite("jobs.db"));
        assert_eq!("/var/lib/jobs.db".parse(), sqlite("/var/lib/jobs.db"));
        assert_eq!("memory:".parse(), Ok(StoreConfig::Memory));
        let local = |p: &str| Ok(StoreConfig::Libsql(LibsqlLocation::Local(PathBuf::from(p))));
        assert_eq!("libsql:./jobs.db".parse(), local("./jobs.db"));
        for url in [
            "libsql://jobs.turso.io",
            "https://jobs.turso.io",
            "http://127.0.0.1:8080",
        ] {
            let remote = Ok(StoreConfig::Libsql(LibsqlLocation::Remote {
                url: url.into(),
                auth_token: String::new(),
            }));
            assert_eq!(url.parse(), remote);
        }
    }

    #[test]
    fn refuses_unknown_schemes() {
        for url in [
            "postgres://localhost/db",
            "mysql:x",
            "sqlite:",
            "",
            "libsql:",
            "http://",
        ] {
            let err = url.parse::<StoreConfig>().unwrap_err();
            assert!(err.to_string().contains("expected sqlite:PATH"), "{url}");
        }
    }

    #[test]
    fn environment_defaults_to_the_embedded_file() {
        assert_eq!(from(&[]).unwrap(), StoreConfig::default());
        assert_eq!(
            from(&[(DB_PATH_VAR, "/data/jobs.db")]).unwrap(),
            StoreConfig::Sqlite("/data/jobs.db".into())
        );
        assert_eq!(
            from(&[(BACKEND_VAR, "memory")]).unwrap(),
            StoreConfig::Memory
        );
    }

    #[test]
    fn environment_chooses_libsql_local_or_remote() {
        assert_eq!(
            from(&[(BACKEND_VAR, "libsql"), (DB_PATH_VAR, "l.db")]).unwrap(),
            StoreConfig::Libsql(LibsqlLocation::Local("l.db".into()))
        );
        let remote = StoreConfig::Libsql(LibsqlLocation::Remote {
            url: "libsql://db.turso.io".into(),
            auth_token: "secret".into(),
        });
        let vars = [
            (TURSO_URL_VAR, "libsql://db.turso.io"),
            (TURSO_TOKEN_VAR, "secret"),
        ];
        assert_eq!(from(&vars).unwrap(), remote, "the URL alone chooses libSQL");
        let mut explicit = vars.to_vec();
        explicit.push((BACKEND_VAR, "libsql"));
        assert_eq!(from(&explicit).unwrap(), remote);
        let shown = format!("{remote} {remote:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn bad_environment_names_the_variable_and_what_it_expected() {
        let err = from(&[(BACKEND_VAR, "postgres")]).unwrap_err().to_string();
        assert!(err.contains("JOB_STORE_BACKEND"), "{err}");
        assert!(err.contains("sqlite, libsql or memory"), "{err}");
        let err = from(&[(DB_PATH_VAR, " ")]).unwrap_err().to_string();
        assert!(err.contains("JOB_STORE_DB_PATH"), "{err}");
        let err = from(&[(TURSO_URL_VAR, "ftp://db")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TURSO_DATABASE_URL") && err.contains("libsql://"),
            "{err}"
        );
    }
}
