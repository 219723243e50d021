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

// Search: our front end (assets/search.js, on Pagefind's API) loads only when the reader opens search.
(function () {
  "use strict";
  var link = document.querySelector(".search-link");
  if (!link) return;
  var src = link.getAttribute("data-search");
  if (!src) return;  // built without a search index: the link leads to a page that says so
  var loading = null;
  function load() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { resolve(window.NeuralPathSearch); };
        s.onerror = function () { loading = null; reject(new Error("the search script did not load")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }
  var page = document.getElementById("search-page");
  if (page) load().then(function (s) { s.mount(page).focus(); });
  function open() {
    load().then(function (s) { s.open(); }, function () { location.href = link.href; });
  }
  link.addEventListener("click", function (e) {
    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault(); open();
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target, tag = t && t.tagName;
    if (e.key === "/" && !e.metaKey && !e.ctrlKey && !e.altKey && tag !== "INPUT" && tag !== "TEXTAREA"
        && tag !== "SELECT" && !(t && t.isContentEditable)) {
      e.preventDefault(); open();
    }
  });
})();

// Reading progress in localStorage (no account): mark as read, progress bars, continue card, export/import.
(function () {
  "use strict";
  var KEY = "np-progress";
  function load() {
    try { var d = JSON.parse(localStorage.getItem(KEY) || "{}"); d.read = d.read || {}; return d; }
    catch (e) { return { read: {} }; }
  }
  function save(d) { try { localStorage.setItem(KEY, JSON.stringify(d)); } catch (e) {} }
  var data = load();
  var btn = document.querySelector(".mark-read");
  if (btn) {
    var id = btn.getAttribute("data-note");
    data.last = { id: id, title: btn.getAttribute("data-title"), url: location.pathname, at: Date.now() };
    save(data);
    var sync = function () {
      var on = !!data.read[id];
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      btn.textContent = on ? "Read ✓" : "Mark as read";
    };
    btn.parentNode.hidden = false;
    sync();
    btn.addEventListener("click", function () {
      data = load();
      if (data.read[id]) delete data.read[id]; else data.read[id] = Date.now();
      save(data); sync(); render();
    });
  }
  function render() {
    data = load();
    document.querySelectorAll(".progress[data-notes]").forEach(function (el) {
      var ids = el.getAttribute("data-notes").split(" ");
      var n = ids.filter(function (i) { return data.read[i]; }).length;
      el.querySelector("progress").value = n;
      el.querySelector(".progress-text").textContent = n + " of " + ids.length + " read";
      el.hidden = false;
    });
    document.querySelectorAll(".note-item[id^='note-']").forEach(function (li) {
      li.classList.toggle("is-read", !!data.read[li.id.slice(5)]);
    });
    var study = document.querySelector(".study-order");
    if (study) {
      var left = 0;
      study.querySelectorAll("li[data-note]").forEach(function (li) {
        li.hidden = !!data.read[li.getAttribute("data-note")];
        if (!li.hidden) left++;
      });
      study.hidden = left === 0 || Object.keys(data.read).length === 0;
    }
    var cont = document.getElementById("continue");
    if (cont && data.last && data.last.url) {
      var a = document.getElementById("continue-link");
      a.href = data.last.url; a.textContent = data.last.title || data.last.url;
      cont.querySelector(".continue-meta").textContent = data.read[data.last.id] ? "(read)" : "";
      cont.hidden = false;
    }
  }
  render();
  var tools = document.querySelector(".progress-tools");
  if (tools) {
    tools.hidden = false;
    var status = tools.querySelector(".progress-status");
    tools.querySelector("[data-progress-export]").addEventListener("click", function () {
      var blob = new Blob([JSON.stringify(load(), null, 2)], { type: "application/json" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = "neural-path-progress.json";
      document.body.appendChild(a); a.click(); a.remove();
      var n = Object.keys(load().read).length;
      status.textContent = "Exported " + n + (n === 1 ? " note." : " notes.");
    });
    tools.querySelector("[data-progress-import]").addEventListener("change", function (e) {
      var f = e.target.files[0];
      if (!f) return;
      var bad = new Error(f.name + " is not a progress file: choose a file made by Export progress");
      f.text().then(function (t) {
        var d;
        try { d = JSON.parse(t); } catch (e) { throw bad; }
        if (!d || typeof d.read !== "object" || d.read === null || Array.isArray(d.read)) throw bad;
        var cur = load();
        Object.keys(d.read).forEach(function (k) { cur.read[k] = d.read[k]; });
        if (d.last && !cur.last) cur.last = d.last;
        save(cur); render();
        var k = Object.keys(cur.read).length;
        status.textContent = "Imported; " + k + (k === 1 ? " note" : " notes") + " marked as read.";
      }).catch(function (err) {
        status.textContent = "Could not import: " + (err === bad ? err.message : "the file could not be read");
      }).then(function () { e.target.value = ""; });
    });
  }
})();

// Copy buttons on code, and previews of linked notes and equations (hover or keyboard focus).
(function () {
  "use strict";
  document.querySelectorAll(".code-block").forEach(function (block) {
    var pre = block.querySelector("pre");
    if (!pre || !navigator.clipboard) return;
    var b = document.createElement("button");
    b.type = "button"; b.className = "copy-code"; b.textContent = "Copy";
    b.setAttribute("aria-label", "Copy code to clipboard");
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.innerText).then(function () {
        b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500);
      });
    });
    block.insertBefore(b, pre);
  });
  var tip = null, owner = null, pages = {};
  // A reference to a block or equation of another note previews it from that note's page: fetched once
  // (same origin), parsed, and the element with the anchor's id shown; its title until it arrives.
  function fetched(ref, a) {
    var parts = ref.split("#"), url = parts[0], id = parts[1];
    var page = pages[url];
    if (page === undefined) {
      pages[url] = null;
      fetch(url).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
        pages[url] = new DOMParser().parseFromString(html, "text/html");
        if (owner === a) show(a);
      }).catch(function () { pages[url] = false; });
      return null;
    }
    return page ? page.getElementById(id) : null;
  }
  function hide() { if (tip) { tip.remove(); tip = null; } if (owner) { owner.removeAttribute("aria-describedby"); owner = null; } }
  function show(a) {
    hide();
    var t = document.createElement("div");
    t.className = "preview"; t.id = "np-preview"; t.setAttribute("role", "tooltip");
    var eq = a.getAttribute("data-preview-eq"), ref = a.getAttribute("data-preview-ref");
    var src = eq ? document.getElementById(eq) : ref ? fetched(ref, a) : null;
    if (eq && !src) return;
    if (src) {
      var clone = src.cloneNode(true);
      clone.removeAttribute("id");
      clone.removeAttribute("aria-labelledby");
      clone.querySelectorAll("[id]").forEach(function (n) { n.removeAttribute("id"); });
      clone.querySelectorAll("details.solution").forEach(function (n) { n.remove(); });
      clone.querySelectorAll(".eq-body").forEach(function (n) {
        n.classList.remove("is-wide", "is-scrolled", "at-end");
        n.removeAttribute("tabindex"); n.removeAttribute("role"); n.removeAttribute("aria-label");
      });
      clone.querySelectorAll(".eq-num").forEach(function (n) { n.removeAttribute("href"); });
      t.appendChild(clone);
    } else {
      var h = document.createElement("strong"); h.textContent = a.getAttribute("data-preview-title"); t.appendChild(h);
      var s = a.getAttribute("data-preview-summary");
      if (s) { var p = document.createElement("p"); p.textContent = s; t.appendChild(p); }
    }
    document.body.appendChild(t);
    // an equation wider than the preview is scaled down to fit, never clipped
    var wide = [];
    t.querySelectorAll(".eq-body").forEach(function (n) {
      var k = n.querySelector(".katex-display");
      if (k && n.scrollWidth > n.clientWidth + 1) wide.push([k, n.clientWidth / n.scrollWidth]);
    });
    if (wide.length) {
      t.style.width = t.offsetWidth + "px";  // at its widest: scaling must not let it shrink
      wide.forEach(function (w) { w[0].style.zoom = (Math.floor(w[1] * 1000) / 1000).toString(); });
    }
    var r = a.getBoundingClientRect();
    var left = Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - t.offsetWidth - 8));
    t.style.left = left + "px"; t.style.top = (r.bottom + window.scrollY + 6) + "px";
    a.setAttribute("aria-describedby", "np-preview");
    tip = t; owner = a;
  }
  document.querySelectorAll("a[data-preview-title], a[data-preview-eq], a[data-preview-ref]").forEach(function (a) {
    a.addEventListener("mouseenter", function () { show(a); });
    a.addEventListener("focus", function () { show(a); });
    a.addEventListener("mouseleave", hide);
    a.addEventListener("blur", hide);
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
})();

