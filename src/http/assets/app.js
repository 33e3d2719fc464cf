// The jobstore dashboard. Plain JavaScript, no build step.
//
// Every value that comes from a job, a queue, a worker or a schedule is put
// on the page with textContent (or as an attribute value), never parsed as
// HTML: params, results and errors are shown exactly as they are.
"use strict";

(() => {
  // Every URL is relative to the page's <base>, so the dashboard works
  // wherever the router is mounted.
  const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
  const FILTERS = ["q", "status", "type", "queue", "correlation_id"];
  // The least time between two refreshes a change stream asks for.
  const MIN_GAP_MS = 500;
  // How often a page is read again when nothing is said to have changed
  // (times like "3m ago" move on), and how often it is polled should the
  // change stream fail.
  const IDLE_REFRESH_MS = 15000;
  const POLL_MS = 3000;
  const CHARTS_EVERY_MS = 10000;

  const $ = (id) => document.getElementById(id);
  const roleMeta = document.querySelector('meta[name="jobstore-role"]');
  const canOperate = !roleMeta || roleMeta.content !== "viewer";

  const state = {
    page: "jobs",
    jobId: null,
    filters: { q: "", status: "", type: "", queue: "", correlation_id: "" },
    range: "hour",
    cursor: null, // the next page's cursor, when older jobs exist
    extraPages: 0, // pages shown beyond the first
    job: null, // the job on the job page
    attemptsKey: null, // the job, status and attempt whose attempts are shown
    charts: null, // the activity last read: { range, at, activity }
  };

  // ---- talking to the API ------------------------------------------------

  async function api(method, path, body) {
    const init = {
      method,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      setLive("offline", "signed out: reload to sign in");
      throw new Error("a valid token is required");
    }
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const message = answer && answer.error ? answer.error.message : response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  function jobPath(id) {
    return "jobs/" + encodeURIComponent(id);
  }

  // ---- small helpers ------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text, className) {
    const a = el("a", className, text);
    a.href = href;
    a.dataset.nav = "";
    return a;
  }

  function button(text, className, onClick) {
    const b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
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

  function duration(ms) {
    if (ms === null || ms === undefined) return "";
    if (ms < 10) return (Math.round(ms * 10) / 10) + "ms";
    if (ms < 1000) return Math.round(ms) + "ms";
    const s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + "s";
    const m = s / 60;
    if (m < 60) return (m < 10 ? m.toFixed(1) : Math.round(m)) + "m";
    return (m / 60).toFixed(1) + "h";
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
    toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
  }

  function setLive(stateName, text) {
    const live = $("live");
    live.dataset.state = stateName;
    live.textContent = text;
  }

  // Asks before an action on many jobs (or a delete); resolves true on yes.
  function confirmAction(text, yes) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yes;
    return new Promise((resolve) => {
      const done = (answer) => {
        $("confirm-yes").removeEventListener("click", onYes);
        $("confirm-no").removeEventListener("click", onNo);
        dialog.removeEventListener("cancel", onNo);
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      const onYes = () => done(true);
      const onNo = () => done(false);
      $("confirm-yes").addEventListener("click", onYes);
      $("confirm-no").addEventListener("click", onNo);
      dialog.addEventListener("cancel", onNo);
      dialog.showModal();
    });
  }

  // ---- pages and their URLs ------------------------------------------------

  // The path below the dashboard's mount point: "", "jobs/ID", "queues"...
  function relativePath() {
    const basePath = new URL(document.baseURI).pathname;
    const path = location.pathname.startsWith(basePath)
      ? location.pathname.slice(basePath.length)
      : location.pathname.replace(/^\//, "");
    return path.replace(/\/+$/, "");
  }

  function route() {
    const path = relativePath();
    state.jobId = null;
    if (path.startsWith("jobs/")) {
      state.page = "job";
      const raw = path.slice("jobs/".length);
      try {
        state.jobId = decodeURIComponent(raw);
      } catch (error) {
        state.jobId = raw; // not a job id: the job page says so
      }
    } else if (path === "queues" || path === "workers" || path === "cron") {
      state.page = path;
    } else {
      state.page = "jobs";
      const params = new URLSearchParams(location.search);
      for (const name of FILTERS) state.filters[name] = (params.get(name) || "").trim();
      if (!STATUSES.includes(state.filters.status)) state.filters.status = "";
      state.extraPages = 0;
    }
    for (const page of ["jobs", "job", "queues", "workers", "cron"]) {
      $("page-" + page).hidden = page !== state.page;
    }
    for (const a of document.querySelectorAll(".nav a")) {
      const current = a.dataset.page === state.page || (a.dataset.page === "jobs" && state.page === "job");
      if (current) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (state.page === "jobs") fillFilterInputs();
    if (state.page !== "job") {
      state.job = null;
      state.attemptsKey = null;
    }
    document.title = titleFor(state.page);
  }

  function titleFor(page) {
    const names = { jobs: "Jobs", job: "Job", queues: "Queues", workers: "Workers", cron: "Cron" };
    return page === "jobs" ? "jobstore" : names[page] + " · jobstore";
  }

  // Filters typed but not yet applied (they apply 300 ms after typing).
  let typing = null;

  // Applies every filter box as it reads now.
  function applyTypedFilters() {
    clearTimeout(typing);
    typing = null;
    if (state.page !== "jobs") return false;
    const typed = {
      q: $("filter-q").value.trim(),
      type: $("filter-type").value.trim(),
      queue: $("filter-queue").value.trim(),
      correlation_id: $("filter-correlation").value.trim(),
    };
    let changed = false;
    for (const [name, value] of Object.entries(typed)) {
      if (state.filters[name] !== value) {
        state.filters[name] = value;
        changed = true;
      }
    }
    return changed;
  }

  function navigate(href) {
    clearTimeout(typing);
    typing = null;
    const url = new URL(href, document.baseURI);
    if (url.href === location.href) return;
    history.pushState(null, "", url.href);
    route();
    window.scrollTo(0, 0);
    refreshNow();
  }

  // Same-origin links marked data-nav change page without a reload (a
  // modified click still opens a tab).
  function onLinkClick(event) {
    const a = event.target.closest("a[data-nav]");
    if (!a || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(a.href);
  }

  // ---- refreshing: one change stream per tab --------------------------------

  let refreshing = null;
  let lastRefresh = 0;
  let pending = null;

  // A refresh soon, but not more often than MIN_GAP_MS, and one at a time.
  function scheduleRefresh() {
    if (pending) return;
    const wait = Math.max(0, lastRefresh + MIN_GAP_MS - Date.now());
    pending = setTimeout(() => {
      pending = null;
      refreshNow();
    }, wait);
  }

  function refreshNow() {
    if (refreshing) {
      refreshing.again = true;
      return;
    }
    refreshing = { again: false };
    lastRefresh = Date.now();
    const loaders = { jobs: loadJobs, job: loadJob, queues: loadQueues, workers: loadWorkers, cron: loadCron };
    loaders[state.page]()
      .then(() => setLive("live", "live · updated " + new Date().toLocaleTimeString()))
      .catch((error) => {
        if ($("live").dataset.state !== "offline") setLive("offline", "offline: " + error.message);
      })
      .finally(() => {
        const again = refreshing.again;
        refreshing = null;
        if (again) scheduleRefresh();
      });
  }

  // The server says when the counts change ("stats") and when something
  // else does ("change"); the page reads what it shows again. The stream is
  // closed while the tab is hidden. Should it fail, the page polls.
  let changes = null;
  let polling = null;
  let idle = null;
  function followChanges() {
    if (document.hidden) {
      if (changes) changes.close();
      changes = null;
      clearInterval(polling);
      polling = null;
      clearInterval(idle);
      idle = null;
      return;
    }
    if (!idle) idle = setInterval(scheduleRefresh, IDLE_REFRESH_MS);
    if (changes || polling) return;
    changes = new EventSource("events");
    let first = true;
    changes.addEventListener("stats", () => {
      // The first event is the counts as they are: read once, at opening.
      if (!first) scheduleRefresh();
      first = false;
    });
    changes.addEventListener("change", scheduleRefresh);
    changes.addEventListener("error", () => {
      if (changes && changes.readyState === EventSource.CLOSED) {
        changes = null;
        polling = setInterval(scheduleRefresh, POLL_MS);
      }
    });
    refreshNow();
  }

  // ---- a job's status and progress ------------------------------------------

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

  // ---- the jobs page -----------------------------------------------------------

  function listPath(cursor) {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (state.filters[name]) query.set(name, state.filters[name]);
    query.set("limit", "50");
    if (cursor) query.set("cursor", cursor);
    return "jobs?" + query.toString();
  }

  // What the page shows: a response read for another view is dropped.
  function viewKey() {
    return JSON.stringify([state.page, state.jobId, state.filters, state.range, state.extraPages]);
  }

  async function loadJobs() {
    const key = viewKey();
    // The charts change by the minute: read again at most every
    // CHARTS_EVERY_MS, or at once for another range.
    const chartsDue = !state.charts || state.charts.range !== state.range ||
      Date.now() - state.charts.at > CHARTS_EVERY_MS;
    const [stats, first, activity, queues] = await Promise.all([
      api("GET", "stats"),
      api("GET", listPath(null)),
      chartsDue ? api("GET", "stats/activity?range=" + state.range) : null,
      api("GET", "queues"),
    ]);
    if (activity) state.charts = { range: activity.range, at: Date.now(), activity };
    let jobs = first.jobs;
    let cursor = first.next_cursor;
    for (let page = 0; page < state.extraPages && cursor; page += 1) {
      const more = await api("GET", listPath(cursor));
      jobs = jobs.concat(more.jobs);
      cursor = more.next_cursor;
    }
    if (viewKey() !== key) return;
    state.cursor = cursor;
    renderCounts(stats);
    renderOptions("queue-names", queues.map((q) => q.name));
    renderCharts(state.charts.activity);
    renderTable(jobs);
    renderBulk();
  }

  function renderCounts(stats) {
    for (const status of STATUSES) $("count-" + status).textContent = stats.by_status[status];
    $("count-total").textContent = stats.total;
    for (const b of document.querySelectorAll(".count")) {
      b.setAttribute("aria-pressed", String(b.dataset.status === state.filters.status));
    }
    renderOptions("job-types", Object.keys(stats.by_type));
  }

  function renderOptions(listId, values) {
    $(listId).replaceChildren(...values.map((value) => {
      const option = el("option");
      option.value = value;
      return option;
    }));
  }

  function actionButton(action, job) {
    const b = button(action === "cancel" ? "Cancel" : "Retry", "small operator", (event) => {
      event.stopPropagation();
      act(action, job, b);
    });
    b.dataset.action = action;
    return b;
  }

  function fillRow(row, job) {
    row.dataset.jobId = job.id;
    row.dataset.status = job.status;
    const cells = [];
    const jobCell = el("td");
    jobCell.append(link(jobPath(job.id), job.job_type, "job-type"), el("span", "job-id", shortId(job.id)));
    if (job.queue !== "default") jobCell.append(el("span", "job-queue", job.queue));
    jobCell.title = job.id;
    cells.push(jobCell);
    const statusCell = el("td");
    statusCell.append(statusBadge(job));
    cells.push(statusCell);
    const progressCell = el("td");
    const progress = el("div", "progress-cell");
    fillProgress(progress, job);
    progressCell.append(progress);
    cells.push(progressCell);
    cells.push(el("td", null, job.attempt + " of " + job.max_attempts));
    const created = el("td");
    created.append(el("span", "when", ago(job.created_at)));
    created.title = when(job.created_at);
    cells.push(created);
    const actions = el("div", "row-actions");
    if (canOperate && canCancel(job)) actions.append(actionButton("cancel", job));
    if (canOperate && canRetry(job)) actions.append(actionButton("retry", job));
    const actionCell = el("td");
    actionCell.append(actions);
    cells.push(actionCell);
    row.replaceChildren(...cells);
  }

  function renderTable(jobs) {
    const body = $("jobs");
    body.replaceChildren(...jobs.map((job) => {
      const row = el("tr");
      row.addEventListener("click", (event) => {
        if (event.target.closest("a, button")) return;
        navigate(jobPath(row.dataset.jobId));
      });
      fillRow(row, job);
      return row;
    }));
    $("empty").hidden = jobs.length > 0;
    $("more").hidden = !state.cursor;
  }

  function fillFilterInputs() {
    $("filter-q").value = state.filters.q;
    $("filter-status").value = state.filters.status;
    $("filter-type").value = state.filters.type;
    $("filter-queue").value = state.filters.queue;
    $("filter-correlation").value = state.filters.correlation_id;
  }

  function setFilter(name, value) {
    if (state.page !== "jobs") return;
    applyTypedFilters();
    state.filters[name] = value.trim();
    fillFilterInputs();
    state.extraPages = 0;
    const query = new URLSearchParams();
    for (const key of FILTERS) if (state.filters[key]) query.set(key, state.filters[key]);
    const search = query.toString();
    history.replaceState(null, "", search ? "?" + search : "./");
    refreshNow();
  }

  // ---- bulk actions on the current filter -------------------------------------

  // The filter a bulk action takes: the list's filters (a search is not
  // one: it finds, it does not select).
  function bulkFilter() {
    const f = state.filters;
    const filter = {};
    if (f.status) filter.statuses = [f.status];
    if (f.type) filter.job_type = f.type;
    if (f.queue) filter.queue = f.queue;
    if (f.correlation_id) filter.correlation_id = f.correlation_id;
    return filter;
  }

  function describeFilter() {
    const f = state.filters;
    const words = [];
    if (f.status) words.push(f.status);
    if (f.type) words.push(f.type);
    words.push("jobs");
    if (f.queue) words.push("in queue " + f.queue);
    if (f.correlation_id) words.push("with correlation id " + f.correlation_id);
    return words.join(" ");
  }

  function renderBulk() {
    const filter = bulkFilter();
    const show = canOperate && !state.filters.q && Object.keys(filter).length > 0;
    $("bulk").hidden = !show;
    if (show) $("bulk-summary").textContent = "All " + describeFilter() + ":";
  }

  const BULK_WORDS = {
    retry: ["Retry", "retried", "would be retried"],
    cancel: ["Cancel", "cancelled", "would be cancelled"],
    delete: ["Delete", "deleted", "would be deleted"],
  };

  async function bulk(action, b) {
    if (applyTypedFilters()) {
      // The boxes said more than the list showed: show it first.
      setFilter("q", state.filters.q);
      toast("The filter changed: check the list, then try again.");
      return;
    }
    const filter = bulkFilter();
    const asked = JSON.stringify(filter);
    b.disabled = true;
    try {
      const preview = await api("POST", "jobs/bulk", { action, filter, dry_run: true });
      const count = preview.applied + preview.requested;
      if (count === 0) {
        toast("No " + describeFilter() + " " + BULK_WORDS[action][2] + ".");
        return;
      }
      let text = BULK_WORDS[action][0] + " all " + count + " " + describeFilter() + "?";
      if (preview.requested) text += " " + preview.requested + " running: their workers are asked to stop.";
      if (preview.skipped) text += " " + preview.skipped + " matching are left as they are.";
      if (!(await confirmAction(text, BULK_WORDS[action][0] + " " + count))) return;
      if (applyTypedFilters() || JSON.stringify(bulkFilter()) !== asked) {
        setFilter("q", state.filters.q);
        toast("The filter changed meanwhile: nothing was done.", "error");
        return;
      }
      const done = await api("POST", "jobs/bulk", { action, filter });
      let message = done.applied + " " + BULK_WORDS[action][1] + ".";
      if (done.requested) message += " " + done.requested + " asked to stop.";
      toast(message);
      refreshNow();
    } catch (error) {
      toast(error.message, "error");
    } finally {
      b.disabled = false;
    }
  }

  // ---- charts, drawn from the database ---------------------------------------------

  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  // A round upper bound for an axis.
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function timeLabel(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // Draws bars (stacked) and lines over the window's spans. Each drawn
  // point carries its series, value and span start as data attributes.
  function drawChart(container, starts, series, format) {
    const W = 600, H = 160, L = 44, R = 8, T = 10, B = 22;
    const n = starts.length;
    const width = W - L - R, height = H - T - B;
    let max = 0;
    for (let i = 0; i < n; i += 1) {
      let stacked = 0;
      for (const s of series) {
        const v = s.values[i];
        if (v === null || v === undefined) continue;
        if (s.kind === "bar") stacked += v;
        else max = Math.max(max, v);
      }
      max = Math.max(max, stacked);
    }
    max = niceMax(max);
    const x = (i) => L + (i * width) / n;
    const y = (v) => T + height - (v / max) * height;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plot-svg", role: "img" });
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      chart.append(svg("line", { x1: L, x2: W - R, y1: y(value), y2: y(value), class: "grid" }));
      const label = svg("text", { x: L - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" });
      label.textContent = format(value);
      chart.append(label);
    }
    for (const [i, anchor] of [[0, "start"], [Math.floor(n / 2), "middle"], [n - 1, "end"]]) {
      if (i < 0 || i >= n) continue;
      const at = anchor === "end" ? x(i + 1) : anchor === "middle" ? x(i) + width / n / 2 : x(i);
      const label = svg("text", { x: at, y: H - 6, class: "axis", "text-anchor": anchor });
      label.textContent = timeLabel(starts[i]);
      chart.append(label);
    }
    let points = 0;
    const bottoms = new Array(n).fill(0);
    const band = width / Math.max(n, 1);
    for (const s of series) {
      if (s.kind === "bar") {
        for (let i = 0; i < n; i += 1) {
          const v = s.values[i] || 0;
          if (v <= 0) continue;
          const top = y(bottoms[i] + v);
          const rect = svg("rect", {
            x: x(i) + band * 0.1, y: top, width: Math.max(band * 0.8, 1), height: y(bottoms[i]) - top,
            class: "bar " + s.cls, "data-series": s.name, "data-value": v, "data-start": starts[i].toISOString(),
          });
          const title = svg("title");
          title.textContent = timeLabel(starts[i]) + " · " + s.name + ": " + format(v);
          rect.append(title);
          chart.append(rect);
          bottoms[i] += v;
          points += 1;
        }
      } else {
        let d = "";
        const dots = [];
        for (let i = 0; i < n; i += 1) {
          const v = s.values[i];
          if (v === null || v === undefined) continue;
          const cx = x(i) + band / 2;
          const joined = i > 0 && s.values[i - 1] !== null && s.values[i - 1] !== undefined;
          d += (joined ? " L" : " M") + cx + " " + y(v);
          const dot = svg("circle", {
            cx, cy: y(v), r: 2.2, class: "dot " + s.cls,
            "data-series": s.name, "data-value": v, "data-start": starts[i].toISOString(),
          });
          const title = svg("title");
          title.textContent = timeLabel(starts[i]) + " · " + s.name + ": " + format(v);
          dot.append(title);
          dots.push(dot);
          if (v > 0) points += 1;
        }
        if (d) chart.append(svg("path", { d: d.trim(), class: "line " + s.cls }));
        chart.append(...dots);
      }
    }
    chart.setAttribute("aria-label", series.map((s) => s.name).join(", ") + ": " + points + " points with data");
    container.dataset.points = String(points);
    container.replaceChildren(chart);
  }

  function renderCharts(activity) {
    const queue = state.filters.queue;
    const queues = activity.queues.filter((q) => !queue || q.queue === queue);
    const n = queues.length ? queues[0].buckets.length : activity.range === "day" ? 24 : 60;
    const since = Date.parse(activity.since);
    const starts = Array.from({ length: n }, (_, i) => new Date(since + i * activity.bucket_seconds * 1000));
    const sum = (field) => starts.map((_, i) => queues.reduce((total, q) => total + (q.buckets[i] ? q.buckets[i][field] : 0), 0));
    const worst = (field) => starts.map((_, i) => {
      const values = queues.map((q) => q.buckets[i] && q.buckets[i][field]).filter((v) => v !== null && v !== undefined);
      return values.length ? Math.max(...values) : null;
    });
    const count = (v) => (v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k" : String(Math.round(v * 10) / 10));
    drawChart($("chart-finished"), starts, [
      { name: "completed", cls: "s-completed", kind: "bar", values: sum("completed") },
      { name: "failed", cls: "s-failed", kind: "bar", values: sum("failed") },
    ], count);
    drawChart($("chart-depth"), starts, [
      { name: "waiting", cls: "s-depth", kind: "line", values: sum("depth") },
    ], count);
    drawChart($("chart-wait"), starts, [
      { name: "p50", cls: "s-p50", kind: "line", values: worst("wait_p50_ms") },
      { name: "p95", cls: "s-p95", kind: "line", values: worst("wait_p95_ms") },
    ], (v) => (v === 0 ? "0" : duration(v)));
    for (const per of document.querySelectorAll("#charts .per")) per.textContent = activity.range === "day" ? "hour" : "minute";
    $("charts-scope").textContent = queue ? "· queue " + queue : "· all queues";
    $("wait-scope").textContent = !queue && queues.length > 1 ? "(the slowest queue's)" : "";
  }

  // ---- one job -------------------------------------------------------------------

  async function loadJob() {
    const id = state.jobId;
    const key = viewKey();
    let job;
    try {
      job = await api("GET", jobPath(id));
    } catch (error) {
      if (viewKey() !== key) return;
      if (error.status === 404 || error.status === 400) {
        $("job").hidden = true;
        $("job-missing").hidden = false;
        $("job-missing").textContent = error.status === 404
          ? "No job " + id + ": it may have been deleted or pruned."
          : error.message;
        return;
      }
      throw error;
    }
    if (viewKey() !== key) return;
    state.job = job;
    renderJob(job);
    await loadAttempts(job);
  }

  function field(list, name, value, href) {
    if (value === null || value === undefined || value === "") return;
    const dd = el("dd");
    if (href) dd.append(link(href, value));
    else dd.textContent = String(value);
    list.append(el("dt", null, name), dd);
  }

  function renderJob(job) {
    $("job-missing").hidden = true;
    $("job").hidden = false;
    $("job").dataset.jobId = job.id;
    $("job").dataset.status = job.status;
    document.title = job.job_type + " " + shortId(job.id) + " · jobstore";
    $("job-title").textContent = job.job_type;
    const badge = $("job-status");
    badge.textContent = job.status;
    badge.dataset.status = job.status;
    $("job-note").textContent = statusNote(job);
    fillProgress($("job-progress"), job);
    $("job-cancel").hidden = !canCancel(job);
    $("job-retry").hidden = !canRetry(job);
    $("job-delete").hidden = job.status === "running";

    const fields = $("job-fields");
    fields.replaceChildren();
    field(fields, "id", job.id);
    field(fields, "queue", job.queue + " · priority " + job.priority, "./?queue=" + encodeURIComponent(job.queue));
    if (job.status === "pending") {
      const wait = waitText(job.run_at);
      field(fields, "place", job.queue_position === null ? null : job.queue_position + " ahead");
      field(fields, "scheduled", wait ? when(job.run_at) + " (in " + wait + ")" : null);
    }
    field(fields, "attempt", job.attempt + " of " + job.max_attempts +
      (job.retry_count ? " (" + job.retry_count + " retried)" : ""));
    field(fields, "worker", job.worker);
    field(fields, "correlation", job.correlation_id,
      job.correlation_id && "./?correlation_id=" + encodeURIComponent(job.correlation_id));
    field(fields, "retry of", job.retry_of, job.retry_of && jobPath(job.retry_of));
    field(fields, "unique key", job.unique_key);
    field(fields, "created", when(job.created_at));
    field(fields, "due", when(job.run_at));
    field(fields, "started", job.started_at && when(job.started_at));
    field(fields, "finished", job.completed_at && when(job.completed_at));
    if (job.started_at && job.completed_at) {
      field(fields, "took", duration(Date.parse(job.completed_at) - Date.parse(job.started_at)));
    }

    $("job-params").textContent = json(job.params);
    $("job-result-box").hidden = job.result === null;
    $("job-result").textContent = job.result === null ? "" : json(job.result);
    $("job-error-box").hidden = job.error === null;
    $("job-error").textContent = job.error === null ? "" : job.error;
  }

  // Every attempt, first to last; read again when the job's status or
  // attempt changes. Set only as text.
  async function loadAttempts(job) {
    const key = job.id + "/" + job.status + "/" + job.attempt;
    if (state.attemptsKey === key) return;
    const attempts = await api("GET", jobPath(job.id) + "/attempts");
    if (!state.job || state.job.id !== job.id) return;
    state.attemptsKey = key;
    const list = $("job-attempts");
    list.replaceChildren(...attempts.map((attempt) => {
      const item = el("li", "attempt");
      item.dataset.outcome = attempt.outcome;
      const head = el("div", "attempt-line");
      head.append(el("strong", null, "#" + attempt.attempt + " " + attempt.outcome));
      const who = (attempt.worker || "unknown worker") + (attempt.host ? " on " + attempt.host : "");
      let line = " · " + who + " · " + when(attempt.started_at);
      if (attempt.finished_at) {
        line += " → " + when(attempt.finished_at);
        if (attempt.started_at) {
          line += " (" + duration(Date.parse(attempt.finished_at) - Date.parse(attempt.started_at)) + ")";
        }
      }
      if (attempt.ended_by) line += " · found lost and rescued by " + attempt.ended_by;
      head.append(document.createTextNode(line));
      item.append(head);
      if (attempt.error) item.append(el("pre", "error-text", attempt.error));
      return item;
    }));
    $("job-attempts-box").hidden = attempts.length === 0;
  }

  // ---- cancel, retry, delete ---------------------------------------------------------

  async function act(action, job, b) {
    if (action === "delete" &&
      !(await confirmAction("Delete job " + shortId(job.id) + " (" + job.job_type + ") and its attempts?", "Delete"))) {
      return;
    }
    if (b) b.disabled = true;
    try {
      if (action === "delete") {
        await api("DELETE", jobPath(job.id));
        toast("Deleted.");
        navigate("./");
        return;
      }
      const answer = await api("POST", jobPath(job.id) + "/" + action);
      if (action === "cancel") {
        toast(answer.outcome === "cancelled"
          ? "Cancelled."
          : "Cancel requested: its worker stops it within a heartbeat.");
        refreshNow();
      } else {
        toast("Retry enqueued as " + shortId(answer.id) + ".");
        navigate(jobPath(answer.id));
      }
    } catch (error) {
      toast(error.message, "error");
    } finally {
      if (b) b.disabled = false;
    }
  }

  // ---- queues -------------------------------------------------------------------------

  async function loadQueues() {
    const queues = await api("GET", "queues");
    if (state.page !== "queues") return;
    // A limit being typed is not taken away (nor committed) by a refresh.
    if (document.activeElement && document.activeElement.matches("#queue-rows input.limit")) return;
    $("queue-rows").replaceChildren(...queues.map(queueRow));
    $("queues-empty").hidden = queues.length > 0;
  }

  function queueRow(queue) {
    const row = el("tr");
    row.dataset.queue = queue.name;
    row.dataset.paused = String(queue.paused);
    const name = el("td");
    name.append(link("./?queue=" + encodeURIComponent(queue.name), queue.name, "strong"));
    const stateCell = el("td");
    const badge = el("span", "status", queue.paused ? "paused" : "active");
    badge.dataset.status = queue.paused ? "paused" : "active";
    stateCell.append(badge);
    const limit = el("td");
    if (canOperate) {
      const input = el("input", "limit");
      input.type = "number";
      input.min = "1";
      input.placeholder = "none";
      input.value = queue.concurrency_limit === null ? "" : String(queue.concurrency_limit);
      input.setAttribute("aria-label", "Concurrency limit of " + queue.name);
      input.addEventListener("change", () => setLimit(queue, input));
      limit.append(input);
    } else {
      limit.textContent = queue.concurrency_limit === null ? "none" : String(queue.concurrency_limit);
    }
    const actions = el("td");
    if (canOperate) {
      const toggle = button(queue.paused ? "Resume" : "Pause", "quiet", () => toggleQueue(queue, toggle));
      toggle.dataset.action = queue.paused ? "resume" : "pause";
      actions.append(toggle);
    }
    row.append(name, stateCell, el("td", null, String(queue.available)),
      el("td", null, String(queue.scheduled)), el("td", null, String(queue.running)), limit, actions);
    return row;
  }

  async function toggleQueue(queue, b) {
    b.disabled = true;
    const action = queue.paused ? "resume" : "pause";
    try {
      await api("POST", "queues/" + encodeURIComponent(queue.name) + "/" + action);
      toast(queue.name + (action === "pause"
        ? " paused: no new jobs start; running ones finish."
        : " resumed."));
      refreshNow();
    } catch (error) {
      toast(error.message, "error");
      b.disabled = false;
    }
  }

  async function setLimit(queue, input) {
    const text = input.value.trim();
    const limit = text === "" ? null : Number(text);
    if (limit !== null && !(Number.isInteger(limit) && limit >= 1)) {
      toast("A limit is a whole number of at least 1, or empty for none.", "error");
      return;
    }
    try {
      await api("PUT", "queues/" + encodeURIComponent(queue.name) + "/limit", { concurrency_limit: limit });
      toast(queue.name + (limit === null ? ": no limit." : ": at most " + limit + " running at once."));
      input.blur();
      refreshNow();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  // ---- workers ------------------------------------------------------------------------

  async function loadWorkers() {
    const workers = await api("GET", "workers");
    if (state.page !== "workers") return;
    $("worker-rows").replaceChildren(...workers.map(workerRow));
    $("workers-empty").hidden = workers.length > 0;
    const alive = workers.filter((w) => w.alive).length;
    $("workers-summary").textContent = alive + " alive, " + (workers.length - alive) + " gone in the last day";
  }

  function workerRow(worker) {
    const row = el("tr");
    row.dataset.worker = worker.id;
    const condition = worker.alive ? "alive" : worker.stopped_at ? "stopped" : "gone";
    row.dataset.state = condition;
    const name = el("td");
    name.append(el("strong", "mono", worker.id), el("div", "muted", "v" + worker.version));
    const stateCell = el("td");
    const badge = el("span", "status", condition);
    badge.dataset.status = condition;
    stateCell.append(badge);
    const queues = Object.entries(worker.queues).map(([q, n]) => q + " ×" + n).join(", ");
    const started = el("td", "when", ago(worker.started_at));
    started.title = when(worker.started_at);
    const seen = el("td", "when", ago(worker.last_seen_at));
    seen.title = when(worker.last_seen_at);
    row.append(name, stateCell, el("td", null, worker.host + " · " + worker.pid), el("td", null, queues),
      el("td", null, String(worker.running)), started, seen);
    return row;
  }

  // ---- cron schedules -----------------------------------------------------------------

  async function loadCron() {
    const schedules = await api("GET", "cron");
    if (state.page !== "cron") return;
    $("schedule-rows").replaceChildren(...schedules.map(scheduleRow));
    $("schedules-empty").hidden = schedules.length > 0;
  }

  // `iso` as a clock in `zone` ("Europe/Berlin"), with the zone's name.
  function inZone(iso, zone) {
    try {
      return new Date(iso).toLocaleString([], { timeZone: zone, dateStyle: "medium", timeStyle: "short" }) + " " + zone;
    } catch (error) {
      return when(iso) + " (" + zone + " unknown to this browser)";
    }
  }

  function scheduleRow(schedule) {
    const row = el("tr");
    row.dataset.name = schedule.name;
    row.dataset.enabled = String(schedule.enabled);
    const name = el("td", "schedule-name");
    name.append(el("strong", null, schedule.name), el("div", "muted", schedule.job_type));
    const timing = el("td");
    timing.append(el("code", null, schedule.cron_expression), el("div", "muted", schedule.timezone));
    const next = el("td");
    if (schedule.enabled) {
      next.append(el("div", "zone-time", inZone(schedule.next_run_at, schedule.timezone)),
        el("div", "muted local-time", "your time: " + when(schedule.next_run_at)));
    } else {
      next.textContent = "disabled";
    }
    const last = el("td");
    if (schedule.last_run_at) {
      last.append(el("div", null, ago(schedule.last_run_at)));
      if (schedule.last_job_id) last.append(link(jobPath(schedule.last_job_id), "job " + shortId(schedule.last_job_id)));
    } else {
      last.textContent = "never";
    }
    const actions = el("td");
    if (canOperate) {
      const toggle = button(schedule.enabled ? "Disable" : "Enable", "quiet", () => toggleSchedule(schedule, toggle));
      toggle.dataset.action = schedule.enabled ? "disable" : "enable";
      actions.append(toggle);
    }
    row.append(name, timing, next, last, actions);
    return row;
  }

  async function toggleSchedule(schedule, b) {
    b.disabled = true;
    const action = schedule.enabled ? "disable" : "enable";
    try {
      await api("POST", "cron/" + encodeURIComponent(schedule.name) + "/" + action);
      toast(schedule.name + (action === "enable" ? " enabled." : " disabled."));
      refreshNow();
    } catch (error) {
      toast(error.message, "error");
      b.disabled = false;
    }
  }

  // ---- starting -----------------------------------------------------------------------

  function start() {
    document.body.dataset.role = canOperate ? "operator" : "viewer";
    $("role").hidden = canOperate;
    document.addEventListener("click", onLinkClick);
    window.addEventListener("popstate", () => {
      route();
      refreshNow();
    });

    const typed = (name) => (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => setFilter(name, event.target.value), 300);
    };
    $("filter-q").addEventListener("input", typed("q"));
    $("filter-type").addEventListener("input", typed("type"));
    $("filter-queue").addEventListener("input", typed("queue"));
    $("filter-correlation").addEventListener("input", typed("correlation_id"));
    $("filter-status").addEventListener("change", (e) => setFilter("status", e.target.value));
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    $("filters").addEventListener("reset", () => setTimeout(() => {
      for (const name of FILTERS) state.filters[name] = "";
      setFilter("q", "");
    }, 0));
    for (const b of document.querySelectorAll(".count")) {
      b.addEventListener("click", () => setFilter("status", b.dataset.status));
    }
    for (const b of document.querySelectorAll("[data-range]")) {
      b.addEventListener("click", () => {
        state.range = b.dataset.range;
        for (const other of document.querySelectorAll("[data-range]")) {
          other.setAttribute("aria-pressed", String(other === b));
        }
        refreshNow();
      });
    }
    for (const b of document.querySelectorAll("[data-bulk]")) {
      b.addEventListener("click", () => bulk(b.dataset.bulk, b));
    }
    $("more").addEventListener("click", () => {
      state.extraPages += 1;
      refreshNow();
    });
    $("job-cancel").addEventListener("click", (e) => act("cancel", state.job, e.target));
    $("job-retry").addEventListener("click", (e) => act("retry", state.job, e.target));
    $("job-delete").addEventListener("click", (e) => act("delete", state.job, e.target));

    route();
    followChanges();
    document.addEventListener("visibilitychange", followChanges);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
