// The ALTCHA widget (vendor/altcha.js, the build without inline workers or styles, for
// the Content-Security-Policy): its proof-of-work worker from our own server, its texts
// from our translations (the widget's data-strings, in the page's language), and a form
// sent before the check is done waits for it instead of going without it.
(function () {
  "use strict";
  var registry = window.$altcha;
  if (!registry) { return; }

  function waitForCheck(form, widget) {
    form.addEventListener("submit", function (event) {
      var state = widget.getState ? widget.getState() : "verified";
      if (state !== "unverified" && state !== "verifying") { return; }
      // not done yet: send the form once the check is done (on an error the server says
      // what to do, and accepts a form that waited long enough)
      event.preventDefault();
      var submitter = event.submitter;
      widget.addEventListener("statechange", function onChange(change) {
        var next = change.detail && change.detail.state;
        if (next === "verifying" || next === "unverified") { return; }
        widget.removeEventListener("statechange", onChange);
        if (next === "verified") { form.requestSubmit(submitter || undefined); }
      });
      if (state === "unverified") { widget.verify(); }
    });
  }

  document.querySelectorAll("altcha-widget[data-worker]").forEach(function (widget) {
    var workerUrl = widget.getAttribute("data-worker");
    ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (algorithm) {
      registry.algorithms.set(algorithm, function () { return new Worker(workerUrl); });
    });
    var language = widget.getAttribute("language") || document.documentElement.lang || "de";
    try {
      registry.i18n.set(language, JSON.parse(widget.getAttribute("data-strings") || "{}"));
    } catch (error) { /* the widget keeps its own English texts */ }
    var form = widget.closest("form");
    if (form) { waitForCheck(form, widget); }
  });
})();
