// The ticket machine. Progressive enhancement only: every kiosk page works without this
// file (the ticket page then returns to the start with a meta refresh).
(function () {
  "use strict";

  // Print button (hidden without JavaScript, where it could do nothing).
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // Back to the start page after a while without a touch or key press; a warning comes
  // shortly before, and any touch or key press starts the time again (WCAG 2.2.1).
  var body = document.body;
  var url = body.getAttribute("data-idle-url");
  if (!url) { return; }
  var seconds = parseInt(body.getAttribute("data-idle-seconds"), 10) || 30;
  var warnAfter = Math.max(seconds - 20, seconds / 2) * 1000;
  var warning = document.getElementById("idle-warning");
  var warnTimer = null;
  var resetTimer = null;

  function arm() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(resetTimer);
    if (warning && warning.textContent) { warning.textContent = ""; }
    warnTimer = window.setTimeout(function () {
      if (warning) { warning.textContent = warning.getAttribute("data-message"); }
    }, warnAfter);
    resetTimer = window.setTimeout(function () { window.location.assign(url); }, seconds * 1000);
  }

  ["pointerdown", "touchstart", "keydown", "input", "wheel"].forEach(function (type) {
    document.addEventListener(type, arm, { passive: true, capture: true });
  });
  window.addEventListener("afterprint", arm);
  arm();
})();
