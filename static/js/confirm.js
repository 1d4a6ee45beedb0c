// Destructive actions ask first. A form, or the button that submits it, carries the
// question in `data-confirm` (already translated by the template); cancelling keeps the
// page as it was. Listening to `submit` also covers Enter in a field of the form.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
