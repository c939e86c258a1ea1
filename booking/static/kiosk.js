// The ticket machine. Progressive enhancement only: every kiosk page works without this
// file (the ticket page then returns to the start with a meta refresh).
(function () {
  "use strict";

  // Print button (hidden without JavaScript, where it could do nothing).
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A double tap draws one ticket, not two: a form is sent once (the server's redirect
  // leaves the page). Coming back through the history makes the forms usable again.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
  });
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
      form.removeAttribute("data-sent");
    });
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
