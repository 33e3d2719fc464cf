//! Tells the browser test (tests/browser) whether a Chromium is installed:
//! without one it is reported as ignored, with the reason, rather than
//! passing without having run. Nothing else is built differently.

use std::path::PathBuf;

/// The browsers the test tries, in order, unless `CHROMIUM` names one.
const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jobstore_chromium)");
    println!("cargo::rerun-if-env-changed=CHROMIUM");
    println!("cargo::rerun-if-env-changed=PATH");
    let mut found = std::env::var_os("CHROMIUM").is_some_and(|path| PathBuf::from(path).is_file());
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.is_dir() {
                // A browser installed later changes the directory.
                println!("cargo::rerun-if-changed={}", dir.display());
            }
            found |= CANDIDATES.iter().any(|name| dir.join(name).is_file());
        }
    }
    if found {
        println!("cargo::rustc-cfg=jobstore_chromium");
    }
}
