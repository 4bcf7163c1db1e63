// An upload being checked or imported: the progress bar follows the job, and the page reloads
// when its state changes. (A script file: the Content Security Policy allows no inline script
// or style attribute, so the bar's width is set here.)
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
