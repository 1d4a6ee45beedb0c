// After re-authentication, post the action that waited for it (the form carries a fresh
// CSRF token). Without JavaScript the person presses Continue.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (form) {
    form.submit();
  }
})();
