// Live progress of an import: polls the JSON endpoint and updates the page.
// Without JavaScript the page refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) return;
  var active = { queued: true, running: true };
  if (!active[box.getAttribute("data-status")]) return;
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");

  function show(data) {
    var cells = box.querySelectorAll("[data-field]");
    for (var i = 0; i < cells.length; i++) {
      var key = cells[i].getAttribute("data-field");
      if (key in data) cells[i].textContent = String(data[key]);
    }
    bar.max = Math.max(data.rows_total, 1);
    bar.value = data.rows_done;
    bar.textContent = data.rows_done + " / " + data.rows_total;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return setTimeout(poll, 5000);
        show(data);
        if (data.finished) window.location.reload(); // the summary, links and buttons
        else setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
