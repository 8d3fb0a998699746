// Every signed-in page's live connection: resync after a reconnect, and keep the
// "Approvals (N)" navigation count equal to the sum of its per-queue pieces.
(function () {
  "use strict";
  var everOpened = false;

  document.addEventListener("htmx:wsOpen", function () {
    // After a drop, anything may have changed: regions that listen re-fetch themselves.
    if (everOpened) htmx.trigger(document.body, "live:resync");
    everOpened = true;
  });

  function recountApprovals() {
    var link = document.querySelector('[data-nav="approvals"]');
    if (!link) return;
    var total = 0;
    document.querySelectorAll(".queue-count").forEach(function (el) {
      total += parseInt(el.getAttribute("data-count") || "0", 10);
    });
    var label = total ? "Approvals (" + total + ")" : "Approvals";
    if (link.textContent !== label) link.textContent = label;
  }
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    // The server saw changes between this page's rendering and the socket opening.
    var message = event.detail ? String(event.detail.message) : "";
    if (message.indexOf("data-resync") !== -1) {
      htmx.trigger(document.body, "live:resync");
    }
    // A campaign this page shows changed: its live sections fetch themselves again.
    if (message.indexOf("data-campaign-changed") !== -1) {
      htmx.trigger(document.body, "campaign:changed");
    }
    recountApprovals();
  });
  document.addEventListener("htmx:afterSettle", recountApprovals);
})();
