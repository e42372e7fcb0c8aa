/* modellab site: sortable and filterable tables, copy buttons, the workbench command builder.
   Hand-written, no dependencies, no network. */
(function () {
  "use strict";

  function sortKey(cell, numeric) {
    if (!cell) return null;
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = numeric ? null : cell.textContent.trim();
    if (raw === null || raw === "") return null;
    if (numeric) {
      var n = parseFloat(raw);
      return isNaN(n) ? null : n;
    }
    return raw.toLowerCase();
  }

  function sortTable(table, index, th) {
    var numeric = th.getAttribute("data-type") === "num";
    var better = th.getAttribute("data-better");
    var current = th.getAttribute("aria-sort");
    var ascending;
    if (current === "ascending") ascending = false;
    else if (current === "descending") ascending = true;
    else if (better) ascending = better === "low"; /* first click: best first */
    else ascending = true;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: sortKey(row.cells[index], numeric), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key === null && b.key === null) return a.i - b.i;
      if (a.key === null) return 1; /* missing values last, whatever the direction */
      if (b.key === null) return -1;
      var c = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (ascending ? c : -c) || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  function setUpSorting() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      if (!table.tHead || !table.tBodies.length) return;
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
        var button = th.querySelector("button.sort");
        if (button) button.addEventListener("click", function () { sortTable(table, index, th); });
      });
    });
  }

  function setUpFilters() {
    document.querySelectorAll("input.filter[data-table]").forEach(function (input) {
      var table = document.getElementById(input.getAttribute("data-table"));
      if (!table || !table.tBodies.length) return;
      input.addEventListener("input", function () {
        var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
        var body = table.tBodies[0];
        var old = body.querySelector("tr.no-match");
        if (old) body.removeChild(old);
        var shown = 0;
        Array.prototype.forEach.call(body.rows, function (row) {
          var text = row.textContent.toLowerCase();
          row.hidden = !terms.every(function (t) { return text.indexOf(t) >= 0; });
          if (!row.hidden) shown += 1;
        });
        if (!shown && body.rows.length) {
          var tr = document.createElement("tr");
          tr.className = "no-match";
          var td = document.createElement("td");
          td.colSpan = table.tHead ? table.tHead.rows[0].cells.length : 1;
          td.textContent = "No rows match \u201c" + input.value.trim() + "\u201d.";
          tr.appendChild(td);
          body.appendChild(tr);
        }
      });
    });
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function setUpCopy() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.textContent;
        var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
        var fallback = function () { selectText(source); button.textContent = "Selected: press Ctrl+C"; };
        try {
          if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(text).then(done, fallback);
          } else {
            fallback();
          }
        } catch (e) {
          fallback();
        }
      });
    });
  }

  function setUpWorkbench() {
    var form = document.getElementById("workbench");
    var out = document.getElementById("wb-command");
    if (!form || !out) return;
    var note = document.getElementById("wb-note");

    function visible(input) {
      var choice = input.closest(".choice");
      return !choice || !choice.hidden;
    }
    function checked(name) {
      return Array.prototype.slice.call(form.querySelectorAll('input[name="' + name + '"]:checked'))
        .filter(visible).map(function (i) { return i.value; });
    }
    function showFor(selector, attribute, task) {
      form.querySelectorAll(selector).forEach(function (label) {
        label.hidden = (label.getAttribute(attribute) || "").split(" ").indexOf(task) < 0;
      });
    }
    function update() {
      var task = form.elements.task.value;
      showFor("#wb-models .choice", "data-caps", task);
      showFor("#wb-datasets .choice", "data-tasks", task);
      var models = checked("model"), datasets = checked("dataset");
      var devices = checked("device"), preps = checked("preprocessing");
      var extra = form.elements.extra.value.trim().split(/\s+/).filter(Boolean);
      var lists = [models, datasets, devices, preps];
      var cells = 1;
      lists.forEach(function (l) { cells *= Math.max(l.length, 1); });
      extra.forEach(function (e) {
        var value = e.split("=").slice(1).join("=");
        if (value.indexOf(",") >= 0) cells *= value.split(",").length;
      });
      var parts = ["python -m modellab"];
      if (cells > 1) parts.push("-m");
      parts.push(models.length ? "+model=" + models.join(",") : "+model=<pick a model>");
      parts.push("task=" + task);
      if (datasets.length) parts.push("dataset=" + datasets.join(","));
      if (devices.length && !(devices.length === 1 && devices[0] === "cpu")) parts.push("device=" + devices.join(","));
      if (preps.length && !(preps.length === 1 && preps[0] === "none")) parts.push("preprocessing=" + preps.join(","));
      out.textContent = parts.concat(extra).join(" ");
      if (note) note.textContent = cells > 1 ? "a sweep of " + cells + " runs" : "a single run";
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  function init() {
    setUpSorting();
    setUpFilters();
    setUpCopy();
    setUpWorkbench();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
