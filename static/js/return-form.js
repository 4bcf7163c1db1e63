// The return form: items that do not apply are disabled as the person types, and part_of
// groups show a live subtotal. The server enforces the same rules; this only helps.
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

  var dirty = false;
  form.addEventListener("input", function () { dirty = true; updateSubtotals(); });
  form.addEventListener("change", function (event) {
    dirty = true;
    if (event.target.type === "radio") { applyConditions(); updateSubtotals(); }
  });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  applyConditions();
  updateSubtotals();
})();
