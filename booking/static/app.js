// Progressive enhancement only: every page works without this file.
// After htmx swaps the slot calendar, move keyboard focus to the heading the user
// asked for (month or times), so screen readers announce the new content.
(function () {
  "use strict";
  var pendingFocus = null;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-focus]");
    if (link) { pendingFocus = link.getAttribute("data-focus"); }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pendingFocus) { return; }
    var target = document.getElementById(pendingFocus);
    pendingFocus = null;
    if (target) { target.focus(); }
  });
})();
