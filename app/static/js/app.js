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
  // Buttons marked data-fullscreen (the assembly display) toggle full screen; shown only where it works.
  document.addEventListener("htmx:load", function (event) {
    if (!document.fullscreenEnabled || !event.target.querySelectorAll) return;
    event.target.querySelectorAll("[data-fullscreen]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    if (!(event.target.closest && event.target.closest("[data-fullscreen]"))) return;
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen();
  });
  // A poller (data-poll) whose session has ended gets the sign-in page: load it whole, never swap it in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt, url = event.detail.xhr && event.detail.xhr.responseURL;
    if (elt.hasAttribute && elt.hasAttribute("data-poll") && url &&
        new URL(url).pathname !== elt.getAttribute("hx-get")) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });
  // Elements marked data-expires="N" (Undo after an award) hide themselves after N seconds.
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (!root.querySelectorAll) return;
    var found = [].slice.call(root.querySelectorAll("[data-expires]"));
    if (root.hasAttribute("data-expires")) found.push(root);
    found.forEach(function (el) {
      setTimeout(function () { el.hidden = true; }, 1000 * (+el.getAttribute("data-expires") || 8));
    });
  });
})();
