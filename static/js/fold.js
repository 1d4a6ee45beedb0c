// Long forms above a list (the audit filters) start folded on a phone, so that the list is
// on the first screen; the summary unfolds them. Wide screens and no JavaScript keep them open.
(function () {
  "use strict";
  if (!window.matchMedia("(max-width: 719.98px)").matches) {
    return;
  }
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) {
    details.open = false;
  });
})();
