// The comparison form: run pickers with search as you type, reference chips
// and reference suggestions. Without this script the form still works: the
// reference runs are then typed into a plain text field.
(function () {
  "use strict";
  const form = document.getElementById("compare-form");
  if (!form) return;

  const urls = {
    datasets: form.dataset.datasetsUrl,
    runs: form.dataset.runsUrl,
    references: form.dataset.referencesUrl,
  };
  const subsystem = form.elements.subsystem;
  const dataDataset = form.elements.data_dataset;
  const dataRun = form.elements.data_run;
  const refDataset = form.elements.ref_dataset;
  const refRuns = form.elements.ref_runs;
  const chips = document.getElementById("ref-chips");
  const refSearch = document.getElementById("ref-search");
  const refNote = document.getElementById("ref-note");
  const suggestionsBox = document.getElementById("suggestions");
  const datasetList = document.getElementById("dataset-list");
  let references = parseNumbers(refRuns.value);

  function parseNumbers(text) {
    return (text || "").split(/[\s,]+/).filter((item) => /^\d+$/.test(item)).map(Number);
  }

  function source() {
    const checked = form.querySelector("input[name=source]:checked");
    return checked ? checked.value : "offline";
  }

  function query(params) {
    const search = new URLSearchParams();
    Object.entries(params).forEach(([key, value]) => {
      if (value !== undefined && value !== null && value !== "") search.set(key, value);
    });
    return search.toString();
  }

  async function getJson(url, params) {
    const response = await fetch(url + "?" + query(params), { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({ error: "the site sent no readable answer" }));
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    });
    children.flat().forEach((child) => {
      if (child === null || child === undefined || child === false) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function formatEntries(value) {
    if (value === null || value === undefined) return "";
    return Math.round(value).toLocaleString("en-US").replace(/,/g, "\u202f") + " entries";
  }

  function runBadges(run) {
    return [
      run.verdict ? element("span", { class: "badge " + run.verdict, title: run.verdict_note }, "marked " + run.verdict) : null,
      run.origin === "server" ? element("span", { class: "badge server" }, "on the file server") : null,
    ];
  }

  // ------------------------------------------------------------ combobox

  function combo(input, listbox, options) {
    let items = [];
    let active = -1;
    let timer = null;
    let serial = 0;

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const nodes = listbox.querySelectorAll("[role=option]");
      nodes.forEach((node, position) => node.setAttribute("aria-selected", position === index ? "true" : "false"));
      active = index;
      if (nodes[index]) {
        input.setAttribute("aria-activedescendant", nodes[index].id);
        nodes[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(index) {
      const item = items[index];
      if (!item) return;
      close();
      options.onChoose(item);
    }

    function render(runs, message) {
      items = runs;
      listbox.replaceChildren();
      if (message) listbox.append(element("li", { class: "empty" }, message));
      runs.forEach((run, index) => {
        listbox.append(
          element(
            "li",
            {
              role: "option",
              id: listbox.id + "-" + index,
              "aria-selected": "false",
              "data-run": run.number,
              onmousedown: (event) => { event.preventDefault(); choose(index); },
            },
            element("span", { class: "mono" }, run.number),
            element("span", { class: "muted small" }, run.dataset || "no dataset"),
            runBadges(run)
          )
        );
      });
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    async function refresh() {
      const mine = ++serial;
      try {
        const body = await getJson(urls.runs, {
          source: source(), dataset: options.dataset(), q: input.value.trim(), subsystem: subsystem.value,
        });
        if (mine !== serial) return;
        const runs = body.runs.filter((run) => !options.exclude().includes(run.number));
        render(runs, runs.length ? "" : "No run matches " + (input.value.trim() || "this dataset") + ".");
      } catch (error) {
        if (mine === serial) render([], "Cannot list runs: " + error.message);
      }
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 120);
    });
    input.addEventListener("focus", refresh);
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (listbox.hidden) { refresh(); return; }
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        highlight(Math.max(0, Math.min(items.length - 1, active + step)));
      } else if (event.key === "Enter") {
        if (!listbox.hidden && active >= 0) {
          event.preventDefault();
          choose(active);
        } else if (options.onEnter && options.onEnter()) {
          event.preventDefault();
        }
      } else if (event.key === "Escape") {
        close();
      }
    });
    return { close };
  }

  // ------------------------------------------------------------ reference chips

  function syncReferences() {
    refRuns.value = references.join(",");
    suggestionsBox.querySelectorAll("[data-suggestion]").forEach((button) => {
      button.disabled = references.includes(Number(button.dataset.suggestion));
    });
    chips.replaceChildren();
    if (!references.length) chips.append(element("li", { class: "none" }, "No reference run chosen yet."));
    references.forEach((number, index) => {
      chips.append(
        element(
          "li",
          { class: "chip", "data-run": number },
          element("span", { class: "mono" }, number),
          index === 0 ? element("span", { class: "muted small" }, "first") : null,
          element("button", {
            type: "button",
            "aria-label": "Remove reference run " + number,
            title: "Remove",
            onclick: () => { references = references.filter((item) => item !== number); syncReferences(); },
          }, "\u00d7")
        )
      );
    });
  }

  // The dataset a new reference comes from: the one it was picked in, else the reference dataset.
  function referenceDataset(dataset) {
    return dataset || refDataset.value || dataDataset.value;
  }

  function isDataRun(number, dataset) {
    return String(number) === dataRun.value.trim() && referenceDataset(dataset) === dataDataset.value;
  }

  function addReference(number, dataset) {
    refNote.textContent = "";
    if (isDataRun(number, dataset)) {
      refNote.textContent = "Run " + number + " is the data run; choose another reference.";
      return false;
    }
    if (references.includes(number)) {
      refNote.textContent = "Run " + number + " is already a reference.";
      return false;
    }
    references.push(number);
    if (!refDataset.value && dataset && dataset !== dataDataset.value) refDataset.value = dataset;
    syncReferences();
    return true;
  }

  // ------------------------------------------------------------ suggestions

  let suggestSerial = 0;
  let suggestedFor = "";

  async function suggest() {
    const params = {
      source: source(), subsystem: subsystem.value, data_run: dataRun.value.trim(),
      data_dataset: dataDataset.value, ref_dataset: refDataset.value,
    };
    // The same input gives the same suggestions: keep the buttons in place,
    // because replacing them under the pointer would swallow the click.
    const key = query(params);
    if (key === suggestedFor) return;
    suggestedFor = key;
    const mine = ++suggestSerial;
    if (!subsystem.value || !/^\d+$/.test(params.data_run)) {
      suggestionsBox.replaceChildren(element("p", { class: "muted small" },
        "Choose the subsystem and the data run: good earlier runs are then suggested here."));
      return;
    }
    suggestionsBox.replaceChildren(element("p", { class: "muted small" }, "Looking for good reference runs\u2026"));
    try {
      const body = await getJson(urls.references, params);
      if (mine === suggestSerial) renderSuggestions(body);
    } catch (error) {
      if (mine === suggestSerial) {
        suggestedFor = "";
        suggestionsBox.replaceChildren(element("p", { class: "muted small" }, "No suggestion: " + error.message + "."));
      }
    }
  }

  function renderSuggestions(body) {
    const list = element("ul");
    body.suggestions.forEach((item) => {
      list.append(element("li", {},
        element("button", {
          type: "button", class: "quiet", "data-suggestion": item.number, title: item.note,
          onclick: () => addReference(item.number, item.dataset),
        }, "+ ", element("span", { class: "mono" }, item.number), " ",
        item.good ? element("span", { class: "badge good" }, "marked good") : null,
        element("span", { class: "muted small" }, formatEntries(item.entries)))
      ));
    });
    const useAll = element("button", {
      type: "button", class: "secondary", id: "use-suggestions",
      onclick: () => {
        references = [];
        body.suggestions.forEach((item) => addReference(item.number, item.dataset));
      },
    }, "Use these " + body.suggestions.length);
    const heading = element("p", { class: "small" },
      element("strong", {}, "Suggested references"),
      element("span", { class: "muted" }, " \u2014 the latest earlier runs with enough entries" +
        (body.probe ? " in " + body.probe : "") + ", runs marked good first."));
    const children = [heading];
    list.append(element("li", {}, useAll));
    if (body.suggestions.length) children.push(list);
    else children.push(element("p", { class: "muted small" }, "No earlier run of this dataset qualifies."));
    if (body.skipped.length) {
      children.push(element("details", { class: "small" },
        element("summary", {}, body.skipped.length + " earlier run(s) left out"),
        element("ul", {}, body.skipped.map((item) => element("li", {}, element("span", { class: "mono" }, item.number), ": " + item.reason)))));
    }
    suggestionsBox.replaceChildren(...children);
    syncReferences();
  }

  // ------------------------------------------------------------ datasets and source

  async function refreshDatasets() {
    const online = source() === "online";
    form.querySelectorAll("[data-dataset-field]").forEach((field) => { field.hidden = online; });
    if (online) {
      dataDataset.value = "";
      refDataset.value = "";
      return;
    }
    try {
      const body = await getJson(urls.datasets, { source: source() });
      const names = body.datasets.filter(Boolean);
      datasetList.replaceChildren(...names.map((name) => element("option", { value: name })));
      if (dataDataset.value && !names.includes(dataDataset.value)) dataDataset.value = "";
      if (!dataDataset.value && names.length === 1) dataDataset.value = names[0];
    } catch (error) {
      datasetList.replaceChildren();
    }
  }

  // ------------------------------------------------------------ wiring

  refRuns.type = "hidden";
  document.getElementById("ref-runs-help").hidden = true;
  chips.hidden = false;
  suggestionsBox.hidden = false;
  refSearch.closest(".combo").hidden = false;
  document.getElementById("ref-runs-label").setAttribute("for", "ref-search");
  syncReferences();

  combo(dataRun, document.getElementById("data-run-options"), {
    dataset: () => dataDataset.value,
    exclude: () => [],
    onChoose: (run) => {
      dataRun.value = run.number;
      if (run.dataset) dataDataset.value = run.dataset;
      references = references.filter((number) => number !== run.number);
      syncReferences();
      suggest();
    },
  });
  combo(refSearch, document.getElementById("ref-run-options"), {
    dataset: () => refDataset.value || dataDataset.value,
    exclude: () => references.concat(isDataRun(dataRun.value.trim(), "") ? [Number(dataRun.value)] : []),
    onChoose: (run) => {
      addReference(run.number, run.dataset);
      refSearch.value = "";
    },
    onEnter: () => {
      const typed = refSearch.value.trim();
      if (!/^\d+$/.test(typed)) return false;
      if (addReference(Number(typed), "")) refSearch.value = "";
      return true;
    },
  });

  form.querySelectorAll("input[name=source]").forEach((radio) => radio.addEventListener("change", () => {
    refreshDatasets();
    suggest();
  }));
  subsystem.addEventListener("change", suggest);
  dataRun.addEventListener("change", suggest);
  refDataset.addEventListener("change", suggest);
  form.addEventListener("submit", () => {
    const typed = refSearch.value.trim();
    if (/^\d+$/.test(typed)) addReference(Number(typed), "");
    refRuns.value = references.join(",");
  });

  refreshDatasets();
  suggest();
})();
