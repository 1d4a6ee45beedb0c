// The header: on a narrow screen the navigation folds behind a menu button; the language
// list switches as soon as a language is picked. Without JavaScript the navigation stays
// open (css/nojs.css) and a Switch button submits the language.
(function () {
  "use strict";

  var toggle = document.getElementById("menu-toggle");
  var header = toggle && toggle.closest(".topbar");
  function setOpen(open) {
    header.classList.toggle("menu-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  if (toggle) {
    toggle.addEventListener("click", function (event) {
      event.stopPropagation();
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    // A tap outside the open menu, or Escape, folds it again.
    document.addEventListener("click", function (event) {
      if (header.classList.contains("menu-open") && !header.contains(event.target)) {
        setOpen(false);
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("menu-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
})();
