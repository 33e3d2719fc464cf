// The jobstore dashboard. Plain JavaScript, no build step.
//
// Every value that comes from a job is put on the page with textContent
// (or as an attribute value), never parsed as HTML: params, results and
// errors are shown exactly as they are.
"use strict";

(() => {
  // Every URL is relative to the page, so the dashboard works wherever the
  // router is mounted.
  const REFRESH_MS = 3000;
  // A browser opens at most six HTTP/1.1 connections to one server, and
  // each event stream holds one: follow a few jobs live and leave the rest
  // of the connections to the API calls (the other jobs update on refresh).
  const MAX_STREAMS = 3;
  const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];

  const $ = (id) => document.getElementById(id);
  const state = {
    status: "",
    type: "",
    cursor: null, // the next page's cursor, when older jobs exist
    extraPages: 0, // pages shown beyond the first
    jobs: new Map(), // id -> latest job shown
    streams: new Map(), // id -> EventSource, for running jobs
    selected: null, // id of the job in the detail panel
    attemptsKey: null, // the selected job, status and attempt whose attempts are shown
  };

  // ---- talking to the API ------------------------------------------------

  async function api(method, path) {
    const response = await fetch(path, {
      method,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      setLive("offline", "signed out: reload to sign in");
      throw new Error("a valid token is required");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && body.error ? body.error.message : response.statusText;
      throw new Error(message);
    }
    return body;
  }

  function listPath(cursor) {
    const query = new URLSearchParams();
    if (state.status) query.set("status", state.status);
    if (state.type) query.set("type", state.type);
    query.set("limit", "50");
    if (cursor) query.set("cursor", cursor);
    return "jobs?" + query.toString();
  }

  // ---- small helpers ------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function shortId(id) {
    return id.slice(-8);
  }

  function percentText(p) {
    return (Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)) + "%";
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return seconds + "s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + "h ago";
    return Math.floor(seconds / 86400) + "d ago";
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "–";
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  function isTerminal(status) {
    return status === "completed" || status === "failed" || status === "cancelled";
  }

  function canCancel(job) {
    return job.status === "pending" || (job.status === "running" && !job.cancel_requested);
  }

  function canRetry(job) {
    return job.status === "failed" || job.status === "cancelled";
  }

  let toastTimer = null;
  function toast(message, kind) {
    const box = $("toast");
    box.textContent = message;
    box.dataset.kind = kind || "info";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function setLive(stateName, text) {
    const live = $("live");
    live.dataset.state = stateName;
    live.textContent = text;
  }

  // ---- rendering a job's status and progress -------------------------------

  function statusBadge(job) {
    const badge = el("span", "status", job.status);
    badge.dataset.status = job.status;
    return badge;
  }

  // How long until `iso`, as a person reads it ("35m", "2h 5m"); null once due.
  function waitText(iso) {
    const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    if (!(seconds > 0)) return null;
    if (seconds < 60) return seconds + "s";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + "m";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + "h" + (minutes % 60 ? " " + (minutes % 60) + "m" : "");
    return Math.round(hours / 24) + "d";
  }

  function statusNote(job) {
    if (job.status === "pending" && job.queue_position !== null) {
      return job.queue_position === 0 ? "next in line" : job.queue_position + " ahead";
    }
    if (job.status === "pending") {
      const wait = waitText(job.run_at);
      if (wait) return "scheduled, in " + wait;
    }
    if (job.status === "running" && job.cancel_requested) return "cancel requested";
    return "";
  }

  // Fills `cell` with the job's stage and a bar: with the percent when the
  // stage measures one, indeterminate (no value) when it does not.
  function fillProgress(cell, job) {
    cell.replaceChildren();
    if (job.status === "running") {
      const bar = el("progress");
      bar.max = 100;
      let label = job.stage || "starting";
      if (job.progress !== null) {
        bar.value = job.progress;
        label += " · " + percentText(job.progress);
      }
      bar.setAttribute("aria-label", label);
      cell.append(el("span", "stage", label), bar);
      return;
    }
    if (job.status === "failed" && job.error) {
      cell.append(el("span", "error-line", job.error.split("\n")[0]));
      return;
    }
    const note = statusNote(job) || (job.stage ? "last stage: " + job.stage : "");
    cell.append(el("span", "stage", note || "–"));
  }

  // ---- the table ----------------------------------------------------------

  function actionButton(action, job) {
    const button = el("button", "small", action === "cancel" ? "Cancel" : "Retry");
    button.type = "button";
    button.dataset.action = action;
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      act(action, job.id, button);
    });
    return button;
  }

  function buildRow(job) {
    const row = el("tr");
    row.dataset.jobId = job.id;
    row.addEventListener("click", () => select(job.id));
    for (let i = 0; i < 6; i += 1) row.append(el("td"));
    row.cells[2].className = "progress-cell-td";
    return row;
  }

  function fillRow(row, job) {
    const [jobCell, statusCell, progressCell, attemptCell, createdCell, actionCell] = row.cells;
    jobCell.replaceChildren(el("span", "job-type", job.job_type), el("span", "job-id", shortId(job.id)));
    jobCell.title = job.id;
    statusCell.replaceChildren(statusBadge(job));
    const progress = el("div", "progress-cell");
    fillProgress(progress, job);
    progressCell.replaceChildren(progress);
    attemptCell.textContent = job.attempt + " of " + job.max_attempts;
    createdCell.replaceChildren(el("span", "when", ago(job.created_at)));
    createdCell.title = when(job.created_at);
    actionCell.replaceChildren();
    if (canCancel(job)) actionCell.append(actionButton("cancel", job));
    if (canRetry(job)) actionCell.append(actionButton("retry", job));
    row.setAttribute("aria-selected", String(job.id === state.selected));
  }

  function showJob(job) {
    state.jobs.set(job.id, job);
    const row = document.querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
    if (row) fillRow(row, job);
    if (job.id === state.selected) renderDetail(job);
  }

  function renderTable(jobs) {
    const body = $("jobs");
    const existing = new Map();
    for (const row of body.rows) existing.set(row.dataset.jobId, row);
    const rows = jobs.map((listed) => {
      // A page loaded before a stream's last event is older than what the
      // stream showed: keep the newer.
      const known = state.jobs.get(listed.id);
      const job =
        known && Date.parse(known.updated_at) > Date.parse(listed.updated_at) ? known : listed;
      const row = existing.get(job.id) || buildRow(job);
      existing.delete(job.id);
      state.jobs.set(job.id, job);
      fillRow(row, job);
      return row;
    });
    body.replaceChildren(...rows);
    for (const id of existing.keys()) {
      if (id !== state.selected) state.jobs.delete(id);
    }
    $("empty").hidden = jobs.length > 0;
    $("more").hidden = !state.cursor;
    followRunning(jobs);
  }

  // ---- live progress: event streams for a few unfinished jobs ---------------

  // The selected job first, then running jobs, then pending ones.
  function followRunning(jobs) {
    const candidates = [];
    const selected = state.selected && state.jobs.get(state.selected);
    if (selected && !isTerminal(selected.status)) candidates.push(selected.id);
    for (const status of ["running", "pending"]) {
      for (const job of jobs) if (job.status === status) candidates.push(job.id);
    }
    const wanted = new Set();
    for (const id of candidates) if (wanted.size < MAX_STREAMS) wanted.add(id);
    for (const [id, source] of state.streams) {
      if (!wanted.has(id)) {
        source.close();
        state.streams.delete(id);
      }
    }
    for (const id of wanted) {
      if (!state.streams.has(id)) follow(id);
    }
  }

  function follow(id) {
    const source = new EventSource("jobs/" + encodeURIComponent(id) + "/events");
    state.streams.set(id, source);
    source.addEventListener("job", (event) => {
      const job = JSON.parse(event.data);
      showJob(job);
      if (isTerminal(job.status)) {
        // The server ends the stream after this event; do not reconnect.
        source.close();
        state.streams.delete(id);
        refresh();
      }
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) state.streams.delete(id);
    });
  }

  // ---- the detail panel ---------------------------------------------------

  function field(list, name, value, onClick) {
    if (value === null || value === undefined || value === "") return;
    const dd = el("dd");
    if (onClick) {
      const link = el("a", null, value);
      link.addEventListener("click", onClick);
      dd.append(link);
    } else {
      dd.textContent = String(value);
    }
    list.append(el("dt", null, name), dd);
  }

  // Every attempt of the selected job, first to last; read again when the
  // job's status or attempt changes. Set only as text.
  async function loadAttempts(job) {
    const key = job.id + "/" + job.status + "/" + job.attempt;
    if (state.attemptsKey === key) return;
    state.attemptsKey = key;
    let attempts;
    try {
      attempts = await api("GET", "jobs/" + encodeURIComponent(job.id) + "/attempts");
    } catch (error) {
      state.attemptsKey = null;
      return;
    }
    if (state.selected !== job.id) return;
    const list = $("detail-attempts");
    list.replaceChildren();
    for (const attempt of attempts) {
      const item = el("li", "attempt");
      item.dataset.outcome = attempt.outcome;
      let line = "#" + attempt.attempt + " " + attempt.outcome +
        " · " + (attempt.worker || "unknown worker") +
        " · " + when(attempt.started_at);
      if (attempt.finished_at) line += " → " + when(attempt.finished_at);
      if (attempt.ended_by) line += " · rescued by " + attempt.ended_by;
      item.append(el("div", "attempt-line", line));
      if (attempt.error) item.append(el("pre", "error-text", attempt.error));
      list.append(item);
    }
    $("detail-attempts-box").hidden = attempts.length === 0;
  }

  function renderDetail(job) {
    $("detail").hidden = false;
    $("detail").dataset.jobId = job.id;
    $("detail-title").textContent = job.job_type;
    const badge = $("detail-status");
    badge.textContent = job.status;
    badge.dataset.status = job.status;
    $("detail-note").textContent = statusNote(job);
    fillProgress($("detail-progress"), job);
    $("detail-cancel").hidden = !canCancel(job);
    $("detail-cancel").disabled = false;
    $("detail-retry").hidden = !canRetry(job);
    $("detail-retry").disabled = false;

    const fields = $("detail-fields");
    fields.replaceChildren();
    field(fields, "id", job.id);
    field(fields, "attempt", job.attempt + " of " + job.max_attempts +
      (job.retry_count ? " (" + job.retry_count + " retried)" : ""));
    field(fields, "queue", job.queue + " · priority " + job.priority);
    field(fields, "place", job.queue_position === null ? null : job.queue_position + " ahead");
    field(fields, "unique key", job.unique_key);
    field(fields, "worker", job.worker);
    field(fields, "correlation", job.correlation_id);
    field(fields, "retry of", job.retry_of, () => select(job.retry_of));
    field(fields, "created", when(job.created_at));
    field(fields, "run at", when(job.run_at));
    field(fields, "started", job.started_at && when(job.started_at));
    field(fields, "finished", job.completed_at && when(job.completed_at));

    $("detail-params").textContent = json(job.params);
    $("detail-result-box").hidden = job.result === null;
    $("detail-result").textContent = job.result === null ? "" : json(job.result);
    $("detail-error-box").hidden = job.error === null;
    $("detail-error").textContent = job.error === null ? "" : job.error;
    loadAttempts(job);
  }

  async function select(id) {
    state.selected = id;
    for (const row of $("jobs").rows) {
      row.setAttribute("aria-selected", String(row.dataset.jobId === id));
    }
    try {
      const job = await api("GET", "jobs/" + encodeURIComponent(id));
      showJob(job);
      if (!isTerminal(job.status)) followRunning([...state.jobs.values()]);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  function closeDetail() {
    state.selected = null;
    $("detail").hidden = true;
    for (const row of $("jobs").rows) row.setAttribute("aria-selected", "false");
  }

  // ---- cancel and retry ---------------------------------------------------

  async function act(action, id, button) {
    if (button) button.disabled = true;
    try {
      const body = await api("POST", "jobs/" + encodeURIComponent(id) + "/" + action);
      if (action === "cancel") {
        showJob(body.job);
        toast(body.outcome === "cancelled"
          ? "Cancelled."
          : "Cancel requested: its worker stops it within a heartbeat.");
      } else {
        toast("Retry enqueued as " + shortId(body.id) + ".");
        select(body.id);
      }
      refresh();
    } catch (error) {
      toast(error.message, "error");
      if (button) button.disabled = false;
    }
  }

  // ---- counts, filters and refreshing --------------------------------------

  function renderCounts(stats) {
    for (const status of STATUSES) $("count-" + status).textContent = stats.by_status[status];
    $("count-total").textContent = stats.total;
    for (const button of document.querySelectorAll(".count")) {
      button.setAttribute("aria-pressed", String(button.dataset.status === state.status));
    }
    const types = $("job-types");
    types.replaceChildren(...Object.keys(stats.by_type).map((type) => {
      const option = el("option");
      option.value = type;
      return option;
    }));
  }

  let refreshing = null;
  function refresh() {
    // One refresh at a time; a request made meanwhile runs after it.
    if (refreshing) {
      refreshing.again = true;
      return;
    }
    refreshing = { again: false };
    load().finally(() => {
      const again = refreshing.again;
      refreshing = null;
      if (again) refresh();
    });
  }

  async function load() {
    try {
      const [stats, first] = await Promise.all([api("GET", "stats"), api("GET", listPath(null))]);
      let jobs = first.jobs;
      let cursor = first.next_cursor;
      for (let page = 0; page < state.extraPages && cursor; page += 1) {
        const more = await api("GET", listPath(cursor));
        jobs = jobs.concat(more.jobs);
        cursor = more.next_cursor;
      }
      state.cursor = cursor;
      renderCounts(stats);
      renderTable(jobs);
      setLive("live", "live · updated " + new Date().toLocaleTimeString());
      renderSchedules();
      renderQueues();
    } catch (error) {
      if ($("live").dataset.state !== "offline") setLive("offline", "offline: " + error.message);
    }
  }

  function setFilters(status, type) {
    state.status = status;
    state.type = type;
    state.extraPages = 0;
    $("filter-status").value = status;
    $("filter-type").value = type;
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (type) query.set("type", type);
    const search = query.toString();
    history.replaceState(null, "", search ? "?" + search : location.pathname);
    refresh();
  }

  // ---- queues ----------------------------------------------------------------

  async function renderQueues() {
    const queues = await api("GET", "queues");
    const section = $("queues");
    // One unpaused default queue says nothing worth a section.
    section.hidden = queues.length === 0 ||
      (queues.length === 1 && queues[0].name === "default" && !queues[0].paused &&
        queues[0].concurrency_limit === null);
    $("queue-rows").replaceChildren(...queues.map(queueRow));
  }

  function queueRow(queue) {
    const row = el("tr");
    row.dataset.queue = queue.name;
    row.dataset.paused = String(queue.paused);
    const name = el("td");
    name.append(el("strong", null, queue.name));
    const state = el("td", null, queue.paused ? "paused" : "active");
    const limit = queue.concurrency_limit === null ? "" : " / " + queue.concurrency_limit;
    const toggle = el("button", "quiet", queue.paused ? "Resume" : "Pause");
    toggle.type = "button";
    toggle.dataset.action = queue.paused ? "resume" : "pause";
    toggle.addEventListener("click", () => toggleQueue(queue, toggle));
    const actions = el("td");
    actions.append(toggle);
    row.append(name, state, el("td", null, String(queue.available)),
      el("td", null, String(queue.scheduled)), el("td", null, queue.running + limit), actions);
    return row;
  }

  async function toggleQueue(queue, button) {
    button.disabled = true;
    const action = queue.paused ? "resume" : "pause";
    try {
      await api("POST", "queues/" + encodeURIComponent(queue.name) + "/" + action);
      toast(queue.name + (action === "pause"
        ? " paused: no new jobs start; running ones finish."
        : " resumed."));
      refresh();
    } catch (error) {
      toast(error.message, "error");
      button.disabled = false;
    }
  }

  // ---- cron schedules -------------------------------------------------------

  async function renderSchedules() {
    const schedules = await api("GET", "cron");
    const section = $("schedules");
    section.hidden = schedules.length === 0;
    const body = $("schedule-rows");
    body.replaceChildren(...schedules.map(scheduleRow));
  }

  function scheduleRow(schedule) {
    const row = el("tr");
    row.dataset.name = schedule.name;
    row.dataset.enabled = String(schedule.enabled);
    const name = el("td", "schedule-name");
    name.append(el("strong", null, schedule.name), el("div", "muted", schedule.job_type));
    const timing = el("td");
    timing.append(el("code", null, schedule.cron_expression), el("div", "muted", schedule.timezone));
    const next = el("td", null, schedule.enabled ? when(schedule.next_run_at) : "disabled");
    const last = el("td");
    if (schedule.last_run_at) {
      last.append(el("div", null, ago(schedule.last_run_at)));
      if (schedule.last_job_id) {
        const link = el("button", "link", "job " + shortId(schedule.last_job_id));
        link.type = "button";
        link.addEventListener("click", () => select(schedule.last_job_id));
        last.append(link);
      }
    } else {
      last.textContent = "never";
    }
    const toggle = el("button", "quiet", schedule.enabled ? "Disable" : "Enable");
    toggle.type = "button";
    toggle.dataset.action = schedule.enabled ? "disable" : "enable";
    toggle.addEventListener("click", () => toggleSchedule(schedule, toggle));
    const actions = el("td");
    actions.append(toggle);
    row.append(name, timing, next, last, actions);
    return row;
  }

  async function toggleSchedule(schedule, button) {
    button.disabled = true;
    const action = schedule.enabled ? "disable" : "enable";
    try {
      await api("POST", "cron/" + encodeURIComponent(schedule.name) + "/" + action);
      toast(schedule.name + (action === "enable" ? " enabled." : " disabled."));
      refresh();
    } catch (error) {
      toast(error.message, "error");
      button.disabled = false;
    }
  }

  function start() {
    const params = new URLSearchParams(location.search);
    state.status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
    state.type = params.get("type") || "";
    $("filter-status").value = state.status;
    $("filter-type").value = state.type;

    $("filter-status").addEventListener("change", (e) => setFilters(e.target.value, state.type));
    let typing = null;
    $("filter-type").addEventListener("input", (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => setFilters(state.status, e.target.value.trim()), 250);
    });
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    $("filters").addEventListener("reset", () => setTimeout(() => setFilters("", ""), 0));
    for (const button of document.querySelectorAll(".count")) {
      button.addEventListener("click", () => setFilters(button.dataset.status, state.type));
    }
    $("more").addEventListener("click", () => {
      state.extraPages += 1;
      refresh();
    });
    $("detail-close").addEventListener("click", closeDetail);
    $("detail-cancel").addEventListener("click", (e) => act("cancel", state.selected, e.target));
    $("detail-retry").addEventListener("click", (e) => act("retry", state.selected, e.target));

    followChanges();
    document.addEventListener("visibilitychange", followChanges);
  }

  // One change stream per tab ("events"): the page refreshes when the
  // counts change, and not at all while the tab is hidden. Should the
  // stream fail, the page polls instead.
  let changes = null;
  let polling = null;
  function followChanges() {
    if (document.hidden) {
      if (changes) changes.close();
      changes = null;
      clearInterval(polling);
      polling = null;
      return;
    }
    if (changes || polling) return;
    changes = new EventSource("events");
    let first = true;
    changes.addEventListener("stats", () => {
      // The first event is the counts the page just loaded.
      if (!first) refresh();
      first = false;
    });
    changes.addEventListener("error", () => {
      if (changes && changes.readyState === EventSource.CLOSED) {
        changes = null;
        polling = setInterval(refresh, REFRESH_MS);
      }
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
