// Neural-Path: progressive enhancement only; every page reads fully without this file.
(function () {
  "use strict";
  var root = document.documentElement;
  var btn = document.querySelector(".theme-toggle");
  function current() {
    return root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
  if (btn) {
    btn.hidden = false;
    var sync = function () { btn.setAttribute("aria-pressed", current() === "dark" ? "true" : "false"); };
    sync();
    btn.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("np-theme", next); } catch (e) {}
      sync();
    });
  }
})();
