// Labels each cell of a .table with its column's header, so that on a phone, where the rows
// stack as cards (site.css), every value still says what it is. The roles keep the table a
// table for screen readers once CSS makes its parts blocks.
document.querySelectorAll("table.table").forEach((table) => {
  const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  table.setAttribute("role", "table");
  table.querySelectorAll("tr").forEach((row) => {
    row.setAttribute("role", "row");
    let column = 0;
    [...row.children].forEach((cell) => {
      const inHead = cell.closest("thead") !== null;
      cell.setAttribute("role", inHead ? "columnheader" : cell.tagName === "TH" ? "rowheader" : "cell");
      if (!inHead && cell.tagName === "TD" && !cell.hasAttribute("data-label")) {
        cell.setAttribute("data-label", headers[column] || "");
      }
      column += cell.colSpan || 1;
    });
  });
  table.querySelectorAll("thead, tbody").forEach((group) => group.setAttribute("role", "rowgroup"));
});
