//! The dashboard in a real headless Chromium, driven over the DevTools
//! protocol: live progress, a cancel click, cron schedules with a disable
//! click, and job and schedule data shown as text, never run as markup.

#![cfg(feature = "http")]

mod cdp;
mod chromium;

use std::sync::Arc;
use std::time::Duration;

use jobstore::cron::NewCronSchedule;
use jobstore::http::HttpState;
use jobstore::{ClaimRequest, Claimed, Failure, JobId, JobStore, NewJob, Progress, SqliteStore};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use cdp::{Cdp, DEADLINE};

/// What would run if a job's data ever reached the page as HTML.
const HOSTILE: &str = r#"<script>window.__pwned = 1; document.title = "pwned"</script><img src=x onerror="window.__pwned = 2">"#;

/// The browser to use. Where none was found when the tests were built,
/// the test is reported as ignored (see `build.rs`), so this finds one.
fn browser() -> std::path::PathBuf {
    chromium::find().unwrap_or_else(|| {
        panic!("chromium not found: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM")
    })
}

async fn claim(store: &dyn JobStore, job_type: &str) -> Claimed {
    let request = ClaimRequest::new("browser-test-worker", 1).job_types([job_type]);
    store.claim(&request).await.unwrap().remove(0)
}

async fn wait_for_store(
    store: &dyn JobStore,
    id: JobId,
    what: &str,
    done: impl Fn(&jobstore::Job) -> bool,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let job = store.get(id).await.unwrap();
        if done(&job) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn row(id: JobId) -> String {
    format!(r#"document.querySelector('tr[data-job-id="{id}"]')"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(jobstore_chromium),
    ignore = "needs Chromium: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM, then run the tests again"
)]
async fn the_dashboard_shows_live_progress_cancels_and_never_runs_job_data() {
    let binary = browser();

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn JobStore> =
        Arc::new(SqliteStore::open(dir.path().join("jobs.db")).await.unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let state = HttpState::new(Arc::clone(&store));
    let server = tokio::spawn(jobstore::http::serve(listener, state, shutdown.clone()));

    // A finished job, a waiting one, a hostile one that failed, one whose
    // stage cannot measure progress, and the one whose bar we watch.
    let done = store
        .create(NewJob::new("thumbnail", json!({"file": "cat.jpg"})))
        .await
        .unwrap();
    let claimed = claim(&*store, "thumbnail").await;
    store
        .complete(&claimed.lease, json!({"bytes": 5120}))
        .await
        .unwrap();
    let hostile = store
        .create(NewJob::new("import", json!({"html": HOSTILE})).max_attempts(1))
        .await
        .unwrap();
    let claimed = claim(&*store, "import").await;
    store
        .fail(
            &claimed.lease,
            &Failure::permanent(format!("bad row: {HOSTILE}")),
        )
        .await
        .unwrap();
    let upload = store
        .create(NewJob::new("upload", json!({"to": "s3"})))
        .await
        .unwrap();
    let uploading = claim(&*store, "upload").await;
    store
        .progress(&uploading.lease, &Progress::indeterminate("uploading"))
        .await
        .unwrap();
    let watched = store
        .create(NewJob::new("transcode", json!({"file": "talk.mov"})))
        .await
        .unwrap();
    let running = claim(&*store, "transcode").await;
    store
        .progress(&running.lease, &Progress::percent("encoding", 10.0))
        .await
        .unwrap();
    store
        .create(NewJob::new("transcode", json!({"file": "next.mov"})))
        .await
        .unwrap();
    // A schedule whose name is hostile markup.
    let schedule_name = format!("nightly {HOSTILE}");
    store
        .declare_schedule(
            &NewCronSchedule::new(&schedule_name, "report", "30 2 * * *").timezone("Europe/Berlin"),
        )
        .await
        .unwrap();

    let chromium = chromium::Chromium::launch(&binary);
    let mut page = Cdp::connect(&chromium.ws_url).await.new_page().await;
    page.goto(&base).await;
    page.wait_for("the table", &row(done.id)).await;

    // The bar moves as the job reports progress.
    page.wait_for("the bar at 10%", &format!("{} === 10", js_bar(watched.id)))
        .await;
    store
        .progress(&running.lease, &Progress::percent("encoding", 60.0))
        .await
        .unwrap();
    page.wait_for("the bar at 60%", &format!("{} === 60", js_bar(watched.id)))
        .await;
    let label = page
        .eval(&format!(
            "{}.querySelector('.stage').textContent",
            row(watched.id)
        ))
        .await;
    assert_eq!(label, json!("encoding · 60%"));

    // A stage with no percent: an indeterminate bar, no number.
    let upload_bar = format!("{}.querySelector('progress')", row(upload.id));
    page.wait_for("the upload bar", &upload_bar).await;
    assert_eq!(
        page.eval(&format!("{upload_bar}.hasAttribute('value')"))
            .await,
        json!(false)
    );
    assert_eq!(
        page.eval(&format!("{upload_bar}.matches(':indeterminate')"))
            .await,
        json!(true)
    );
    let label = page
        .eval(&format!(
            "{}.querySelector('.stage').textContent",
            row(upload.id)
        ))
        .await;
    assert_eq!(label, json!("uploading"));

    // The hostile job's params and error show as text and run nothing.
    page.click(&format!(r#"tr[data-job-id="{}"] .job-type"#, hostile.id))
        .await;
    page.wait_for(
        "the detail",
        &format!(
            r#"document.getElementById('detail').dataset.jobId === "{}""#,
            hostile.id
        ),
    )
    .await;
    let params = page
        .eval("document.getElementById('detail-params').textContent")
        .await;
    assert!(
        params
            .as_str()
            .unwrap()
            .contains(r#"<script>window.__pwned = 1; document.title = \"pwned\"</script>"#),
        "{params}"
    );
    let error = page
        .eval("document.getElementById('detail-error').textContent")
        .await;
    assert_eq!(error, json!(format!("bad row: {HOSTILE}")));
    // Its attempts, each with its outcome and full error, as text.
    page.wait_for(
        "the attempts",
        "!document.getElementById('detail-attempts-box').hidden",
    )
    .await;
    let attempt = page
        .eval(
            "[...document.querySelectorAll('#detail-attempts li')].map(li => \
             li.dataset.outcome + '|' + li.querySelector('pre').textContent)",
        )
        .await;
    assert_eq!(attempt, json!([format!("failed|bad row: {HOSTILE}")]));
    let in_table = page
        .eval(&format!(
            "{}.querySelector('.error-line').textContent",
            row(hostile.id)
        ))
        .await;
    assert_eq!(in_table, json!(format!("bad row: {HOSTILE}")));
    // The schedule shows, its name as text.
    page.wait_for(
        "the schedules",
        "!document.getElementById('schedules').hidden && document.querySelector('#schedule-rows tr')",
    )
    .await;
    let shown = page
        .eval("document.querySelector('#schedule-rows .schedule-name strong').textContent")
        .await;
    assert_eq!(shown, json!(schedule_name));
    let timing = page
        .eval("document.querySelector('#schedule-rows tr').children[1].textContent")
        .await;
    assert_eq!(timing, json!("30 2 * * *Europe/Berlin"));
    assert_eq!(page.eval("typeof window.__pwned").await, json!("undefined"));
    assert_eq!(page.eval("document.title").await, json!("jobstore"));
    assert_eq!(
        page.eval("document.querySelectorAll('img').length").await,
        json!(0)
    );
    assert_eq!(
        page.eval("document.querySelectorAll('script').length")
            .await,
        json!(1)
    );

    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");
    page.screenshot(&artifacts.join("dashboard.png")).await;
    page.eval("document.getElementById('schedules').scrollIntoView()")
        .await;
    page.screenshot(&artifacts.join("dashboard-cron.png")).await;
    page.eval("window.scrollTo(0, 0)").await;

    // Cancel with a click: the worker (this test) is asked to stop, stops,
    // and the row shows it cancelled.
    page.click(&format!(
        r#"tr[data-job-id="{}"] button[data-action="cancel"]"#,
        watched.id
    ))
    .await;
    wait_for_store(&*store, watched.id, "the cancel request", |job| {
        job.cancel_requested
    })
    .await;
    let beat = store
        .heartbeat(&running.lease, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(beat.cancel_requested);
    store.mark_cancelled(&running.lease).await.unwrap();
    page.wait_for(
        "the row to show cancelled, with no bar",
        &format!(
            r#"{row}.querySelector('.status').textContent === "cancelled" && {row}.querySelector('progress') === null"#,
            row = row(watched.id)
        ),
    )
    .await;
    page.wait_for(
        "the cancelled count",
        r#"document.getElementById('count-cancelled').textContent === "1""#,
    )
    .await;

    // Disable the schedule with a click.
    page.click(r#"#schedule-rows button[data-action="disable"]"#)
        .await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while store.get_schedule(&schedule_name).await.unwrap().enabled {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the schedule was never disabled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    page.wait_for(
        "the row to show disabled",
        r#"document.querySelector('#schedule-rows tr').dataset.enabled === "false""#,
    )
    .await;

    // A queue of its own shows with a pause button; a delayed job shows
    // when it is due, not a place in line.
    let delayed = store
        .create(
            NewJob::new("render", json!({}))
                .queue("video")
                .delay(Duration::from_secs(35 * 60)),
        )
        .await
        .unwrap();
    page.wait_for(
        "the video queue",
        r#"!document.getElementById('queues').hidden && document.querySelector('#queue-rows tr[data-queue="video"]')"#,
    )
    .await;
    let note = page
        .wait_for(
            "the delayed job's row",
            &format!(
                "{row} && {row}.querySelector('.progress-cell .stage').textContent",
                row = row(delayed.id)
            ),
        )
        .await;
    assert_eq!(note, json!("scheduled, in 35m"));
    page.click(r#"#queue-rows tr[data-queue="video"] button[data-action="pause"]"#)
        .await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !store
        .queues()
        .await
        .unwrap()
        .iter()
        .any(|q| q.name == "video" && q.paused)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue was never paused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    page.wait_for(
        "the queue row to show paused",
        r#"document.querySelector('#queue-rows tr[data-queue="video"]').dataset.paused === "true""#,
    )
    .await;
    page.eval("document.getElementById('queues').scrollIntoView()")
        .await;
    page.screenshot(&artifacts.join("dashboard-queues.png"))
        .await;

    drop(page);
    drop(chromium);
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// The watched bar's value, or null while it has none.
fn js_bar(id: JobId) -> String {
    format!("(() => {{ const b = {}?.querySelector('progress'); return b && b.hasAttribute('value') ? b.value : null; }})()", row(id))
}
