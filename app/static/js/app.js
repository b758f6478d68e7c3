// Hearth's own script: small additions on top of htmx. Everything works without it.
(function () {
  "use strict";
  // After an htmx swap, move focus to the new main content so screen readers hear the change.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "main" && typeof target.focus === "function") target.focus();
  });
  // Buttons marked data-print print the page (letters and sign-in sheets).
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("[data-print]");
    if (el) { event.preventDefault(); window.print(); }
  });
})();
