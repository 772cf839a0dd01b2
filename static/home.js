// Home page: keep the "Running now" table current while comparisons run.
(function () {
  "use strict";
  const section = document.getElementById("active");
  if (!section) return;
  const rows = document.getElementById("active-rows");
  let activeCount = rows.children.length;

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
        // A comparison finished since the last look: reload to list its report.
        if (body.results.length < activeCount) {
          window.location.reload();
          return;
        }
        activeCount = body.results.length;
        rows.replaceChildren(...body.results.map(row));
        section.hidden = activeCount === 0;
      }
    } catch (error) {
      // The next poll tries again.
    }
    setTimeout(poll, 3000);
  }
  poll();
})();
