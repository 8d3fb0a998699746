// The tower's live connection: status, resync after a reconnect, summary totals.
(function () {
  "use strict";

  function setStatus(state, text) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".live-text").textContent = text;
  }

  // Each brand's counts arrive as a hidden element; the strip shows their sums.
  function recomputeSummary() {
    var keys = ["escalated", "at-risk", "breached", "flagged", "awaiting-approval", "on-hold"];
    var brands = document.querySelectorAll("#tower-summary .brand-summary");
    keys.forEach(function (key) {
      var total = 0;
      var attr = "data-" + key;
      brands.forEach(function (el) { total += parseInt(el.getAttribute(attr) || "0", 10); });
      var target = document.querySelector('[data-summary="' + key + '"]');
      if (target && target.textContent !== String(total)) target.textContent = String(total);
    });
  }

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
