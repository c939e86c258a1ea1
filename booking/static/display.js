// Waiting-room display: clock, gong and spoken announcement on each call.
// The regions themselves are kept current by the htmx SSE extension.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var clock = document.getElementById("clock");
  var announce = document.getElementById("announce");
  var soundButton = document.getElementById("sound-on");
  var params = new URLSearchParams(window.location.search);
  var speak = params.get("speak") === "1" && "speechSynthesis" in window;
  var audio = null;
  var lastKey = currentKey();
  var openedAt = Date.now();

  function currentKey() {
    var calls = document.querySelector("#calls .calls");
    return calls ? calls.getAttribute("data-newest") : "";
  }

  // The office's wall clock, whatever time zone the screen's computer is set to.
  var clockFormat = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: clock.getAttribute("data-tz") || undefined
  });

  function tick() {
    var now = new Date();
    var parts = {};
    clockFormat.formatToParts(now).forEach(function (part) { parts[part.type] = part.value; });
    clock.textContent = parts.hour + ":" + parts.minute;
    clock.setAttribute("datetime", now.toISOString());
    // A screen left open for weeks: reload once a night (the office's) for new assets and a clean page.
    if (parts.hour === "03" && Date.now() - openedAt > 3600 * 1000) { window.location.reload(); }
  }

  function ensureAudio() {
    if (audio) { return audio; }
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return null; }
    audio = new Context();
    return audio;
  }

  function gong() {
    var ctx = ensureAudio();
    if (!ctx || ctx.state !== "running") { return; }
    [[660, 0], [523, 0.45]].forEach(function (tone) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var start = ctx.currentTime + tone[1];
      osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.4, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 1.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 1.3);
    });
  }

  function say(text) {
    if (!speak) { return; }
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = main.getAttribute("data-speech-lang") || "de-DE";
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(utterance);
  }

  function onCall() {
    var calls = document.querySelector("#calls .calls");
    if (!calls) { return; }
    var text = (main.getAttribute("data-speak-template") || "")
      .replace("{number}", calls.getAttribute("data-number"))
      .replace("{counter}", calls.getAttribute("data-counter"));
    announce.textContent = text;
    var newest = calls.querySelector(".call-newest");
    if (newest) { newest.classList.add("flash"); }
    gong();
    window.setTimeout(function () { say(text); }, 900);
    document.body.setAttribute("data-last-call", calls.getAttribute("data-newest"));
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!event.target || event.target.id !== "calls") { return; }
    var key = currentKey();
    if (key && key !== lastKey) { onCall(); }
    lastKey = key;
  });

  // Whether the stream is connected: for operators (and tests) looking at the screen.
  document.body.addEventListener("htmx:sseOpen", function () { document.body.setAttribute("data-live", "1"); });
  document.body.addEventListener("htmx:sseError", function () { document.body.setAttribute("data-live", "0"); });

  // Browsers only play sound after a user gesture: offer a button until it has been pressed.
  var ctx = ensureAudio();
  if (!ctx || ctx.state !== "running") {
    soundButton.hidden = false;
    soundButton.addEventListener("click", function () {
      var c = ensureAudio();
      if (c) { c.resume(); }
      soundButton.hidden = true;
    });
  }
  tick();
  window.setInterval(tick, 1000);
})();
