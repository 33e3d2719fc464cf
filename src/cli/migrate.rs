//! `jobstore migrate`.

use super::CliError;
use crate::store::StoreConfig;

/// Opens the database (which applies pending migrations) and reports them.
pub(super) async fn run(config: &StoreConfig) -> Result<(), CliError> {
    let (_store, applied) = config.open_reporting().await?;
    if applied.is_empty() {
        println!("{config}: up to date");
    } else {
        for name in &applied {
            println!("applied {name}");
        }
        println!("{config}: migrated");
    }
    Ok(())
}
