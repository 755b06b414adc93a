// Progressive enhancement of a job's page: poll its status and update the progress bar in place.
// Without JavaScript, the "Actualiser l'avancement" link does the same by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-job-status-url");
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-progress-label");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        if (job.finished) { window.location.reload(); return; }
        bar.value = job.percent;
        bar.textContent = job.percent + " %";
        label.textContent = job.label;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
