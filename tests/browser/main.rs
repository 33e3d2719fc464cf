//! The dashboard in a real headless Chromium, driven over the DevTools
//! protocol: a deep link to a job's page, live progress, charts drawn from
//! the database, a cancel click, a bulk retry of a filter, a search, the
//! cron page with a disable click, a paused queue, dark mode and a phone's
//! width; job and schedule data shown as text, never run as markup.
//! Screenshots are kept in `target/test-artifacts/`.

#![cfg(feature = "http")]

mod cdp;
mod chromium;

use std::sync::Arc;
use std::time::Duration;

use jobstore::cron::NewCronSchedule;
use jobstore::http::HttpState;
use jobstore::{
    ClaimRequest, Claimed, Failure, JobId, JobStatus, JobStore, ListQuery, NewJob, Progress,
    SqliteStore, WorkerInfo,
};
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

    // Jobs that ran, so the charts have something to draw.
    for n in 0..3 {
        let job = store
            .create(NewJob::new("mail", json!({ "n": n })).max_attempts(1))
            .await
            .unwrap();
        let claimed = claim(&*store, "mail").await;
        assert_eq!(claimed.job.id, job.id);
        store
            .fail(&claimed.lease, &Failure::permanent("smtp refused"))
            .await
            .unwrap();
    }

    let chromium = chromium::Chromium::launch(&binary);
    let mut page = Cdp::connect(&chromium.ws_url).await.new_page().await;
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");

    // A deep link opens the job's own page: its params and error as text,
    // its attempts, nothing run.
    page.goto(&format!("{base}jobs/{}", hostile.id)).await;
    page.wait_for(
        "the job page",
        &format!(
            r#"document.getElementById('job')?.dataset.jobId === "{}" && !document.getElementById('page-job').hidden"#,
            hostile.id
        ),
    )
    .await;
    let params = page
        .eval("document.getElementById('job-params').textContent")
        .await;
    assert!(
        params
            .as_str()
            .unwrap()
            .contains(r#"<script>window.__pwned = 1; document.title = \"pwned\"</script>"#),
        "{params}"
    );
    let error = page
        .eval("document.getElementById('job-error').textContent")
        .await;
    assert_eq!(error, json!(format!("bad row: {HOSTILE}")));
    page.wait_for(
        "the attempts",
        "!document.getElementById('job-attempts-box').hidden",
    )
    .await;
    let attempt = page
        .eval(
            "[...document.querySelectorAll('#job-attempts li')].map(li => \
             li.dataset.outcome + '|' + li.querySelector('pre').textContent)",
        )
        .await;
    assert_eq!(attempt, json!([format!("failed|bad row: {HOSTILE}")]));
    page.screenshot(&artifacts.join("dashboard-job.png")).await;

    // Back to the list, by its link: the bar moves as the job reports progress.
    page.click(".crumbs a").await;
    page.wait_for("the table", &row(done.id)).await;
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
    let in_table = page
        .eval(&format!(
            "{}.querySelector('.error-line').textContent",
            row(hostile.id)
        ))
        .await;
    assert_eq!(in_table, json!(format!("bad row: {HOSTILE}")));

    // The charts, read from the database: the jobs that finished are bars.
    let finished = page
        .wait_for(
            "the finished chart's points",
            "Number(document.getElementById('chart-finished').dataset.points)",
        )
        .await;
    assert!(finished.as_u64().unwrap() >= 1, "{finished}");
    let failed_bars = page
        .eval(
            "[...document.querySelectorAll('#chart-finished rect[data-series=\"failed\"]')] \
             .reduce((n, r) => n + Number(r.dataset.value), 0)",
        )
        .await;
    assert_eq!(failed_bars, json!(4), "the hostile import and three mails");
    let completed_bars = page
        .eval(
            "[...document.querySelectorAll('#chart-finished rect[data-series=\"completed\"]')] \
             .reduce((n, r) => n + Number(r.dataset.value), 0)",
        )
        .await;
    assert_eq!(completed_bars, json!(1));
    page.screenshot(&artifacts.join("dashboard.png")).await;

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

    // A bulk retry of the current filter: the confirmation names the count,
    // and exactly the matching jobs are retried.
    page.goto(&format!("{base}?status=failed&type=mail")).await;
    page.wait_for(
        "the filtered list",
        "document.querySelectorAll('#jobs tr').length === 3 && document.getElementById('bulk')?.hidden === false",
    )
    .await;
    page.click(r#"button[data-bulk="retry"]"#).await;
    let question = page
        .wait_for(
            "the confirmation",
            "document.getElementById('confirm').open && document.getElementById('confirm-text').textContent",
        )
        .await;
    assert_eq!(question, json!("Retry all 3 failed mail jobs?"));
    page.click("#confirm-yes").await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let page_of = store
            .list(&ListQuery::default().status(JobStatus::Pending).limit(100))
            .await
            .unwrap();
        let retries: Vec<_> = page_of
            .jobs
            .iter()
            .filter(|j| j.retry_of.is_some())
            .collect();
        if !retries.is_empty() {
            assert_eq!(retries.len(), 3, "{retries:?}");
            assert!(retries.iter().all(|j| j.job_type == "mail"), "{retries:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was retried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        store.get(hostile.id).await.unwrap().status == JobStatus::Failed,
        "a failed job of another type is left alone"
    );
    let retried_of_import = store
        .list(&ListQuery::default().job_type("import").limit(10))
        .await
        .unwrap()
        .jobs
        .len();
    assert_eq!(retried_of_import, 1, "no retry of the import job");

    // Search by the last characters of an id, as the table shows it.
    let short = done.id.to_string()[28..].to_string();
    page.goto(&format!("{base}?q={short}")).await;
    page.wait_for(
        "the search result",
        &format!(
            r#"document.querySelectorAll('#jobs tr').length === 1 && {} !== null"#,
            row(done.id)
        ),
    )
    .await;

    // A count filters the list, and the status box says so.
    page.goto(&base).await;
    page.wait_for("the whole list", &row(done.id)).await;
    page.click(r#"button.count[data-status="failed"]"#).await;
    page.wait_for(
        "the failed filter",
        "document.getElementById('filter-status').value === 'failed' && location.search === '?status=failed' \
         && document.querySelectorAll('#jobs tr').length > 0 \
         && [...document.querySelectorAll('#jobs tr')].every(r => r.dataset.status === 'failed')",
    )
    .await;

    // A link that is no job's says so, and the page stays alive.
    page.goto(&format!("{base}jobs/%E0%A4%A")).await;
    page.wait_for(
        "the missing job's message",
        "document.getElementById('job-missing')?.hidden === false",
    )
    .await;
    page.click(".crumbs a").await;
    page.wait_for("the table after a bad link", &row(done.id))
        .await;

    // The cron page: the schedule's name as text, its times in its own
    // timezone beside the viewer's; disabled with a click.
    page.click(r#".nav a[data-page="cron"]"#).await;
    page.wait_for(
        "the schedules",
        "!document.getElementById('page-cron').hidden && document.querySelector('#schedule-rows tr')",
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
    let next = page
        .eval("document.querySelector('#schedule-rows .zone-time').textContent")
        .await;
    let next = next.as_str().unwrap().to_string();
    assert!(
        next.ends_with("Europe/Berlin") && next.contains("2:30"),
        "{next}"
    );
    page.screenshot(&artifacts.join("dashboard-cron.png")).await;
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

    // A queue of its own: paused with a click, it shows paused and its jobs
    // wait; a delayed job shows when it is due, not a place in line.
    let delayed = store
        .create(
            NewJob::new("render", json!({}))
                .queue("video")
                .delay(Duration::from_secs(35 * 60)),
        )
        .await
        .unwrap();
    let waiting = store
        .create(NewJob::new("render", json!({ "now": true })).queue("video"))
        .await
        .unwrap();
    page.click(r#".nav a[data-page="queues"]"#).await;
    page.wait_for(
        "the video queue",
        r#"document.querySelector('#queue-rows tr[data-queue="video"]')"#,
    )
    .await;
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
    let claimed = store
        .claim(&ClaimRequest::from_queues(
            "browser-test-worker",
            [("video", 5)],
        ))
        .await
        .unwrap();
    assert!(
        claimed.is_empty(),
        "a paused queue's job started: {claimed:?}"
    );
    assert_eq!(
        store.get(waiting.id).await.unwrap().status,
        JobStatus::Pending
    );
    page.screenshot(&artifacts.join("dashboard-queues.png"))
        .await;
    page.goto(&format!("{base}jobs/{}", delayed.id)).await;
    let note = page
        .wait_for(
            "the delayed job's page",
            "document.getElementById('job')?.hidden === false && document.getElementById('job-note').textContent",
        )
        .await;
    assert_eq!(note, json!("scheduled, in 35m"));

    // A worker whose id and host are hostile markup shows them as text.
    store
        .announce_worker(&WorkerInfo {
            id: format!("w {HOSTILE}"),
            host: format!("h {HOSTILE}"),
            pid: 4242,
            queues: [("video".to_string(), 2)].into_iter().collect(),
            version: "0.0.0".into(),
            lease: Duration::from_secs(60),
        })
        .await
        .unwrap();
    page.goto(&format!("{base}workers")).await;
    let worker = page
        .wait_for(
            "the workers page",
            "document.querySelector('#worker-rows tr[data-state=\"alive\"]')?.children[2].textContent",
        )
        .await;
    assert_eq!(worker, json!(format!("h {HOSTILE} · 4242")));

    // Nothing from any job, schedule or worker ran as markup on any page.
    assert_eq!(page.eval("typeof window.__pwned").await, json!("undefined"));
    assert_eq!(
        page.eval("document.querySelectorAll('img').length").await,
        json!(0)
    );
    assert_eq!(
        page.eval("document.querySelectorAll('script').length")
            .await,
        json!(1)
    );

    // Dark mode follows the system's setting.
    page.call(
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
    )
    .await;
    page.goto(&base).await;
    page.wait_for("the table in dark mode", &row(done.id)).await;
    assert_eq!(
        page.eval("getComputedStyle(document.body).backgroundColor")
            .await,
        json!("rgb(15, 19, 26)")
    );
    page.screenshot(&artifacts.join("dashboard-dark.png")).await;

    // 375 px wide: nothing wider than the screen but the tables, which
    // scroll inside their own box.
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await;
    page.goto(&base).await;
    page.wait_for("the table at 375 px", &row(done.id)).await;
    let width = page.eval("document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().unwrap() <= 375,
        "the page is {width} px wide"
    );
    page.screenshot(&artifacts.join("dashboard-375.png")).await;

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
