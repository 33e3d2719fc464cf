//! Just enough of the Chrome DevTools Protocol: commands over one
//! WebSocket, a page session, script evaluation, real mouse clicks and
//! screenshots.

use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any wait on the browser may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A connection to the browser.
pub struct Cdp {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Cdp {
    pub async fn connect(ws_url: &str) -> Cdp {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {ws_url}: {e}"));
        Cdp { socket, next_id: 0 }
    }

    /// Sends a command (to a page session, or to the browser) and waits
    /// for its answer; events in between are skipped.
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let frame = timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} in time"))
                .expect("the browser closed the connection")
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] != json!(id) {
                continue;
            }
            if let Some(error) = answer.get("error") {
                panic!("{method} failed: {error}");
            }
            return answer["result"].clone();
        }
    }

    /// Opens a new tab and attaches to it.
    pub async fn new_page(mut self) -> Page {
        let target = self
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_string();
        let mut page = Page { cdp: self, session };
        page.call("Page.enable", json!({})).await;
        page.call("Runtime.enable", json!({})).await;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        page
    }
}

/// One tab.
pub struct Page {
    cdp: Cdp,
    session: String,
}

impl Page {
    /// Sends a DevTools command to this tab and answers its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.cdp.call(Some(&session), method, params).await
    }

    pub async fn goto(&mut self, url: &str) {
        let answer = self.call("Page.navigate", json!({ "url": url })).await;
        assert!(
            answer.get("errorText").is_none(),
            "navigating to {url}: {answer}"
        );
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(details) = answer.get("exceptionDetails") {
            panic!("{expression} threw: {details}");
        }
        answer["result"]["value"].clone()
    }

    /// Waits until the expression is truthy; returns its value.
    pub async fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.eval(expression).await;
            let truthy = !matches!(value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}: {value}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the middle of the element, with the mouse, as a person would.
    ///
    /// A page that renders again between finding the element and the
    /// mouse's release (a live update moving a row, or replacing the node
    /// pressed) swallows the click, as it would a person's: the click is
    /// checked to have reached an element matching `selector`, and made
    /// again until it does. A click that reached it is never repeated. An
    /// element not on the page is waited for, as a person would.
    pub async fn click(&mut self, selector: &str) {
        let selector_js = serde_json::to_string(selector).unwrap();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let point = self
                .eval(&format!(
                    "(() => {{ const e = document.querySelector({selector_js}); if (!e) return null; \
                     if (!window.__clicks) {{ window.__clicks = []; \
                     document.addEventListener('click', ev => window.__clicks.push( \
                       !!(ev.target.closest && ev.target.closest(window.__clickOn))), true); }} \
                     window.__clicks.length = 0; window.__clickOn = {selector_js}; \
                     e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                     return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
                ))
                .await;
            // Not there (yet): a live update may be drawing it again.
            let Some([x, y]) = point.as_array().map(|p| [p[0].clone(), p[1].clone()]) else {
                assert!(
                    Instant::now() < deadline,
                    "nothing to click at {selector} in {DEADLINE:?}"
                );
                sleep(Duration::from_millis(50)).await;
                continue;
            };
            for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
                self.call(
                    "Input.dispatchMouseEvent",
                    json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
                )
                .await;
            }
            // Whether a click reached a matching element, judged when it
            // came: the click itself may redraw the element away.
            let landed = self.eval("window.__clicks.some(hit => hit)").await;
            if landed == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no click reached {selector} in {DEADLINE:?}"
            );
        }
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&mut self, path: &std::path::Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}
