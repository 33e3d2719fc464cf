//! `jobstore migrate`.

use super::DatabaseUrl;
use crate::{SqliteStore, StoreError};

/// Opens the database (which applies pending migrations) and reports them.
pub async fn run(url: &DatabaseUrl) -> Result<(), StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let store = SqliteStore::open(path).await?;
            let applied = store.applied_on_open();
            if applied.is_empty() {
                let known = SqliteStore::known_migrations()?;
                println!(
                    "{url}: up to date ({} migration{} applied)",
                    known.len(),
                    if known.len() == 1 { "" } else { "s" }
                );
            } else {
                for name in applied {
                    println!("applied {name}");
                }
                println!("{url}: migrated");
            }
        }
    }
    Ok(())
}
