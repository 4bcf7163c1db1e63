// Filling in a long page sends no request while the person types, and the server logs out a
// session idle for 30 minutes (surveysite/sessions.py). While someone is using the page, tell
// the server so every few minutes; a computer left alone is still logged out.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-keepalive-url");
  if (!url) { return; }
  var every = 5 * 60 * 1000;
  var last = Date.now();

  function activity() {
    var now = Date.now();
    if (now - last < every) { return; }
    last = now;
    fetch(url, { credentials: "same-origin", cache: "no-store" }).catch(function () {});
  }

  ["keydown", "input", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, activity, { capture: true, passive: true });
  });
})();
