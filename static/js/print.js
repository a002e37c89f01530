// Buttons marked data-print open the browser's print dialog (the CSP forbids onclick= in pages).
// They are hidden until this script runs, so a page without JavaScript shows no dead button.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
