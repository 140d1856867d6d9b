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

  // The service worker (served from /sw.js, see members.views_app): keeps the card for use
  // without a connection. Logging out tells it to forget the card at once (the logout
  // response's Clear-Site-Data header does the same, and more).
  var worker = document.body.getAttribute("data-service-worker");
  if (worker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(function () {});
    document.querySelectorAll("form[data-logout]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var controller = navigator.serviceWorker.controller;
        if (controller) {
          controller.postMessage("logout");
        }
      });
    });
  }

  // The offline page (served by the service worker): say whether the card is kept here.
  var offline = document.querySelector("[data-offline-card-url]");
  if (offline && window.caches) {
    caches.match(offline.getAttribute("data-offline-card-url"), { cacheName: "card" })
      .then(function (kept) {
        document.querySelectorAll("[data-offline-if]").forEach(function (element) {
          element.hidden = element.getAttribute("data-offline-if") !== (kept ? "card" : "no-card");
        });
        offline.setAttribute("data-offline-checked", kept ? "card" : "no-card");
      })
      .catch(function () {});
  }

  // <input data-select-on-focus>: the whole value is selected on focus (a link to copy).
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () {
      input.select();
    });
  });
})();
