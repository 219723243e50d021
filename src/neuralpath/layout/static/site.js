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

// Search: Pagefind's UI loads only when the reader opens search (the dialog, or the search page).
(function () {
  "use strict";
  var link = document.querySelector(".search-link");
  if (!link) return;
  var base = link.getAttribute("data-search");
  var loading = null;
  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet"; css.href = base + "pagefind-ui.css";
      document.head.appendChild(css);
      var s = document.createElement("script");
      s.src = base + "pagefind-ui.js"; s.onload = resolve;
      s.onerror = function () { reject(new Error("search index not available")); };
      document.head.appendChild(s);
    });
    return loading;
  }
  function mount(el) {
    return load().then(function () {
      if (el.dataset.mounted) return;
      el.dataset.mounted = "1";
      new window.PagefindUI({
        element: "#" + el.id, showSubResults: true, showImages: false, resetStyles: false,
        translations: { placeholder: "Search notes and essays" },
        processResult: function (r) {
          var where = [r.meta.part, r.meta.module].filter(Boolean).join(" · ");
          if (where) r.meta.title = r.meta.title + " — " + where;
          return r;
        }
      });
      var input = el.querySelector("input");
      if (input) input.focus();
    }).catch(function (err) {
      el.textContent = "Search is not available on this build (" + err.message + ").";
    });
  }
  var page = document.getElementById("search-page");
  if (page) { mount(page); }
  var dialog = null;
  function open() {
    if (page) { var i = page.querySelector("input"); if (i) i.focus(); return; }
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "search-dialog";
      dialog.setAttribute("aria-label", "Search");
      dialog.innerHTML = '<form method="dialog" class="search-close"><button type="submit" aria-label="Close search">Close</button></form><div id="search-dialog-body" class="search-root"></div>';
      document.body.appendChild(dialog);
      dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });
    }
    dialog.showModal();
    mount(dialog.querySelector(".search-root"));
  }
  link.addEventListener("click", function (e) {
    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault(); open();
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target, tag = t && t.tagName;
    if (e.key === "/" && !e.metaKey && !e.ctrlKey && !e.altKey && tag !== "INPUT" && tag !== "TEXTAREA" && !(t && t.isContentEditable)) {
      e.preventDefault(); open();
    }
  });
})();
