// The return form: items that do not apply are disabled as the person types, part_of groups
// show a live subtotal, and the section navigation counts the answers. The server enforces
// the same rules; this only helps.
(function () {
  "use strict";
  var form = document.getElementById("return-form");
  if (!form) { return; }
  var readOnly = !form.querySelector("[data-testid=save]");

  function parentIsYes(code, seen) {
    var checked = form.querySelector('input[name="' + code + '"]:checked');
    if (!checked || checked.value !== "yes" || checked.disabled) { return false; }
    var grand = checked.getAttribute("data-applies-if");
    if (grand && !seen[grand]) { seen[grand] = true; return parentIsYes(grand, seen); }
    return true;
  }

  function applyConditions() {
    if (readOnly) { return; }
    // Parents come before their dependants in the questionnaire, so one pass in order is enough.
    form.querySelectorAll("[data-applies-if]").forEach(function (input) {
      var applies = parentIsYes(input.getAttribute("data-applies-if"), {});
      input.disabled = !applies;
      var wrapper = input.closest(".item, .mb-3");
      if (wrapper) { wrapper.classList.toggle("item-not-applicable", !applies); }
    });
  }

  function number(text) {
    var cleaned = String(text || "").replace(/[,，\s]/g, "");
    return /^\d+$/.test(cleaned) ? parseInt(cleaned, 10) : 0;
  }

  function updateSubtotals() {
    var totals = {};
    form.querySelectorAll("input[data-part-of]").forEach(function (input) {
      var group = input.getAttribute("data-part-of");
      totals[group] = (totals[group] || 0) + (input.disabled ? 0 : number(input.value));
    });
    form.querySelectorAll("output[data-subtotal-for]").forEach(function (output) {
      var group = output.getAttribute("data-subtotal-for");
      output.textContent = (totals[group] || 0).toLocaleString();
    });
  }

  // Progress: the items that apply and need an answer (free text is optional), counted as
  // ReturnForm.progress() counts them on the server.
  var questions = [];
  form.querySelectorAll(".entry-section[id^='section-']").forEach(function (section) {
    var code = section.id.slice("section-".length);
    var seen = {};
    section.querySelectorAll("input[name], select[name]").forEach(function (control) {
      if (control.type === "hidden" || seen[control.name]) { return; }
      seen[control.name] = true;
      questions.push({section: code, controls: section.querySelectorAll('[name="' + control.name + '"]')});
    });
  });

  function answered(controls) {
    for (var i = 0; i < controls.length; i++) {
      var control = controls[i];
      if (control.type === "radio" ? control.checked : control.value.trim() !== "") { return true; }
    }
    return false;
  }

  function showCounts(container, done, asked) {
    container.querySelectorAll("[data-answered]").forEach(function (node) { node.textContent = done; });
    container.querySelectorAll("[data-asked]").forEach(function (node) { node.textContent = asked; });
  }

  function updateProgress() {
    if (readOnly) { return; }  // nothing changes; the server's counts stand
    var counts = {};
    var total = {done: 0, asked: 0};
    questions.forEach(function (question) {
      if (question.controls[0].disabled) { return; }
      var count = counts[question.section] || (counts[question.section] = {done: 0, asked: 0});
      var done = answered(question.controls) ? 1 : 0;
      count.asked += 1; count.done += done; total.asked += 1; total.done += done;
    });
    document.querySelectorAll("[data-progress-section]").forEach(function (link) {
      var count = counts[link.getAttribute("data-progress-section")] || {done: 0, asked: 0};
      showCounts(link, count.done, count.asked);
      var badge = link.querySelector(".entry-section-count");
      if (badge) { badge.classList.toggle("is-complete", count.done === count.asked); }
    });
    document.querySelectorAll(".entry-progress, .entry-progress-brief").forEach(function (node) {
      showCounts(node, total.done, total.asked);
    });
    document.querySelectorAll("progress.entry-progress-bar").forEach(function (bar) {
      bar.max = Math.max(total.asked, 1);
      bar.value = total.done;
      bar.textContent = total.done + " / " + total.asked;
    });
  }

  // The section list sits beside the form on wide screens and folds into a menu on narrow ones.
  var sectionMenu = document.querySelector("details.entry-nav");
  var wide = window.matchMedia("(min-width: 992px)");
  function fitSectionMenu() { if (sectionMenu) { sectionMenu.open = wide.matches; } }
  if (sectionMenu) {
    fitSectionMenu();
    wide.addEventListener("change", fitSectionMenu);
    sectionMenu.addEventListener("click", function (event) {
      if (!wide.matches && event.target.closest("a[href^='#']")) { sectionMenu.open = false; }
    });
  }

  // Ctrl+S (Cmd+S on a Mac) saves a draft, from anywhere on the page.
  var saveButton = form.querySelector("[data-testid=save]");
  document.addEventListener("keydown", function (event) {
    if (!saveButton || !(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "s") { return; }
    event.preventDefault();
    if (form.requestSubmit) { form.requestSubmit(saveButton); } else { saveButton.click(); }
  });

  var dirty = false;
  form.addEventListener("input", function () { dirty = true; updateSubtotals(); updateProgress(); });
  form.addEventListener("change", function (event) {
    dirty = true;
    if (event.target.type === "radio") { applyConditions(); updateSubtotals(); }
    updateProgress();
  });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  applyConditions();
  updateSubtotals();
  updateProgress();
})();
