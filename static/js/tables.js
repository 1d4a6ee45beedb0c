// On a narrow screen a list table becomes a stack of cards, one per row; each cell then
// shows its column title, copied here from the table head so that templates write it once.
(function () {
  "use strict";
  document.querySelectorAll("table.list").forEach(function (table) {
    var titles = [];
    table.querySelectorAll("thead th").forEach(function (th) {
      for (var i = 0; i < (th.colSpan || 1); i++) {
        titles.push(th.textContent.trim());
      }
    });
    if (!titles.length) {
      return;
    }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var title = titles[column];
        // A cell across several columns (the "nothing here" line) has no one title.
        if (title && cell.colSpan === 1 && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", title);
        }
        column += cell.colSpan || 1;
      });
    });
  });
})();
