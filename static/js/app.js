// The portal's few behaviours, kept out of the templates so the Content-Security-Policy
// needs no 'unsafe-inline': elements opt in with data- attributes.
(function () {
  "use strict";

  // <select data-autosubmit>: changing the choice submits its form (the language picker;
  // its <noscript> button does the same without JavaScript).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.submit();
      }
    });
  });

  // <input data-select-on-focus>: the whole value is selected on focus (a link to copy).
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });
})();
