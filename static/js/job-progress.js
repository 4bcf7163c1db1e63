// A background job's page: the progress bar follows the job, and the page reloads when the job's
// state changes (finished, failed). A script file, not inline, so a Content Security Policy
// without 'unsafe-inline' allows it; the bar's width is set here for the same reason.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box) { return; }
  var progress = box.querySelector("[role=progressbar]");
  var bar = document.getElementById("job-progress-bar");

  function show(percent) {
    bar.style.width = percent + "%";
    bar.textContent = percent + "%";
    progress.setAttribute("aria-valuenow", percent);
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      if (s.state !== box.dataset.state) { window.location.reload(); return; }
      show(s.percent);
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }

  show(progress.getAttribute("aria-valuenow"));
  setTimeout(poll, 500);
})();
