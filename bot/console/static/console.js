// Live parts of a page, without inline scripts (the CSP forbids them):
// - [data-progress-url]: an announcement's delivery progress, polled as JSON;
// - [data-live-url]: a fragment (the case inbox, a case's conversation) refreshed in place.
"use strict";
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (box) {
    var source = box.getAttribute("data-progress-url");
    var bar = document.getElementById("bar");
    var percent = document.getElementById("percent");
    var state = document.getElementById("state");
    var show = function (p) {
      bar.value = p.percent;
      bar.textContent = p.percent + " %";
      percent.textContent = p.percent + " %";
      Object.keys(p).forEach(function (key) {
        var cell = box.querySelector('[data-field="' + key + '"]');
        if (cell) { cell.textContent = String(p[key]); }
      });
      var cancel = document.getElementById("cancel-form");
      if (cancel && p.state !== "sending" && p.state !== "scheduled") { cancel.hidden = true; }
      if (state && p.state_label) {
        state.textContent = p.state_label;
        state.setAttribute("data-state", p.state);
      }
    };
    var poll = function () {
      fetch(source, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (p) {
          show(p);
          if (p.state === "sending" || p.state === "scheduled") { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    var initial = state ? state.getAttribute("data-state") : "sending";
    if (initial === "sending" || initial === "scheduled") { setTimeout(poll, 500); }
  }

  document.querySelectorAll("[data-live-url]").forEach(function (part) {
    var source = part.getAttribute("data-live-url");
    var refresh = function () {
      // Never pull the content from under the keyboard focus.
      if (part.contains(document.activeElement) && document.activeElement !== document.body) {
        setTimeout(refresh, 3000);
        return;
      }
      fetch(source, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (part.innerHTML.trim() !== html.trim()) { part.innerHTML = html; }
          setTimeout(refresh, 3000);
        })
        .catch(function () { setTimeout(refresh, 10000); });
    };
    setTimeout(refresh, 3000);
  });
})();
