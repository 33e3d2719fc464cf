//! `jobstore migrate`.

use super::CliError;
use crate::store::StoreConfig;

/// Opens the database (which applies pending migrations) and reports them.
pub(super) async fn run(config: &StoreConfig, json: bool) -> Result<(), CliError> {
    let (_store, applied) = config.open_reporting().await?;
    if json {
        let report = serde_json::json!({ "database": config.to_string(), "applied": applied });
        println!("{}", super::format::json(&report)?);
        return Ok(());
    }
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
