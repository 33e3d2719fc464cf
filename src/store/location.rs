//! Where a libSQL database lives: part of every build's configuration
//! ([`StoreConfig`](super::StoreConfig)), whether or not it has the libSQL
//! backend to open it.

use std::fmt;
use std::path::PathBuf;

/// Where a libSQL database lives.
#[derive(Clone, PartialEq, Eq)]
pub enum LibsqlLocation {
    /// A local file, opened in this process.
    Local(PathBuf),
    /// A libSQL server (Turso, or `sqld`): `libsql://`, `https://`, or
    /// `http://` for a server on the same machine.
    Remote {
        /// The server's URL.
        url: String,
        /// The auth token; empty for a server that requires none.
        auth_token: String,
    },
}

impl fmt::Display for LibsqlLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibsqlLocation::Local(path) => write!(f, "libsql:{}", path.display()),
            // Never the token.
            LibsqlLocation::Remote { url, .. } => f.write_str(url),
        }
    }
}

impl fmt::Debug for LibsqlLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
