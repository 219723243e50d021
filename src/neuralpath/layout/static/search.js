// Neural-Path search: our own front end on Pagefind's JS API (pagefind.js). Loaded by site.js only when
// a reader opens search. The index is described by search/bundles.json (search.py): the base bundles,
// an optional delta bundle of notes changed since the base was indexed, and the base URLs it supersedes.
(function () {
  "use strict";
  var link = document.querySelector(".search-link");
  var home = link.getAttribute("href");  // the search page: search/bundles.json sits beside it
  // Endings the Snowball stemmer strips (measured on the bundled site: docs/search.md); a query word
  // matches a page word when it is a prefix of it, or is the page word's stem plus one of these.
  var SUFFIXES = new Set(("ability able al ality alization alizes alizing ally als ance ances ancy ant ants ate " +
    "ated ately ates ating ation ational ations ative atives ator ators d ded ding e eable ed eds eity eli ely " +
    "ement ements ence ences ency eness ent ently ents eous eously er ered ers es ful ged ging ibility ible ic " +
    "ical ically ication icative icity ics ies ing ings ion ional ionally ioned ioning ions ism ities ity ive " +
    "ively ives ivity ization izations ize ized izer izers izes izing l lation led ling ls ly ment ments ming " +
    "ned ness ning ous ped ping red s ted ting y").split(" ").concat([""]));
  var TYPES = { note: "Note", essay: "Essay", page: "Page", definition: "Definition", theorem: "Result" };
  var TEX = { alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ϵ", varepsilon: "ε", zeta: "ζ", eta: "η",
    theta: "θ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ",
    phi: "ϕ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω", Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ",
    Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω", R: "ℝ", N: "ℕ", Z: "ℤ", E: "𝔼", P: "ℙ", sum: "∑", prod: "∏",
    int: "∫", infty: "∞", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", sim: "∼",
    in: "∈", notin: "∉", subseteq: "⊆", subset: "⊂", cup: "∪", cap: "∩", to: "→", mapsto: "↦", rightarrow: "→",
    Rightarrow: "⇒", iff: "⇔", times: "×", cdot: "·", partial: "∂", nabla: "∇", sqrt: "√", pm: "±", ell: "ℓ",
    forall: "∀", exists: "∃", langle: "⟨", rangle: "⟩", "|": "‖", ldots: "…", cdots: "⋯", dots: "…", quad: " ",
    qquad: " ", ",": " ", ";": " ", ":": " ", "!": "", " ": " ", top: "⊤", circ: "∘", otimes: "⊗", odot: "⊙",
    T: "ᵀ", C: "ℂ", star: "⋆", ast: "∗", prime: "′", propto: "∝", perp: "⊥", succeq: "⪰", preceq: "⪯", lVert: "‖", rVert: "‖", lvert: "|", rvert: "|", mid: "|", lbrace: "{", rbrace: "}",
    log: "log", exp: "exp", min: "min", max: "max", det: "det", tr: "tr", Var: "Var", Cov: "Cov", KL: "KL" };
  var state = null, count = 0;

  function terms(q) { return (q.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []); }

  function init() {
    if (state) return state;
    state = fetch(home + "bundles.json", { cache: "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error("no search index");
      return r.json();
    }).then(function (b) {
      var all = b.bundles.concat(b.delta ? [b.delta] : []);
      var vocab = new Map();
      var words = Promise.all(all.map(function (u) {
        return fetch(u + "np-words.json").then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
      })).then(function (lists) {
        var complete = lists.every(Boolean);
        lists.forEach(function (l) {
          if (!l) return;
          l.words.forEach(function (w) { vocab.set(w, w); });
          Object.keys(l.stems).forEach(function (w) { vocab.set(w, l.stems[w]); });
        });
        return complete;
      });
      return import(all[0] + "pagefind.js").then(function (pf) {
        return pf.options({ excerptLength: 26, ranking: { pageLength: 0.25 } }).then(function () {
          return Promise.all(all.slice(1).map(function (u) {
            return pf.mergeIndex(u);
          }));
        }).then(function () { return Promise.all([pf.filters(), words]); }).then(function (r) {
          return { pf: pf, filters: r[0], vocab: r[1] ? vocab : null, superseded: new Set(b.superseded) };
        });
      });
    });
    return state;
  }

  function stemOf(s, w) { var t = s.vocab && s.vocab.get(w); return t === undefined || t === null ? w : t; }
  function matches(s, term, word) {
    if (word.startsWith(term)) return true;
    var t = stemOf(s, word);
    if (t.length < 3) return false;
    return [term, term.replace(/y$/, "i")].some(function (u) {
      return u.startsWith(t) && SUFFIXES.has(u.slice(t.length));
    });
  }
  // the query words no indexed word matches (nothing can be found for them)
  function absent(s, ts) {
    if (!s.vocab) return [];
    return ts.filter(function (term) {
      for (var w of s.vocab.keys()) if (matches(s, term, w)) return false;
      return true;
    });
  }
  function distance(a, b) {
    var prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) prev[j] = j;
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      for (j = 1; j <= b.length; j++) {
        cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      prev = cur;
    }
    return prev[b.length];
  }
  function nearest(s, term) {
    var best = [], limit = Math.max(2, Math.floor(term.length / 3));
    for (var w of s.vocab.keys()) {
      if (Math.abs(w.length - term.length) > limit || w.length < 3) continue;
      var d = distance(term, w);
      if (d <= limit) best.push([d, w]);
    }
    best.sort(function (x, y) { return x[0] - y[0] || (x[1] < y[1] ? -1 : 1); });
    return best.slice(0, 5).map(function (x) { return x[1]; });
  }
  // Pagefind returns a page when a stem of a query word is a prefix of a word in it, and an unknown word
  // falls back to its longest indexed prefix; keep a result only when each query word matches a word
  // Pagefind located in it.
  function keep(s, ts, d) {
    var words = d.content.split(/\s+/), found = new Set();
    d.locations.forEach(function (i) { terms(words[i] || "").forEach(function (w) { found.add(w); }); });
    if (!d.locations.length) terms(d.meta.title || "").forEach(function (w) { found.add(w); });
    return ts.every(function (term) {
      for (var w of found) if (matches(s, term, w)) return true;
      return false;
    });
  }
  // an excerpt's TeX (between \( \) or \[ \]; an excerpt may start or end inside one) as readable text
  function legible(html) {
    var parts = html.split(/(\\[()[\]])/), first = parts.find(function (p, i) { return i % 2; });
    var inTex = first === "\\)" || first === "\\]";
    return parts.map(function (p, i) {
      if (i % 2) { inTex = p === "\\(" || p === "\\["; return ""; }
      return inTex ? tex(p) : p;
    }).join("");
  }
  function tex(t) {
    return t.replace(/\\(?:begin|end)\{[a-z*]*\}/g, " ").replace(/\\\\|&amp;/g, " ")
      .replace(/\\(norm|abs)\{([^{}]*)\}/g, function (m, c, x) { return c === "norm" ? "‖" + x + "‖" : "|" + x + "|"; })
      .replace(/\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
      .replace(/\\(?:mathrm|mathbf|mathbb|mathcal|mathsf|mathit|operatorname|text|textbf|textrm|boldsymbol|bm|left|right|[bB]igg?[lr]?|displaystyle|tilde|widetilde|hat|widehat|bar|overline|vec|dot|ddot)(?![A-Za-z])/g, "")
      .replace(/\\([A-Za-z]+|[|,;:! {}])/g, function (m, c) {
        if (Object.prototype.hasOwnProperty.call(TEX, c)) return TEX[c];
        return c === "{" ? "\u0001" : c === "}" ? "\u0002" : c.length > 1 ? c + " " : c;
      })
      .replace(/[{}]/g, "").replace(/\u0001/g, "{").replace(/\u0002/g, "}");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function mount(box) {
    if (box.querySelector(".search-ui")) return box.querySelector("input");
    var n = ++count;
    var ui = el("div", "search-ui");
    ui.innerHTML = '<label class="visually-hidden" for="q' + n + '">Search notes and essays</label>' +
      '<input id="q' + n + '" type="search" autocomplete="off" spellcheck="false" placeholder="Search notes and essays" aria-describedby="st' + n + '">' +
      '<div class="search-filters"></div><p class="search-status" id="st' + n + '" role="status" aria-live="polite"></p>' +
      '<ol class="search-results" aria-label="Results"></ol><button type="button" class="search-more" hidden>More results</button>';
    box.appendChild(ui);
    var input = ui.querySelector("input"), status = ui.querySelector(".search-status"),
      list = ui.querySelector(".search-results"), more = ui.querySelector(".search-more"),
      filters = ui.querySelector(".search-filters"), selects = {}, run = 0, timer = null, pending = [], shown = 0;

    init().then(function (s) {
      [["type", "Type"], ["part", "Part"], ["module", "Module"]].forEach(function (f) {
        var values = Object.keys(s.filters[f[0]] || {}).sort();
        if (values.length < 2) return;
        var label = el("label", null, f[1] + " "), sel = el("select");
        sel.appendChild(new Option("All", ""));
        values.forEach(function (v) { sel.appendChild(new Option(f[0] === "type" ? TYPES[v] || v : v, v)); });
        sel.addEventListener("change", search);
        label.appendChild(sel); filters.appendChild(label); selects[f[0]] = sel;
      });
      if (input.value) search();
    }).catch(function () { status.textContent = "Search is not available on this copy of the site."; });

    function search() {
      var q = input.value.trim(), mine = ++run;
      list.textContent = ""; more.hidden = true; pending = []; shown = 0;
      if (!q) { status.textContent = ""; return; }
      init().catch(function () { return null; }).then(function (s) {
        if (!s) return;
        var ts = terms(q), missing = absent(s, ts);
        if (mine !== run) return;
        if (!ts.length || missing.length) return none(s, q, missing);
        var chosen = {};
        Object.keys(selects).forEach(function (k) { if (selects[k].value) chosen[k] = selects[k].value; });
        // the query's words (Pagefind reads TeX such as D_{\mathrm{KL}} as one odd word; the index has its parts)
        return s.pf.search(ts.join(" "), { filters: chosen }).then(function (r) {
          if (mine !== run) return;
          pending = r.results.slice();
          return next(s, ts, q, mine);
        });
      });
    }
    // load and check results in rank order until ten more are shown (or none are left)
    function next(s, ts, q, mine) {
      var batch = pending.splice(0, 10);
      return Promise.all(batch.map(function (r) { return r.data(); })).then(function (data) {
        if (mine !== run) return;
        data.forEach(function (d) {
          var url = d.meta.target || d.url, page = url.split("#")[0];
          if ((!d.meta.delta && s.superseded.has(page)) || !keep(s, ts, d)) return;
          list.appendChild(result(d, url)); shown++;
        });
        if (shown < 10 && pending.length) return next(s, ts, q, mine);
        more.hidden = !pending.length;
        if (!shown) return none(s, q, []);
        status.textContent = shown + (pending.length ? "+" : "") + " result" + (shown === 1 ? "" : "s") + " for “" + q + "”";
      });
    }
    function none(s, q, missing) {
      status.textContent = "No results for “" + q + "”.";
      var words = s.vocab ? missing.map(function (m) { return nearest(s, m); }) : [];
      if (!words.some(function (w) { return w.length; })) return;
      var p = el("p", "search-suggest", "Nearest words on this site: ");
      missing.forEach(function (m, i) {
        words[i].forEach(function (w) {
          var b = el("button", "search-word", w);
          b.type = "button";
          b.addEventListener("click", function () {
            input.value = input.value.replace(new RegExp(m, "i"), w); search(); input.focus();
          });
          p.appendChild(b); p.appendChild(document.createTextNode(" "));
        });
      });
      list.appendChild(p);
      status.textContent += " Nearest words: " + words.flat().join(", ") + ".";
    }
    function result(d, url) {
      var li = el("li", "search-result"), head = el("p", "search-title"), a = el("a", null, d.meta.title || url);
      a.href = url;
      head.appendChild(a);
      var type = (d.filters.type || [])[0];
      if (type) head.appendChild(el("span", "search-type", TYPES[type] || type));
      li.appendChild(head);
      var where = [d.meta.note, d.meta.module, d.meta.part].filter(Boolean).join(" · ");
      if (where) li.appendChild(el("p", "search-where", where));
      var ex = el("p", "search-excerpt");
      ex.innerHTML = legible(d.excerpt);
      li.appendChild(ex);
      var subs = (d.sub_results || []).filter(function (r) { return r.url !== d.url && r.title !== d.meta.title; }).slice(0, 2);
      if (subs.length && !d.meta.target) {
        var ul = el("ul", "search-sections");
        subs.forEach(function (r) {
          var sli = el("li"), sa = el("a", null, r.title);
          sa.href = r.url; sli.appendChild(sa); ul.appendChild(sli);
        });
        li.appendChild(ul);
      }
      return li;
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 120); });
    more.addEventListener("click", function () {
      init().then(function (s) { var before = list.querySelectorAll("a").length; next(s, terms(input.value), input.value.trim(), run).then(function () {
        var links = list.querySelectorAll(".search-title a"); if (links[before]) links[before].focus(); }); });
    });
    // arrows move between the input and the results' links; Enter follows a link (the browser's own)
    ui.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      var links = [input].concat(Array.prototype.slice.call(list.querySelectorAll(".search-title a")));
      var i = links.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      links[Math.max(0, Math.min(links.length - 1, i + (e.key === "ArrowDown" ? 1 : -1)))].focus();
    });
    return input;
  }

  var dialog = null;
  window.NeuralPathSearch = {
    mount: mount,
    open: function () {
      var page = document.getElementById("search-page");
      if (page) { mount(page).focus(); return; }
      if (!dialog) {
        dialog = el("dialog", "search-dialog");
        dialog.setAttribute("aria-label", "Search");
        dialog.innerHTML = '<form method="dialog" class="search-close"><button type="submit">Close</button></form><div class="search-root"></div>';
        document.body.appendChild(dialog);
        dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });
        dialog.addEventListener("close", function () { link.focus(); });
        // Escape closes at once (in a search box it would first only clear the text)
        dialog.addEventListener("keydown", function (e) {
          if (e.key === "Escape") { e.preventDefault(); dialog.close(); link.focus(); }
        });
      }
      var input = mount(dialog.querySelector(".search-root"));
      dialog.showModal();
      input.focus();
      input.select();
    }
  };
})();
