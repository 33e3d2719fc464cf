//! The router mounted under a path of another service.

use std::sync::Arc;

use jobstore::http::{HttpState, StatsResponse};
use jobstore::{JobStore, MemoryStore};
use reqwest::StatusCode;
use tokio::net::TcpListener;

use crate::support::expect;

#[tokio::test]
async fn the_router_serves_under_a_mount_path() {
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the host service" }))
        .nest("/jobs-admin", jobstore::http::router(HttpState::new(store)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    assert_eq!(
        get("/").await.unwrap().text().await.unwrap(),
        "the host service"
    );
    let stats: StatsResponse =
        expect(get("/jobs-admin/stats").await.unwrap(), StatusCode::OK).await;
    assert_eq!(stats.total, 0);

    // The dashboard's links are relative to its mount path.
    let page = get("/jobs-admin").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<base href="/jobs-admin/">"#), "{html}");
    assert!(html.contains(r#"src="assets/app.js""#));
    let script = get("/jobs-admin/assets/app.js").await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    let policy = script.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
}
