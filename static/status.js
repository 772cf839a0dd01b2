// Status page: ask the API for the comparison's state every second until it
// is done or failed, and show it without reloading the page.
(function () {
  "use strict";
  const box = document.getElementById("status");
  if (!box) return;
  const byId = (id) => document.getElementById(id);
  let delay = 1000;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "\u2014";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + " s";
    let minutes = Math.floor(seconds / 60);
    seconds = String(seconds % 60).padStart(2, "0");
    if (minutes < 60) return minutes + " min " + seconds + " s";
    const hours = Math.floor(minutes / 60);
    minutes = String(minutes % 60).padStart(2, "0");
    return hours + " h " + minutes + " min";
  }

  function show(state) {
    const progress = state.progress;
    const word = byId("status-word");
    word.textContent = state.status;
    word.className = "status " + state.status;
    box.dataset.status = state.status;
    byId("stage").textContent = state.status === "queued" ? "waiting for a worker" : progress.stage;
    const bar = byId("progress");
    bar.max = Math.max(progress.total, 1);
    bar.value = state.status === "done" ? bar.max : progress.done;
    byId("count").textContent = progress.done + " / " + (progress.total || "?");
    byId("elapsed").textContent = duration(progress.elapsed_seconds);
    byId("remaining-box").hidden = state.status !== "running";
    byId("remaining").textContent = progress.remaining_seconds === null ? "\u2014" : "about " + duration(progress.remaining_seconds);
    byId("queue-box").hidden = state.status !== "queued";
    byId("queue").textContent = duration(progress.waiting_seconds) +
      (progress.queue_position ? ", " + progress.queue_position + " ahead" : "");
    byId("stuck-note").hidden = state.status !== "queued" || progress.waiting_seconds < 60;
    byId("failure").hidden = state.status !== "failed";
    byId("error").textContent = state.error;
    byId("done-box").hidden = state.status !== "done";
    byId("outliers").textContent = state.counts.outliers + " outlier" + (state.counts.outliers === 1 ? "" : "s");
    byId("result-count").textContent = state.counts.total;
    byId("report-link").href = state.report_url;
    byId("live-note").hidden = state.status === "done" || state.status === "failed";
    byId("warnings").replaceChildren(...state.warnings.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    document.title = state.status.charAt(0).toUpperCase() + state.status.slice(1) + document.title.replace(/^[^:]*:/, ":");
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.api, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const state = await response.json();
        show(state);
        delay = 1000;
        if (state.status === "done" || state.status === "failed") return;
      } else {
        delay = Math.min(delay * 2, 10000);
      }
    } catch (error) {
      delay = Math.min(delay * 2, 10000);
    }
    setTimeout(poll, delay);
  }

  if (box.dataset.status !== "done" && box.dataset.status !== "failed") poll();
})();
