// Report page: filter, search and sort the thumbnails without reloading,
// open one histogram large below the toolbar, step through the histograms
// with the keyboard, and save annotations in place. The server renders the
// same choices from the query string, so links and reloads keep them.
(function () {
  "use strict";
  const toolbar = document.getElementById("toolbar");
  const grid = document.getElementById("grid");
  const slot = document.getElementById("panel-slot");
  if (!toolbar || !grid || !slot) return;
  const emptyNote = document.getElementById("empty");
  const tiles = Array.from(grid.querySelectorAll(".tile"));
  const fragmentHeaders = { "X-Requested-With": "XMLHttpRequest" };
  let current = slot.querySelector("#panel") ? Number(slot.querySelector("#panel").dataset.result) : 0;

  function choices() {
    const data = new FormData(toolbar);
    return {
      filter: data.get("filter") || "all",
      query: (data.get("q") || "").trim().toLowerCase(),
      sort: data.get("sort") || "chi2",
      comparator: data.get("comparator") || "",
    };
  }

  function matches(tile, state, filter) {
    if (state.comparator && tile.dataset.comparator !== state.comparator) return false;
    if (state.query && !tile.dataset.name.includes(state.query)) return false;
    if (filter === "outliers") return tile.dataset.outlier === "1";
    if (filter === "annotated") return tile.dataset.annotated === "1";
    if (filter === "not_comparable") return tile.dataset.comparable === "0";
    return true;
  }

  function score(tile, sort) {
    const raw = sort === "chi2" ? tile.dataset.chi2 : tile.dataset.pull;
    const value = raw === "" || raw === undefined ? NaN : Math.abs(Number(raw));
    return Number.isFinite(value) ? value : null;
  }

  function compare(sort) {
    return (a, b) => {
      if (sort !== "name") {
        const left = score(a, sort);
        const right = score(b, sort);
        if ((left === null) !== (right === null)) return left === null ? 1 : -1;
        if (left !== right && left !== null) return right - left;
      }
      return a.dataset.name.localeCompare(b.dataset.name) || a.dataset.comparator.localeCompare(b.dataset.comparator);
    };
  }

  function updateCounts(state) {
    toolbar.querySelectorAll("[data-filter]").forEach((label) => {
      const filter = label.dataset.filter;
      const count = tiles.filter((tile) => matches(tile, { ...state, query: "" }, filter)).length;
      label.querySelector(".count").textContent = count;
    });
  }

  function pageUrl(resultId) {
    const params = new URLSearchParams(new FormData(toolbar));
    if (!params.get("q")) params.delete("q");
    if (resultId) params.set("h", resultId);
    return window.location.pathname + "?" + params.toString();
  }

  function apply() {
    const state = choices();
    const ordered = tiles.slice().sort(compare(state.sort));
    let visible = 0;
    ordered.forEach((tile) => {
      tile.hidden = !matches(tile, state, state.filter);
      if (!tile.hidden) visible += 1;
      grid.append(tile);
    });
    emptyNote.hidden = visible > 0;
    updateCounts(state);
    history.replaceState(null, "", pageUrl(current));
  }

  function visibleTiles() {
    return Array.from(grid.querySelectorAll(".tile:not([hidden])"));
  }

  function markCurrent() {
    tiles.forEach((tile) => tile.classList.toggle("current", Number(tile.dataset.id) === current));
  }

  async function open(resultId, options) {
    const tile = document.getElementById("r" + resultId);
    if (!tile) return;
    current = Number(resultId);
    markCurrent();
    history.replaceState(null, "", pageUrl(current));
    slot.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(tile.dataset.panelUrl, { headers: fragmentHeaders });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      if (current !== Number(resultId)) return;
      slot.innerHTML = await response.text();
    } catch (error) {
      slot.innerHTML = "";
      const note = document.createElement("p");
      note.className = "message error";
      note.textContent = "Cannot open this histogram: " + error.message;
      slot.append(note);
    }
    slot.removeAttribute("aria-busy");
    const panel = slot.querySelector("#panel");
    if (panel && !(options && options.keepScroll)) {
      panel.scrollIntoView({ block: "start", behavior: "instant" });
      panel.focus({ preventScroll: true });
    }
  }

  function close() {
    current = 0;
    slot.replaceChildren();
    markCurrent();
    history.replaceState(null, "", pageUrl(0));
  }

  function step(direction) {
    const shown = visibleTiles();
    if (!shown.length) return;
    const index = shown.findIndex((tile) => Number(tile.dataset.id) === current);
    let next = index + direction;
    if (index < 0) next = direction > 0 ? 0 : shown.length - 1;
    if (next < 0 || next >= shown.length) return;
    open(shown[next].dataset.id);
  }

  function showAnnotation(panel) {
    const tile = document.getElementById("r" + panel.dataset.result);
    if (!tile) return;
    const holder = tile.querySelector(".annotation-badge");
    holder.replaceChildren();
    tile.dataset.annotated = panel.dataset.verdict ? "1" : "0";
    if (panel.dataset.verdict) {
      const badge = document.createElement("span");
      badge.className = "verdict " + panel.dataset.verdict;
      badge.textContent = panel.dataset.verdictLabel;
      holder.append(badge);
    }
    updateCounts(choices());
  }

  async function annotate(form) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), headers: fragmentHeaders });
      if (response.status === 403) {
        window.location.href = pageUrl(current);
        return;
      }
      slot.innerHTML = await response.text();
      const panel = slot.querySelector("#panel");
      if (panel && response.ok) showAnnotation(panel);
    } catch (error) {
      button.disabled = false;
      window.alert("The annotation was not saved: " + error.message);
    }
  }

  async function copy(button) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (error) {
      document.execCommand("copy");
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  // ------------------------------------------------------------ events

  toolbar.addEventListener("change", apply);
  toolbar.addEventListener("input", apply);
  toolbar.addEventListener("submit", (event) => { event.preventDefault(); apply(); });

  grid.addEventListener("click", (event) => {
    const link = event.target.closest("a.open");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    open(link.closest(".tile").dataset.id);
  });

  document.addEventListener("click", (event) => {
    const nav = event.target.closest("[data-nav]");
    if (nav) { step(nav.dataset.nav === "next" ? 1 : -1); return; }
    if (event.target.closest("[data-close]")) { event.preventDefault(); close(); return; }
    const copier = event.target.closest("[data-copy]");
    if (copier) copy(copier);
  });

  slot.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-annotate]");
    if (!form) return;
    event.preventDefault();
    annotate(form);
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (typing) event.target.blur();
      else if (current) close();
      return;
    }
    if (typing) return;
    if (event.key === "ArrowRight" || event.key === "j") { event.preventDefault(); step(1); }
    else if (event.key === "ArrowLeft" || event.key === "k") { event.preventDefault(); step(-1); }
    else if (event.key === "/") { event.preventDefault(); document.getElementById("search").focus(); }
  });

  apply();
})();
