// The counter screen, enhanced: the screen works without this file (plain forms).
(function () {
  "use strict";

  var pendingFocus = false;

  function inScreen(elt) {
    var screen = document.getElementById("counter-screen");
    return !!(screen && elt && screen.contains(elt));
  }

  // A refused action (409) or a wrong choice (422) comes back as the screen with the
  // message: show it like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 409 || status === 422) && inScreen(event.detail.requestConfig.elt)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    // only the clerk's own actions (forms) move the focus, never a refresh
    var elt = event.detail.elt;
    if (inScreen(elt) && elt.tagName === "FORM") { pendingFocus = true; }
  });

  // Anything else (an expired form, a lost connection): say so in the live region.
  function failed(event) {
    if (!inScreen(event.detail.elt)) { return; }
    pendingFocus = false;
    var region = document.getElementById("counter-message");
    if (!region) { return; }
    var note = document.createElement("p");
    note.className = "notice notice-error";
    note.textContent = region.getAttribute("data-failed");
    region.replaceChildren(note);
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  // After an action the server names the element to focus (the swapped-out button is
  // gone); live updates never move the focus.
  document.addEventListener("htmx:afterSettle", function () {
    if (!pendingFocus) { return; }
    pendingFocus = false;
    var screen = document.getElementById("counter-screen");
    if (!screen) { return; }
    var target = document.getElementById(screen.getAttribute("data-focus") || "") ||
      document.getElementById("current-heading");
    if (target) { target.focus(); }
    armRecall();
  });

  // A live update shows another current ticket (another tab, the API): refresh the
  // buttons too, unless the keyboard is among them; then as soon as it leaves them.
  function refreshIfStale() {
    var screen = document.getElementById("counter-screen");
    var region = document.getElementById("current-ticket");
    if (!screen || !region) { return; }
    var shown = region.querySelector("[data-current]");
    if (!shown || shown.getAttribute("data-current") === screen.getAttribute("data-current")) {
      return;
    }
    if (screen.contains(document.activeElement)) { return; }
    window.htmx.ajax("GET", screen.getAttribute("data-refresh"),
                     { target: "#counter-screen", swap: "outerHTML" });
  }
  document.addEventListener("htmx:sseMessage", function (event) {
    if (event.target && event.target.id === "current-ticket") { refreshIfStale(); }
  });
  document.addEventListener("focusout", function (event) {
    var screen = document.getElementById("counter-screen");
    if (screen && screen.contains(event.target) &&
        !(event.relatedTarget && screen.contains(event.relatedTarget))) {
      window.setTimeout(refreshIfStale, 0);
    }
  });

  // "Call again" is refused during the cooldown: allow it when the cooldown is over.
  var timer = null;
  function armRecall() {
    if (timer) { clearTimeout(timer); timer = null; }
    var note = document.getElementById("recall-note");
    if (!note || !note.hasAttribute("data-ready-in")) { return; }
    var seconds = parseInt(note.getAttribute("data-ready-in"), 10) || 0;
    timer = setTimeout(function () {
      var button = document.getElementById(note.getAttribute("data-button"));
      if (!note.isConnected || !button) { return; }
      button.removeAttribute("aria-disabled");
      note.textContent = note.getAttribute("data-ready-text");
    }, seconds * 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", armRecall);
  } else {
    armRecall();
  }
})();
