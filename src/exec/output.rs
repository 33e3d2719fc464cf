//! What a successful `exec` job leaves as its result.

use serde::{Deserialize, Serialize};

/// The result of an [`Exec`](super::Exec) job whose program exited 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// The program's exit code (0: only a successful run has a result).
    pub exit_code: i32,
    /// The last lines the program printed on stdout, oldest first, without
    /// its progress lines.
    pub stdout_tail: Vec<String>,
    /// The last lines the program printed on stderr, oldest first.
    pub stderr_tail: Vec<String>,
}
