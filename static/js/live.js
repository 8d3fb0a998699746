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

  // One socket per page carries every push the user may see: the tower's rows and brand
  // counts, queue cards, the navigation's counts. A page shows only some of them; the
  // pieces whose target is not on this page are dropped here, silently, instead of htmx
  // logging htmx:oobErrorNoTarget for each. The rest are swapped as htmx would.
  function oobTarget(el) {
    var spec = el.getAttribute("hx-swap-oob");
    if (spec === null) return undefined;
    var colon = spec.indexOf(":");
    if (colon !== -1) return spec.slice(colon + 1).trim();
    return el.id ? "#" + CSS.escape(el.id) : undefined;
  }
  function isMissing(el) {
    var selector = oobTarget(el);
    if (!selector) return false;
    try {
      return document.querySelector(selector) === null;
    } catch (error) {
      return false; // a selector this browser cannot read: let htmx say so
    }
  }
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail ? String(event.detail.message) : "";
    if (message.indexOf("hx-swap-oob") === -1) return;
    var template = document.createElement("template");
    template.innerHTML = message;
    var dropped = Array.prototype.filter.call(template.content.children, isMissing);
    if (!dropped.length) return;
    event.preventDefault(); // the extension stops here; the rest is swapped below
    dropped.forEach(function (el) { el.remove(); });
    var kept = template.innerHTML;
    if (template.content.children.length) {
      htmx.swap(document.body, kept, { swapStyle: "none" });
    }
    htmx.trigger(document.body, "htmx:wsAfterMessage", { message: kept });
  });
})();
