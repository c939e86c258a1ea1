// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Form errors: move focus to the error summary, so that screen readers read it first,
  // and let its links focus the field itself (with its label in view).
  function initErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      if (!link) { return; }
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) { return; }
      event.preventDefault();
      var label = document.querySelector("label[for='" + input.id + "']");
      (label || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initErrorSummary);
  } else {
    initErrorSummary();
  }

  // After htmx swaps the slot calendar, move keyboard focus to the heading the user
  // asked for (month or times), so screen readers announce the new content.
  var pendingFocus = null;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-focus]");
    if (link) { pendingFocus = link.getAttribute("data-focus"); }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var calendar = document.getElementById("booking-calendar");
    if (calendar && calendar.contains(event.target)) { calendar.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pendingFocus) { return; }
    var target = document.getElementById(pendingFocus);
    pendingFocus = null;
    if (target) { target.focus(); }
  });
  // If the partial request fails, fall back to loading the link as a whole page.
  function fallBack(event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.href) { window.location.assign(elt.href); }
  }
  document.addEventListener("htmx:responseError", fallBack);
  document.addEventListener("htmx:sendError", fallBack);
})();