// Wide display math: an equation wider than its box fades at the edge that has more and can be scrolled
// by keyboard (focusable, named); its natural width in em (--eq-em) lets print scale it to the page.
(function () {
  "use strict";
  var bodies = document.querySelectorAll(".eq-body");
  if (!bodies.length) return;
  function naturalEm(body) {
    var html = body.querySelector(".katex-html");
    if (!html) return 0;
    var range = document.createRange();
    range.selectNodeContents(html);
    var w = range.getBoundingClientRect().width;
    var fs = parseFloat(getComputedStyle(html).fontSize) || 16;
    return w / fs;
  }
  function edgeState(body) {  // read only
    var max = body.scrollWidth - body.clientWidth;
    return [body.scrollLeft > 1, max > 1 && body.scrollLeft >= max - 1];
  }
  function setEdges(body, st) {  // write only
    body.classList.toggle("is-scrolled", st[0]);
    body.classList.toggle("at-end", st[1]);
  }
  function edges(body) { setEdges(body, edgeState(body)); }
  function measure() {
    // every read first, then every write: interleaving them would lay the page out once per equation
    var seen = [];
    bodies.forEach(function (body) {
      var wide = body.scrollWidth > body.clientWidth + 1;
      seen.push([naturalEm(body), wide, wide ? edgeState(body) : null]);
    });
    bodies.forEach(function (body, i) {
      var em = seen[i][0], wide = seen[i][1];
      if (em > 36) body.style.setProperty("--eq-em", em.toFixed(2));  // only these can need scaling in print
      if (wide) setEdges(body, seen[i][2]);
      if (wide === body.classList.contains("is-wide")) return;
      body.classList.toggle("is-wide", wide);
      if (wide) {
        var num = body.parentNode.querySelector(".eq-num");
        body.tabIndex = 0;
        body.setAttribute("role", "group");
        body.setAttribute("aria-label", (num ? "Equation " + num.textContent : "Equation") +
                          ", wider than the page: scroll sideways to read it");
      } else {
        body.removeAttribute("tabindex"); body.removeAttribute("role"); body.removeAttribute("aria-label");
        body.classList.remove("is-scrolled", "at-end");
      }
    });
  }
  bodies.forEach(function (body) {
    body.addEventListener("scroll", function () { edges(body); }, { passive: true });
  });
  measure();
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; measure(); });
  });
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(measure);
})();

// "On this page": the link of the section being read is marked (aria-current) as the reader scrolls.
(function () {
  "use strict";
  var toc = document.getElementById("toc");
  if (!toc) return;
  var links = [], heads = [];
  toc.querySelectorAll("a[href^='#']").forEach(function (a) {
    var h = document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
    if (h) { links.push(a); heads.push(h); }
  });
  if (!heads.length) return;
  var current = null, pending = false;
  function update() {
    pending = false;
    var line = Math.min(160, window.innerHeight / 4), at = -1;
    for (var i = 0; i < heads.length; i++) {
      if (heads[i].getBoundingClientRect().top <= line) at = i; else break;
    }
    var a = at >= 0 ? links[at] : null;
    if (a === current) return;
    if (current) current.removeAttribute("aria-current");
    if (a) a.setAttribute("aria-current", "location");
    current = a;
  }
  window.addEventListener("scroll", function () {
    if (!pending) { pending = true; requestAnimationFrame(update); }
  }, { passive: true });
  update();
})();
