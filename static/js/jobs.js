// The jobs page: a running job's progress bar follows the run (done / total, time left)
// and the page reloads once the run has ended, to show its result.
(function () {
  "use strict";
  function follow(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".job-progress-text");
    var left = box.dataset.left || "about {s} s left";
    function tick() {
      fetch(box.dataset.progressUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (run) {
          if (run.finished) { window.location.reload(); return; }
          if (run.total) {
            bar.max = run.total; bar.value = run.done;
            text.textContent = run.done + " / " + run.total + (run.percent !== null ? " (" + run.percent + "%)" : "") +
              (run.eta_seconds !== null ? " · " + left.replace("{s}", run.eta_seconds) : "");
          } else {
            text.textContent = run.status_label;
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 1000);
  }
  document.querySelectorAll(".job-progress[data-progress-url]").forEach(follow);
})();
