// The header on every signed-in page (templates/base.html). Below 1100 px — or wider, when
// brand, navigation, notifications and account do not fit on one line (an admin's longer
// navigation, a notification count) — the header is compact: a "Menu" button folds the
// navigation and the account links into a panel. On one line, the account links (API
// tokens, log out) drop down from the user's name. Both buttons are disclosures
// (aria-expanded / aria-controls). Without JavaScript, css/noscript.css hides both
// buttons and every link stays on the page.
(function () {
  "use strict";
  var NARROW = window.matchMedia("(max-width: 1099.98px)");

  function init() {
    var header = document.getElementById("topbar");
    if (!header) return;
    var menuButton = header.querySelector(".nav-toggle");
    var userButton = header.querySelector(".user-menu-toggle");
    var userMenu = document.getElementById("user-menu");
    if (!menuButton || !userButton || !userMenu) return;

    function set(button, cls, open) {
      header.classList.toggle(cls, open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    function isOpen(cls) {
      return header.classList.contains(cls);
    }

    // One line, or compact: try the line and see whether the header grew past one row.
    function layout() {
      if (NARROW.matches) {
        header.classList.add("nav-compact");
        return;
      }
      header.classList.remove("nav-compact");
      var style = window.getComputedStyle(header);
      var oneRow =
        userButton.offsetHeight + parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
      if (header.offsetHeight > oneRow + 12) header.classList.add("nav-compact");
    }
    var pending = null;
    function relayout() {
      if (pending) window.cancelAnimationFrame(pending);
      pending = window.requestAnimationFrame(function () {
        pending = null;
        layout();
      });
    }

    menuButton.addEventListener("click", function () {
      set(menuButton, "menu-open", !isOpen("menu-open"));
    });
    userButton.addEventListener("click", function () {
      set(userButton, "user-open", !isOpen("user-open"));
    });

    // Escape closes what is open and gives focus back to the button that opened it.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      if (isOpen("user-open")) {
        set(userButton, "user-open", false);
        userButton.focus();
      } else if (isOpen("menu-open")) {
        set(menuButton, "menu-open", false);
        menuButton.focus();
      }
    });
    // The account drop-down closes on a click elsewhere or when focus leaves it.
    document.addEventListener("click", function (event) {
      if (isOpen("user-open") && !userMenu.contains(event.target)) {
        set(userButton, "user-open", false);
      }
    });
    userMenu.addEventListener("focusout", function (event) {
      if (isOpen("user-open") && event.relatedTarget && !userMenu.contains(event.relatedTarget)) {
        set(userButton, "user-open", false);
      }
    });

    layout();
    header.classList.add("nav-ready");
    window.addEventListener("resize", relayout);
    // Live updates re-render the navigation's counts and the notifications link.
    document.addEventListener("htmx:afterSettle", relayout);
    document.addEventListener("htmx:oobAfterSwap", relayout);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
