// Home page: keep the "Running now" table current while comparisons run.
(function () {
  "use strict";
  const section = document.getElementById("active");
  if (!section) return;
  const rows = document.getElementById("active-rows");
  let seen = rows.children.length > 0;

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function row(item) {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    const status = document.createElement("a");
    status.href = item.status_url;
    status.className = "status " + item.status;
    status.textContent = item.status;
    const statusCell = document.createElement("td");
    statusCell.append(status);
    tr.append(
      cell(item.subsystem),
      cell(item.data_run.number + " " + item.data_run.dataset),
      cell(item.reference_runs.map((run) => run.number).join(", "), "mono"),
      statusCell,
      cell(item.progress.done + " / " + item.progress.total, "num")
    );
    return tr;
  }

  async function poll() {
    try {
      const response = await fetch(section.dataset.api, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        rows.replaceChildren(...body.results.map(row));
        section.hidden = body.results.length === 0;
        // A comparison finished since the last look: reload to list its report.
        if (seen && body.results.length < rows.dataset.count) window.location.reload();
        rows.dataset.count = body.results.length;
        seen = seen || body.results.length > 0;
      }
    } catch (error) {
      // The next poll tries again.
    }
    setTimeout(poll, 3000);
  }
  rows.dataset.count = rows.children.length;
  poll();
})();
