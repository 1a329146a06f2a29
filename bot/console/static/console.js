// Live delivery progress: polls the JSON beside the page while there is anything left.
"use strict";
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var source = box.getAttribute("data-progress-url");
  var bar = document.getElementById("bar");
  var percent = document.getElementById("percent");
  var state = document.getElementById("state");
  function show(p) {
    bar.value = p.percent;
    bar.textContent = p.percent + " %";
    percent.textContent = p.percent + " %";
    Object.keys(p).forEach(function (key) {
      var cell = box.querySelector('[data-field="' + key + '"]');
      if (cell) { cell.textContent = String(p[key]); }
    });
    if (state && p.state_label) {
      state.textContent = p.state_label;
      state.setAttribute("data-state", p.state);
    }
  }
  function poll() {
    fetch(source, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        show(p);
        if (p.state === "sending" || p.state === "scheduled") { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  var initial = state ? state.getAttribute("data-state") : "sending";
  if (initial === "sending" || initial === "scheduled") { setTimeout(poll, 500); }
})();
