// A region that scrolls sideways (a wide table on a phone) must be reachable by keyboard,
// or its hidden columns are out of reach for anyone not using a pointer (WCAG 2.1.1). A
// scrolling table or .table-scroll with nothing focusable inside becomes focusable itself
// (tabindex="0"), so arrow keys scroll it. Checked on load, after htmx swaps new content
// in, and when the window is resized.
(function () {
  "use strict";
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function check() {
    document.querySelectorAll("table.data, .table-scroll").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      var marked = el.getAttribute("data-scroll-focus") === "1";
      if (scrolls && !marked && !el.hasAttribute("tabindex") && !el.querySelector(FOCUSABLE)) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "1");
      } else if (!scrolls && marked) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    });
  }

  var pending = null;
  function later() {
    if (pending) window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(function () {
      pending = null;
      check();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", check);
  } else {
    check();
  }
  window.addEventListener("load", check);
  window.addEventListener("resize", later);
  document.addEventListener("htmx:afterSettle", later);
})();
