// The approval queue (templates/approvals/queue.html): the list/pane layout on narrow
// screens, "Select all low-risk" and the "Approve N selected" count, and the keyboard:
//   j / k  next / previous row      Enter  open the selected row
//   a      approve the open item    r      focus the reject reason
//   x      tick the selected row    ?      show the shortcuts
// Shortcuts never fire while the reviewer types in a field, or with a modifier held.
(function () {
  "use strict";

  function layout() { return document.getElementById("queue-layout"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-items .queue-row")); }
  function current() { return document.querySelector("#queue-items .queue-row.is-current"); }
  function pane() { return document.getElementById("approval-pane"); }

  // --- Bulk selection ---------------------------------------------------------------
  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-items input.bulk-pick"));
  }

  function updateBulk() {
    var button = document.querySelector(".bulk-submit");
    var all = document.querySelector(".bulk-all");
    var boxes = picks();
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    if (button) {
      var template = button.getAttribute("data-label") || "Approve {n} selected";
      button.textContent = template.replace("{n}", String(ticked));
      button.disabled = ticked === 0;
    }
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
      all.disabled = boxes.length === 0;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("bulk-all")) {
      picks().forEach(function (box) { box.checked = target.checked; });
      updateBulk();
    } else if (target.classList && target.classList.contains("bulk-pick")) {
      updateBulk();
    }
  });

  // --- The selected row (keyboard) and the open item --------------------------------
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("is-current"); });
    if (!row) return;
    row.classList.add("is-current");
    var link = row.querySelector(".row-open");
    if (link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(current() || document.querySelector("#queue-items .queue-row.is-open"));
    var next = at === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    select(all[next]);
  }

  function markOpen() {
    var shown = pane();
    var id = shown ? shown.getAttribute("data-item") : "";
    rows().forEach(function (r) {
      var open = id && r.getAttribute("data-item") === id;
      r.classList.toggle("is-open", Boolean(open));
      var link = r.querySelector(".row-open");
      if (link) {
        if (open) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      }
    });
    // The filter form keeps the open item, so filtering does not lose it.
    // (Only an item asked for: the most urgent one, shown by default, is not.)
    var keep = document.querySelector("#queue-filters .filters-item");
    if (keep) keep.value = shown && shown.hasAttribute("data-explicit") ? id : "";
  }

  // New content (the pane, a card, the list, a live row): "htmx:load" fires on the new
  // element itself, still in the page (an outerHTML swap's afterSwap may not reach us).
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "approval-pane" && elt.hasAttribute("data-explicit")) {
      // An item was opened: on a phone it replaces the list.
      var box = layout();
      if (box) box.setAttribute("data-view", "item");
    }
    markOpen();
    updateBulk();
  });

  // A live push replacing a card whose form is on its way to the server: our own answer
  // is coming (and htmx would swap it into the replaced, detached card: lost). Keep it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.classList && target.classList.contains("approval-card") &&
        target.querySelector(".htmx-request")) {
      event.detail.shouldSwap = false;
    }
  });

  // Back/Forward restore a snapshot: the phone layout follows the address.
  document.addEventListener("htmx:historyRestore", function () {
    var box = layout();
    if (box) box.setAttribute("data-view", /[?&]item=\d/.test(window.location.search) ? "item" : "list");
    updateBulk();
  });

  // --- Keyboard ---------------------------------------------------------------------
  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function shortcuts() { return document.getElementById("queue-shortcuts"); }

  function showShortcuts() {
    var dialog = shortcuts();
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".shortcuts-open")) showShortcuts();
  });

  document.addEventListener("keydown", function (event) {
    if (!layout()) return;
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var dialog = shortcuts();
    if (dialog && dialog.open) return;
    var key = event.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "Enter") {
      var row = current();
      var link = row && row.querySelector(".row-open");
      // Enter on a focused link follows it anyway; only the keyboard-selected row needs us.
      if (!link || event.target === link) return;
      link.click();
    } else if (key === "a") {
      var approve = pane() && pane().querySelector("[data-shortcut='approve']");
      if (!approve) return;
      approve.click();
    } else if (key === "r") {
      var note = pane() && pane().querySelector(".decide-note");
      if (!note) return;
      note.focus();
    } else if (key === "x") {
      var selected = current() || document.querySelector("#queue-items .queue-row.is-open");
      var box = selected && selected.querySelector("input.bulk-pick");
      if (!box) return;
      box.checked = !box.checked;
      updateBulk();
    } else if (key === "?") {
      showShortcuts();
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    markOpen();
    updateBulk();
  });
})();
