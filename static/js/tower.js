// The tower: its live connection (status, summary totals) and its address (the URL is
// the view: every filter, sort and page is a history entry, restored fresh on Back).
(function () {
  "use strict";

  var liveState = null; // the last [state, text] the socket reported

  function setStatus(state, text) {
    liveState = [state, text];
    var status = document.getElementById("live-status");
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".live-text").textContent = text;
  }

  // Each brand's counts arrive as a hidden element; the strip shows the sums of the
  // brands in view (those under #summary-in-view: the brand filter's, or all).
  function recomputeSummary() {
    var keys = ["escalated", "at-risk", "breached", "flagged", "awaiting-approval", "on-hold"];
    var brands = document.querySelectorAll("#summary-in-view .brand-summary");
    keys.forEach(function (key) {
      var total = 0;
      var attr = "data-" + key;
      brands.forEach(function (el) { total += parseInt(el.getAttribute(attr) || "0", 10); });
      var target = document.querySelector('[data-summary="' + key + '"]');
      if (target && target.textContent !== String(total)) target.textContent = String(total);
    });
    recomputeYourQueue();
  }

  // "(N in your queue)": the navigation's per-queue counts (live, one element per brand
  // and role: #queue-count-queue-brand-<id>-<role>) for the brands in view.
  function recomputeYourQueue() {
    var strip = document.getElementById("tower-summary");
    var target = document.querySelector('[data-summary="your-queue"]');
    if (!strip || !target) return;
    var inView = {};
    (strip.getAttribute("data-brands") || "").split(/\s+/).forEach(function (id) {
      if (id) inView[id] = true;
    });
    var total = 0;
    document.querySelectorAll(".queue-count").forEach(function (el) {
      var match = /^queue-count-queue-brand-(\d+)-/.exec(el.id);
      if (match && inView[match[1]]) total += parseInt(el.getAttribute("data-count") || "0", 10);
    });
    if (target.textContent !== String(total)) target.textContent = String(total);
  }

  // Back and Forward ask the server for the view again instead of replaying a snapshot:
  // a snapshot holds rows as they were, and live updates have moved on since.
  function noSnapshots() {
    if (window.htmx) htmx.config.historyCacheSize = 0;
  }
  noSnapshots();
  document.addEventListener("DOMContentLoaded", noSnapshots);

  // A filter's address names only what is chosen: /?phase=execution, not
  // /?brand=&phase=execution&owner= (the request's URL is the one pushed).
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== "tower-filters") return;
    var params = event.detail.parameters;
    var empty = [];
    if (params instanceof FormData) {
      params.forEach(function (value, key) { if (value === "") empty.push(key); });
      empty.forEach(function (key) { params.delete(key); });
    } else {
      Object.keys(params).forEach(function (key) { if (params[key] === "") empty.push(key); });
      empty.forEach(function (key) { delete params[key]; });
    }
  });

  // The restored region brings a fresh "Connecting…" indicator; the socket never closed.
  document.addEventListener("htmx:historyRestore", function () {
    if (liveState) setStatus(liveState[0], liveState[1]);
    recomputeSummary();
  });

  // (live.js resyncs the page after a reconnect; here only the indicator.)
  document.addEventListener("htmx:wsOpen", function () {
    setStatus("live", "Live");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event ? event.detail.event.code : 0;
    if (code === 4401 || code === 4403) {
      // The server refused this session: retrying cannot help, a new sign-in can.
      setStatus("off", "Live updates are off — reload the page to sign in again");
    } else {
      setStatus("down", "Connection lost — reconnecting…");
    }
  });
  document.addEventListener("htmx:wsAfterMessage", recomputeSummary);
  document.addEventListener("htmx:afterSettle", recomputeSummary);
})();
