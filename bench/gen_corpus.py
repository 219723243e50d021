#!/usr/bin/env python3
"""Deterministic generator of a synthetic, math-heavy curriculum for benchmarking static-site engines.

    python bench/gen_corpus.py --notes 1000 --format neuralpath OUT_DIR
    python bench/gen_corpus.py --notes 1000 --format hugo       OUT_DIR
    python bench/gen_corpus.py --notes 1000 --format mkdocs     OUT_DIR

Every format receives the SAME corpus: each note is first generated as a small intermediate representation
(headings, paragraphs made of text / inline math / links / equation references, display equations, code
blocks, callouts, tables) from a `random.Random` seeded by (seed, note index), and only then written out
in the syntax of the target engine:

* neuralpath: `neuralpath.toml` + `content/curriculum/<part>/<module>/<NN-id>.md`, `$`/`$$` math with
  `\\label`/`\\eqref`, `[t](note:id)` links, `> [!type] Title` callouts, ```` ```python {norun} ```` code.
* hugo: `hugo.toml` + `content/` with the same tree, math kept raw by Goldmark's passthrough extension and
  rendered at build time by KaTeX through `transform.ToMath` in a passthrough render hook, `relref` links,
  alert blockquotes with a blockquote render hook, minimal layouts (breadcrumb, prerequisites, body, table
  of contents, previous/next) comparable to Neural-Path's note page.
* mkdocs: `mkdocs.yml` (Material theme, pymdownx.arithmatex generic, admonitions, highlight) + `docs/`
  with the same tree and an explicit nav derived from the folders. Note that MkDocs does NOT render math
  at build time: arithmatex only wraps it for a client-side renderer.

Equation labels exist only in Neural-Path; the other formats get the same equations with `\\tag{n}` and the
references as literal "(n)", which is what Neural-Path renders.

Each note has about 1,900 words of prose, ~25 math expressions (inline and display, including aligned,
pmatrix/bmatrix, cases, \\frac, \\sum, subscripts), 4 code blocks (python x2, bash, yaml), 2 callouts,
a table and 3 links to other notes. No code block is executed by Neural-Path (`{norun}`), so a benchmark
measures the engine rather than user code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("neuralpath", "hugo", "mkdocs")
NOTES_PER_MODULE = 40
PARTS = 5
TARGET_WORDS = 1900

MACROS = {
    "\\R": "\\mathbb{R}",
    "\\E": "\\mathbb{E}",
    "\\P": "\\mathbb{P}",
    "\\Var": "\\operatorname{Var}",
    "\\KL": "D_{\\mathrm{KL}}",
    "\\T": "^{\\top}",
    "\\norm": "\\left\\lVert #1 \\right\\rVert",
    "\\inner": "\\left\\langle #1, #2 \\right\\rangle",
    "\\tr": "\\operatorname{tr}",
    "\\argmin": "\\operatorname*{arg\\,min}",
}

# ---------------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------------

TOPICS = [
    "gradient descent", "stochastic optimisation", "the singular value decomposition", "principal component analysis",
    "ridge regression", "logistic regression", "kernel methods", "Gaussian processes", "variational inference",
    "the evidence lower bound", "expectation maximisation", "Markov chain Monte Carlo", "the attention mechanism",
    "layer normalisation", "residual networks", "convolutional filters", "recurrent networks", "backpropagation",
    "automatic differentiation", "the Adam optimiser", "learning-rate schedules", "weight decay", "dropout",
    "batch normalisation", "the bias-variance trade-off", "cross-validation", "the bootstrap", "maximum likelihood",
    "Bayesian linear regression", "the softmax function", "cross-entropy loss", "the Kullback-Leibler divergence",
    "mutual information", "contrastive learning", "diffusion models", "score matching", "normalising flows",
    "policy gradients", "temporal-difference learning", "the Bellman equation", "spectral clustering",
    "matrix factorisation", "low-rank adaptation", "quantisation", "mixed-precision training",
    "conjugate gradients", "Newton's method", "quasi-Newton updates", "the Hessian spectrum", "convex duality",
    "the Karush-Kuhn-Tucker conditions", "support vector machines", "decision trees", "gradient boosting",
    "random features", "the neural tangent kernel", "positional encodings", "beam search", "calibration",
    "conformal prediction", "causal inference", "importance sampling", "the reparameterisation trick",
]
ADJ = [
    "convex", "smooth", "strongly convex", "Lipschitz", "unbiased", "consistent", "stable", "sparse", "low-rank",
    "well-conditioned", "ill-conditioned", "bounded", "symmetric", "positive definite", "orthogonal", "stochastic",
    "deterministic", "differentiable", "monotone", "asymptotic", "empirical", "regularised", "normalised",
    "high-dimensional", "finite-sample", "numerically stable", "closed-form", "iterative", "greedy", "amortised",
]
NOUN = [
    "estimator", "objective", "gradient", "update rule", "step size", "loss surface", "parameter vector",
    "feature map", "kernel matrix", "covariance", "posterior", "likelihood", "prior", "activation", "Jacobian",
    "Hessian", "eigenvalue", "singular vector", "residual", "minibatch", "training set", "validation split",
    "decision boundary", "margin", "embedding", "attention weight", "logit", "regulariser", "condition number",
    "learning rate", "momentum term", "bias term", "variance", "confidence interval", "sample mean",
    "projection", "basis", "subspace", "norm", "inner product", "fixed point", "trajectory", "iterate",
]
VERB = [
    "bounds", "controls", "determines", "approximates", "dominates", "stabilises", "reduces", "increases",
    "preserves", "constrains", "regularises", "characterises", "decomposes", "dampens", "amplifies",
    "explains", "captures", "limits", "shapes", "summarises",
]
ADV = [
    "in practice", "in the worst case", "on average", "with high probability", "under mild assumptions",
    "for large batches", "near the optimum", "early in training", "at convergence", "in expectation",
    "for every fixed seed", "after a few thousand steps", "when the data are whitened", "in floating point",
    "for moderate dimensions", "as the sample size grows",
]
CONNECT = [
    "Consequently", "In particular", "Moreover", "By contrast", "For this reason", "Put differently",
    "As a result", "In the same way", "On the other hand", "To see why", "Concretely", "Historically",
    "In practice", "More precisely", "Intuitively",
]
PEOPLE = ["the practitioner", "the reader", "an implementer", "the optimiser", "a careful analysis",
          "the textbook argument", "the experiment", "the reference implementation", "our derivation"]
HEADINGS = [
    ("Problem", None), ("Notation", None), ("Derivation", ["Setting up the objective", "The key inequality",
     "Rates of convergence", "A closed-form special case"]), ("Algorithm", None), ("Implementation", None),
    ("Worked example", None), ("Pitfalls and diagnostics", None), ("Connections", None), ("Summary", None),
]
CALLOUT_TYPES = ["note", "important", "warning", "tip", "info", "caution"]
CALLOUT_TITLES = ["Assumptions", "Why this matters", "A common mistake", "Numerical caveat", "Rule of thumb",
                  "Proof sketch", "In practice", "Sanity check", "Scope", "Historical note"]
SYM = ["x", "y", "z", "w", "u", "v", "a", "b", "h", "q", "k"]
GREEK = ["\\alpha", "\\beta", "\\gamma", "\\eta", "\\lambda", "\\mu", "\\sigma", "\\theta", "\\tau", "\\rho",
         "\\epsilon", "\\kappa"]
MAT = ["A", "B", "W", "X", "H", "K", "M", "Q", "V", "U", "P", "C"]
IDX = ["i", "j", "k", "t", "n", "m", "l"]
COMPLEXITY = ["n", "n^2", "n d", "n^2 d", "d^3", "n \\log n"]
FUNCS = ["f", "g", "h", "\\ell", "\\phi", "\\psi"]


# ---------------------------------------------------------------------------------------------------------
# Intermediate representation
# ---------------------------------------------------------------------------------------------------------

# inline segments: ("t", text) | ("m", tex) | ("link", text, target index) | ("ref", label)
# blocks: ("h", level, text) | ("p", segs) | ("eq", tex, label|None) | ("code", lang, code)
#         | ("callout", type, title, segs) | ("table", header segs-list, rows segs-list-list)


@dataclass
class Note:
    index: int
    id: str
    title: str
    summary: str
    part: int
    module: int  # global module index
    order: int  # 1-based within module
    prerequisites: list[int] = field(default_factory=list)
    blocks: list = field(default_factory=list)


@dataclass
class Module:
    index: int
    part: int
    order: int  # 1-based within part
    slug: str
    title: str
    summary: str
    notes: list[int] = field(default_factory=list)


@dataclass
class Part:
    index: int
    slug: str
    title: str
    summary: str
    modules: list[int] = field(default_factory=list)


@dataclass
class Corpus:
    parts: list[Part]
    modules: list[Module]
    notes: list[Note]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class MathGen:
    """Random but well-formed TeX; parameters vary so most expressions are distinct (as in real notes)."""

    def __init__(self, rng: random.Random):
        self.r = rng

    def sym(self):
        return self.r.choice(SYM)

    def g(self):
        return self.r.choice(GREEK)

    def mat(self):
        return self.r.choice(MAT)

    def idx(self):
        return self.r.choice(IDX)

    def num(self, lo=1, hi=9):
        return self.r.randint(lo, hi)

    def inline(self) -> str:
        r, s, g, M, i = self.r, self.sym(), self.g(), self.mat(), self.idx()
        n = self.num(2, 64)
        choices = [
            lambda: f"{s}_{{{i}}}",
            lambda: f"{M} \\in \\R^{{{self.r.choice('mnd')} \\times {self.r.choice('mnkr')}}}",
            lambda: f"\\norm{{{s} - {s}^\\star}}_2 \\le {g}",
            lambda: f"\\E[{self.r.choice(FUNCS)}({s}_{i})] = {g}",
            lambda: f"\\frac{{\\partial L}}{{\\partial {M}_{{{i}{self.idx()}}}}}",
            lambda: f"\\sum_{{{i}=1}}^{{{n}}} {g}_{i} {s}_{i}",
            lambda: f"\\theta_{{t+1}} = \\theta_t - \\eta \\nabla L(\\theta_t)",
            lambda: "O(" + self.r.choice(COMPLEXITY) + ")",
            lambda: f"p({s} \\mid {self.sym()}, {g})",
            lambda: f"\\KL(q_{{{g}}} \\,\\|\\, p)",
            lambda: f"{g} = {n / 100:.2f}",
            lambda: f"\\lambda_{{\\max}}({M}) \\le {n}",
            lambda: f"{M}\\T {M} + {g} I",
            lambda: f"\\sigma({s}) = 1/(1 + e^{{-{s}}})",
            lambda: f"\\Var[{s}_{i}] = {g}^2 / {n}",
            lambda: f"\\inner{{{s}}}{{{self.sym()}}} = 0",
            lambda: f"\\tr({M}{self.mat()})",
            lambda: f"{s}^{{({i})}}",
            lambda: f"{M}_{{{i}{self.idx()}}}",
            lambda: f"{g}_{{{i}}}^{{{n}}}",
        ]
        return r.choice(choices)()

    def display(self, kind: str) -> str:
        r, s, g, M, i = self.r, self.sym(), self.g(), self.mat(), self.idx()
        n, a, b = self.num(2, 128), self.num(), self.num()
        if kind == "aligned":
            f = r.choice(FUNCS)
            return ("\\begin{aligned}\n"
                    f"L({g}) &= \\frac{{1}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} {f}({s}_{i}; {g}) + \\frac{{\\lambda}}{{2}} \\norm{{{g}}}_2^2 \\\\\n"
                    f"\\nabla L({g}) &= \\frac{{1}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} \\nabla {f}({s}_{i}; {g}) + \\lambda {g} \\\\\n"
                    f"&\\le {a} \\norm{{{g} - {g}^\\star}}_2 + \\lambda \\norm{{{g}}}_2 \\\\\n"
                    f"{g}_{{t+1}} &= {g}_t - \\eta_t \\nabla L({g}_t)\n"
                    "\\end{aligned}")
        if kind == "matrix":
            env = r.choice(["pmatrix", "bmatrix"])
            k = r.choice([2, 3])
            rows = " \\\\ ".join(" & ".join(str(r.randint(-9, 9)) for _ in range(k)) for _ in range(k))
            vec = " \\\\ ".join(f"{s}_{j}" for j in range(1, k + 1))
            return f"{M} = \\begin{{{env}}} {rows} \\end{{{env}}}, \\qquad {M}\\begin{{pmatrix}} {vec} \\end{{pmatrix}} = {M}{s}"
        if kind == "cases":
            return (f"{r.choice(FUNCS)}({s}) = \\begin{{cases}} {s}^2 / 2 & \\text{{if }} |{s}| \\le {g}, \\\\ "
                    f"{g} (|{s}| - {g} / 2) & \\text{{otherwise.}} \\end{{cases}}")
        if kind == "sum":
            return (f"\\hat{{{g}}}_{{{n}}} = \\argmin_{{{g} \\in \\R^d}} \\frac{{1}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} "
                    f"\\left( y_{i} - {s}_{i}\\T {g} \\right)^2 + {a}\\,\\lambda \\norm{{{g}}}_2^2")
        if kind == "integral":
            return (f"\\E_{{{s} \\sim p}}[{r.choice(FUNCS)}({s})] = \\int {r.choice(FUNCS)}({s})\\, p({s})\\, d{s} "
                    f"\\approx \\frac{{1}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} {r.choice(FUNCS)}({s}^{{({i})}})")
        if kind == "frac":
            return (f"\\frac{{\\partial L}}{{\\partial {M}}} = \\frac{{{a}}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} "
                    f"\\left( {M} {s}_{i} - y_{i} \\right) {s}_{i}\\T + {b}\\,{g} {M}")
        # "bound"
        return (f"\\P\\left( \\left| \\frac{{1}}{{{n}}} \\sum_{{{i}=1}}^{{{n}}} {s}_{i} - \\E[{s}] \\right| \\ge \\epsilon \\right) "
                f"\\le {a} \\exp\\left( -\\frac{{{n} \\epsilon^2}}{{{b} {g}^2}} \\right)")


class ProseGen:
    def __init__(self, rng: random.Random, math: MathGen):
        self.r, self.m = rng, math

    def sentence(self, inline_math: bool = False) -> list:
        r = self.r
        t = r.randrange(10)
        adj, noun, noun2, verb, adv = r.choice(ADJ), r.choice(NOUN), r.choice(NOUN), r.choice(VERB), r.choice(ADV)
        topic = r.choice(TOPICS)
        if t == 0:
            s = f"The {adj} {noun} {verb} the {noun2} {adv}, which is why {topic} behaves as it does"
        elif t == 1:
            s = (f"{r.choice(CONNECT)}, {r.choice(PEOPLE)} should check that the {noun} stays {adj} before trusting "
                 f"the {noun2}")
        elif t == 2:
            s = (f"When the {noun} is {adj}, the {noun2} {verb} the error of {topic} by a constant factor that "
                 f"depends only on the {r.choice(NOUN)}")
        elif t == 3:
            s = (f"{r.choice(CONNECT)}, {topic} can be read as a statement about the {noun}: it {verb} the "
                 f"{noun2} {adv}")
        elif t == 4:
            s = (f"{'An' if adj[0] in 'aeiou' else 'A'} {adj} {noun} is not enough on its own, because the {noun2} may still grow {adv} unless the "
                 f"{r.choice(NOUN)} is controlled as well")
        elif t == 5:
            s = (f"We write the {noun} explicitly so that every later step, including the bound on the {noun2}, "
                 f"can be checked line by line")
        elif t == 6:
            s = (f"In {topic}, the {noun} plays the role that the {noun2} played earlier, and the same "
                 f"{adj} argument goes through with minor changes")
        elif t == 7:
            s = (f"{r.choice(CONNECT)}, doubling the {noun} roughly halves the {noun2} {adv}, although the constant "
                 f"hidden in the rate matters for small problems")
        elif t == 8:
            s = (f"The {noun} of {topic} is {adj} {adv}, so the {noun2} can be estimated from a single pass over "
                 f"the data")
        else:
            s = (f"Nothing here requires the {noun} to be {adj}; the argument only uses that the {noun2} "
                 f"{verb} the {r.choice(NOUN)} {adv}")
        if inline_math:
            cut = r.choice([" which ", " because ", " so ", ", "])
            head = s.split(cut, 1)[0] if cut in s else s
            tail = s[len(head):]
            return [("t", f"{head}, with "), ("m", self.m.inline()), ("t", f"{tail}. " if tail else ". ")]
        return [("t", s + ". ")]

    def paragraph(self, n_sent: int, n_math: int) -> list:
        with_math = set(self.r.sample(range(n_sent), min(n_math, n_sent)))
        segs: list = []
        for k in range(n_sent):
            segs += self.sentence(inline_math=k in with_math)
        return segs


def _words(segs) -> int:
    return sum(len(s[1].split()) for s in segs if s[0] in ("t", "link"))


def make_corpus(n_notes: int, seed: int = 0) -> Corpus:
    n_modules = max(PARTS, round(n_notes / NOTES_PER_MODULE))
    n_modules = min(n_modules, n_notes)
    rng = random.Random(f"{seed}-structure")
    parts = []
    for p in range(PARTS):
        title = rng.choice(["Foundations of", "Methods for", "Advanced", "Applied", "Topics in"]) + " " + \
            ["Mathematics", "Optimisation", "Probabilistic Modelling", "Deep Learning", "Systems"][p]
        parts.append(Part(p, f"{p + 1}-{slug(title)}", title,
                          f"Part {p + 1} of the benchmark curriculum: {title.lower()}, derived step by step."))
    modules = []
    for mi in range(n_modules):
        p = mi * PARTS // n_modules
        topic = TOPICS[mi % len(TOPICS)]
        title = f"{topic[0].upper()}{topic[1:]} {mi // len(TOPICS) + 1}"
        m = Module(mi, p, len(parts[p].modules) + 1, "", title,
                   f"A module on {topic}: definitions, derivations, algorithms and diagnostics.")
        m.slug = f"{mi + 1:02d}-{slug(title)}"
        parts[p].modules.append(mi)
        modules.append(m)
    notes = []
    for k in range(n_notes):
        mi = k * n_modules // n_notes
        m = modules[mi]
        r = random.Random(f"{seed}-note-{k}")
        topic = r.choice(TOPICS)
        title = f"{r.choice(ADJ).capitalize()} {r.choice(NOUN)}s in {topic} ({k + 1})"
        nid = f"n{k + 1:05d}-{slug(title)[:40].strip('-')}"
        note = Note(k, nid, title, f"How the {r.choice(ADJ)} {r.choice(NOUN)} shapes {topic}, derived and checked "
                    f"on a worked example.", m.part, mi, len(m.notes) + 1)
        m.notes.append(k)
        if k > 0:
            note.prerequisites = sorted(set(r.sample(range(max(0, k - 30), k), min(k, r.randint(1, 3)))))
        notes.append(note)
    for note in notes:
        note.blocks = _note_body(note, n_notes, seed)
    return Corpus(parts, modules, notes)


def _note_body(note: Note, n_notes: int, seed: int) -> list:
    r = random.Random(f"{seed}-body-{note.index}")
    mg = MathGen(r)
    pg = ProseGen(r, mg)
    others = [j for j in range(n_notes) if j != note.index] if n_notes <= 64 else None
    link_targets = []
    while len(link_targets) < 3 and n_notes > 1:
        j = r.choice(others) if others is not None else r.randrange(n_notes)
        if j != note.index and j not in link_targets:
            link_targets.append(j)
    display_kinds = ["aligned", "matrix", "sum", "aligned", "frac", "cases", "integral", "bound"]
    r.shuffle(display_kinds)
    labels = [f"eq:{kind}-{q}" for q, kind in enumerate(display_kinds)]
    labelled = set(r.sample(range(len(display_kinds)), 4))
    # plan: 8 display equations + at most 11 inline expressions in prose, 2 in callouts, 5 in the table
    inline_budget = 11
    blocks: list = []
    words = 0
    di = 0  # display equations emitted
    used_labels: list[str] = []
    code_blocks = _code_blocks(r, note)
    callouts_left = 2
    link_slots = list(link_targets)

    def para(n_sent, n_math):
        nonlocal words, inline_budget
        n_math = min(n_math, inline_budget)
        inline_budget -= n_math
        segs = pg.paragraph(n_sent, n_math)
        if link_slots and r.random() < 0.35:
            j = link_slots.pop(0)
            segs += [("t", "See "), ("link", "the note on this topic" if r.random() < 0.5 else "an earlier derivation", j),
                     ("t", " for the background. ")]
        if used_labels and r.random() < 0.5:
            segs += [("t", "By "), ("ref", r.choice(used_labels)),
                     ("t", f", the {r.choice(NOUN)} is bounded as claimed. ")]
        words += _words(segs)
        blocks.append(("p", segs))

    def display():
        nonlocal di
        if di >= len(display_kinds):
            return
        kind = display_kinds[di]
        lab = labels[di] if di in labelled else None
        blocks.append(("eq", mg.display(kind), lab))
        if lab:
            used_labels.append(lab)
        di += 1

    n_sections = len(HEADINGS)
    per_section = TARGET_WORDS / n_sections
    for si, (head, subs) in enumerate(HEADINGS):
        blocks.append(("h", 2, head))
        start_words = words
        if head == "Notation":
            para(3, 1)
            header = [[("t", "symbol")], [("t", "meaning")], [("t", "typical size")]]
            rows = []
            for _ in range(5):
                cell = mg.inline()
                while "|" in cell:  # a pipe would split the table cell
                    cell = mg.inline()
                r.choice(ADJ), r.choice(NOUN)  # drawn as before, so the rest of the corpus stays the same
                # one symbol, one meaning across the corpus, as a site's notation tables should have it
                h = int(hashlib.blake2b(cell.encode(), digest_size=4).hexdigest(), 16)
                rows.append([[("m", cell)],
                             [("t", f"the {ADJ[h % len(ADJ)]} {NOUN[h // len(ADJ) % len(NOUN)]}")],
                             [("t", f"{r.randint(2, 512)}")]])
            blocks.append(("table", header, rows))
        if head == "Implementation":
            para(3, 1)
            blocks.append(code_blocks[0])
            para(3, 0)
            blocks.append(code_blocks[1])
        if head == "Worked example":
            para(3, 1)
            blocks.append(code_blocks[2])
            blocks.append(code_blocks[3])
        if subs:
            for sub in r.sample(subs, 2):
                blocks.append(("h", 3, sub))
                para(4, 2)
                display()
                para(3, 1)
                display()
                para(3, 1)
        if callouts_left and head in ("Problem", "Pitfalls and diagnostics"):
            callouts_left -= 1
            segs = pg.sentence(inline_math=True) + pg.sentence()
            blocks.append(("callout", r.choice(CALLOUT_TYPES), r.choice(CALLOUT_TITLES), segs))
            words += _words(segs)
        while words < per_section * (si + 1) - 140 or words == start_words:
            para(r.randint(4, 6), 1 if r.random() < 0.6 else 0)
            if head in ("Algorithm", "Connections", "Problem") and di < len(display_kinds) and r.random() < 0.5:
                display()
        if si == n_sections - 1:
            while di < len(display_kinds):
                display()
                para(2, 0)
    # any links not placed yet go into a final paragraph
    if link_slots:
        segs = [("t", "Related notes: ")]
        for q, j in enumerate(link_slots):
            segs += [("link", f"related note {q + 1}", j), ("t", ", " if q < len(link_slots) - 1 else ". ")]
        blocks.append(("p", segs))
    return blocks


def _code_blocks(r: random.Random, note: Note) -> list:
    lr = r.choice(["1e-3", "3e-4", "1e-2", "5e-3"])
    n, d = r.choice([64, 128, 256, 512]), r.choice([8, 16, 32])
    name = slug(note.title).replace("-", "_")[:24] or "f"
    py1 = (f"import numpy as np\n\n"
           f"rng = np.random.default_rng({note.index})\n"
           f"X = rng.normal(size=({n}, {d}))\n"
           f"w_true = rng.normal(size={d})\n"
           f"y = X @ w_true + 0.1 * rng.normal(size={n})\n\n"
           f"def loss(w, lam={r.choice(['0.0', '0.1', '1.0'])}):\n"
           f"    r = X @ w - y\n"
           f"    return 0.5 * r @ r / len(y) + 0.5 * lam * w @ w\n\n"
           f"def grad(w, lam=0.1):\n"
           f"    return X.T @ (X @ w - y) / len(y) + lam * w\n")
    py2 = (f"def {name}(w0, steps={r.randint(50, 500)}, lr={lr}):\n"
           f"    \"\"\"Plain gradient descent; returns the iterates.\"\"\"\n"
           f"    w, path = w0.copy(), [w0.copy()]\n"
           f"    for t in range(steps):\n"
           f"        w -= lr * grad(w)\n"
           f"        path.append(w.copy())\n"
           f"    return np.array(path)\n\n"
           f"path = {name}(np.zeros({d}))\n"
           f"assert loss(path[-1]) <= loss(path[0]) + 1e-12\n"
           f"print(f\"final loss: {{loss(path[-1]):.4f}}\")\n")
    sh = (f"# reproduce the figures of this note\n"
          f"python -m venv .venv && . .venv/bin/activate\n"
          f"pip install numpy scipy matplotlib\n"
          f"python experiments/run.py --seed {note.index} --steps {r.randint(100, 900)} --out results/\n"
          f"ls -l results/ | head\n")
    yml = (f"experiment: note-{note.index}\n"
           f"optimizer:\n  name: {r.choice(['sgd', 'adam', 'adamw'])}\n  lr: {lr}\n  weight_decay: {r.choice(['0.0', '0.01'])}\n"
           f"data:\n  n: {n}\n  d: {d}\n  seed: {note.index}\n")
    return [("code", "python", py1), ("code", "python", py2), ("code", "bash", sh), ("code", "yaml", yml)]


# ---------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------

def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class Writer:
    fmt = ""

    def __init__(self, corpus: Corpus, out: Path):
        self.c, self.out = corpus, out
        self.note_paths: list[str] = []  # relative to out, by note index

    # paths ------------------------------------------------------------------------------------------------
    def content_root(self) -> Path:
        raise NotImplementedError

    def part_dir(self, p: Part) -> Path:
        return self.content_root() / "curriculum" / p.slug

    def module_dir(self, m: Module) -> Path:
        return self.part_dir(self.c.parts[m.part]) / m.slug

    def note_file(self, n: Note) -> Path:
        return self.module_dir(self.c.modules[n.module]) / f"{n.order:02d}-{n.id}.md"

    # rendering of the IR ------------------------------------------------------------------------------------
    def inline(self, segs, note: Note, eqnum: dict) -> str:
        out = []
        for s in segs:
            if s[0] == "t":
                out.append(s[1])
            elif s[0] == "m":
                out.append(f"${s[1]}$")
            elif s[0] == "link":
                out.append(self.link(s[1], self.c.notes[s[2]], note))
            elif s[0] == "ref":
                out.append(self.ref(s[1], eqnum))
        return "".join(out).rstrip()

    def link(self, text, target: Note, src: Note) -> str:
        raise NotImplementedError

    def ref(self, label, eqnum) -> str:
        return f"({eqnum[label]})"

    def equation(self, tex, label, eqnum) -> str:
        if label:
            return f"$$\n{tex} \\tag{{{eqnum[label]}}}\n$$"
        return f"$$\n{tex}\n$$"

    def code(self, lang, code) -> str:
        return f"```{lang}\n{code}```"

    def callout(self, typ, title, body) -> str:
        raise NotImplementedError

    def table(self, header, rows, note, eqnum) -> str:
        h = "| " + " | ".join(self.inline(c, note, eqnum) for c in header) + " |"
        sep = "|" + "---|" * len(header)
        body = ["| " + " | ".join(self.inline(c, note, eqnum) for c in row) + " |" for row in rows]
        return "\n".join([h, sep] + body)

    def body(self, note: Note) -> str:
        eqnum: dict[str, int] = {}
        for b in note.blocks:
            if b[0] == "eq" and b[2]:
                eqnum[b[2]] = len(eqnum) + 1
        parts = []
        for b in note.blocks:
            kind = b[0]
            if kind == "h":
                parts.append("#" * b[1] + " " + b[2])
            elif kind == "p":
                parts.append(self.inline(b[1], note, eqnum))
            elif kind == "eq":
                parts.append(self.equation(b[1], b[2], eqnum))
            elif kind == "code":
                parts.append(self.code(b[1], b[2]))
            elif kind == "callout":
                parts.append(self.callout(b[1], b[2], self.inline(b[3], note, eqnum)))
            elif kind == "table":
                parts.append(self.table(b[1], b[2], note, eqnum))
        return "\n\n".join(parts) + "\n"

    def front(self, note: Note) -> str:
        raise NotImplementedError

    # files ------------------------------------------------------------------------------------------------
    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.write_indexes()
        for note in self.c.notes:
            path = self.note_file(note)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.front(note) + "\n" + self.body(note), encoding="utf-8")
            self.note_paths.append(path.relative_to(self.out).as_posix())
        self.write_extra()
        manifest = {"format": self.fmt, "notes": len(self.c.notes), "modules": len(self.c.modules),
                    "parts": len(self.c.parts), "note_files": self.note_paths}
        (self.out / "bench-manifest.json").write_text(json.dumps(manifest, indent=0), encoding="utf-8")

    def write_config(self) -> None:
        raise NotImplementedError

    def write_indexes(self) -> None:
        raise NotImplementedError

    def write_extra(self) -> None:
        pass


class NeuralPathWriter(Writer):
    fmt = "neuralpath"

    def content_root(self) -> Path:
        return self.out / "content"

    def link(self, text, target, src) -> str:
        return f"[{text}](note:{target.id})"

    def ref(self, label, eqnum) -> str:
        return f"\\eqref{{{label}}}"

    def equation(self, tex, label, eqnum) -> str:
        if label:
            return f"$$\n{tex} \\label{{{label}}}\n$$"
        return f"$$\n{tex}\n$$"

    def code(self, lang, code) -> str:
        return f"```{lang}{' {norun}' if lang == 'python' else ''}\n{code}```"

    def callout(self, typ, title, body) -> str:
        return f"> [!{typ}] {title}\n> {body}"

    def front(self, note) -> str:
        pre = ", ".join(self.c.notes[j].id for j in note.prerequisites)
        return (f"---\ntitle: {_yaml_str(note.title)}\nsummary: {_yaml_str(note.summary)}\nstatus: published\n"
                f"prerequisites: [{pre}]\n---\n")

    def write_config(self) -> None:
        macros = "\n".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in MACROS.items())
        (self.out / "neuralpath.toml").write_text(
            "# Generated by bench/gen_corpus.py\n[site]\ntitle = \"Benchmark curriculum\"\n"
            "base_url = \"https://bench.example.org/\"\ndescription = \"A synthetic curriculum for benchmarks.\"\n\n"
            "[build]\ncontent_dir = \"content\"\noutput_dir = \"public\"\n\n[math.macros]\n" + macros + "\n",
            encoding="utf-8")

    def write_indexes(self) -> None:
        for p in self.c.parts:
            d = self.part_dir(p)
            d.mkdir(parents=True, exist_ok=True)
            (d / "_index.md").write_text(f"---\ntitle: {_yaml_str(p.title)}\nsummary: {_yaml_str(p.summary)}\n---\n",
                                         encoding="utf-8")
        for m in self.c.modules:
            d = self.module_dir(m)
            d.mkdir(parents=True, exist_ok=True)
            (d / "_index.md").write_text(f"---\ntitle: {_yaml_str(m.title)}\nsummary: {_yaml_str(m.summary)}\n---\n",
                                         encoding="utf-8")


HUGO_BASEOF = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
<meta name="description" content="{{ with .Summary }}{{ . | plainify }}{{ else }}{{ site.Params.description }}{{ end }}">
<link rel="stylesheet" href="{{ "katex/katex.min.css" | relURL }}">
<link rel="stylesheet" href="{{ "site.css" | relURL }}">
</head>
<body>
<header class="site-header"><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer><p>{{ site.Title }}</p></footer>
</body>
</html>
"""

HUGO_PAGE = """{{ define "main" }}
<nav class="breadcrumb" aria-label="Breadcrumb"><ol>
{{ range .Ancestors.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}
</ol></nav>
<div class="doc-layout">
<article class="doc">
<header>
<h1>{{ .Title }}</h1>
<p class="lede">{{ .Params.summary }}</p>
<p class="meta">{{ .ReadingTime }} min read</p>
{{ with .Params.prerequisites }}<section class="before-this"><h2>Before this</h2><ul>
{{ range . }}{{ with site.GetPage . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}{{ end }}
</ul></section>{{ end }}
</header>
<div class="prose">{{ .Content }}</div>
<nav class="pager">
{{ with .PrevInSection }}<a rel="prev" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
</nav>
</article>
<nav class="toc"><h2>On this page</h2>{{ .TableOfContents }}</nav>
</div>
{{ end }}
"""

HUGO_SECTION = """{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ with .Params.summary }}<p class="lede">{{ . }}</p>{{ end }}
{{ .Content }}
<ol class="cards">
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a><p>{{ .Params.summary }}</p></li>{{ end }}
</ol>
{{ end }}
"""

HUGO_HOME = """{{ define "main" }}
<h1>{{ site.Title }}</h1>
{{ range (site.GetPage "/curriculum").Sections }}
<section><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<ul>{{ range .Sections }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> ({{ len .Pages }} notes)</li>{{ end }}</ul>
</section>
{{ end }}
{{ end }}
"""

HUGO_BLOCKQUOTE = """{{- if eq .Type "alert" -}}
<aside class="callout callout-{{ .AlertType }}"><p class="callout-title">{{ with .AlertTitle }}{{ . }}{{ else }}{{ .AlertType | title }}{{ end }}</p>
{{ .Text }}</aside>
{{- else -}}
<blockquote>{{ .Text }}</blockquote>
{{- end -}}
"""


class HugoWriter(Writer):
    fmt = "hugo"

    def content_root(self) -> Path:
        return self.out / "content"

    def link(self, text, target, src) -> str:
        rel = self.note_file(target).relative_to(self.content_root()).as_posix()
        return f'[{text}]({{{{< relref "/{rel}" >}}}})'

    def callout(self, typ, title, body) -> str:
        return f"> [!{typ.upper()}] {title}\n> {body}"

    def front(self, note) -> str:
        pre = ", ".join(_yaml_str("/" + self.note_file(self.c.notes[j]).relative_to(self.content_root()).as_posix())
                        for j in note.prerequisites)
        return (f"---\ntitle: {_yaml_str(note.title)}\nsummary: {_yaml_str(note.summary)}\n"
                f"weight: {note.order}\nprerequisites: [{pre}]\n---\n")

    def write_config(self) -> None:
        (self.out / "hugo.toml").write_text(
            "# Generated by bench/gen_corpus.py\n"
            "baseURL = \"https://bench.example.org/\"\nlocale = \"en\"\ntitle = \"Benchmark curriculum\"\n"
            "disableKinds = [\"taxonomy\", \"term\"]\n\n"
            "[params]\ndescription = \"A synthetic curriculum for benchmarks.\"\n\n"
            "[markup]\n[markup.highlight]\nnoClasses = false\n"
            "[markup.tableOfContents]\nstartLevel = 2\nendLevel = 3\n"
            "[markup.goldmark.parser]\nautoHeadingID = true\n"
            "[markup.goldmark.extensions.passthrough]\nenable = true\n"
            "[markup.goldmark.extensions.passthrough.delimiters]\n"
            "block = [['$$', '$$']]\ninline = [['$', '$']]\n", encoding="utf-8")
        lay = self.out / "layouts"
        (lay / "_markup").mkdir(parents=True, exist_ok=True)
        (lay / "baseof.html").write_text(HUGO_BASEOF, encoding="utf-8")
        (lay / "page.html").write_text(HUGO_PAGE, encoding="utf-8")
        (lay / "section.html").write_text(HUGO_SECTION, encoding="utf-8")
        (lay / "home.html").write_text(HUGO_HOME, encoding="utf-8")
        (lay / "_markup" / "render-blockquote.html").write_text(HUGO_BLOCKQUOTE, encoding="utf-8")
        macro_args = " ".join(f"{json.dumps(k)} {json.dumps(v)}" for k, v in MACROS.items())
        (lay / "_markup" / "render-passthrough.html").write_text(
            "{{- /* math rendered at build time by Hugo's embedded KaTeX */ -}}\n"
            f"{{{{- $macros := dict {macro_args} -}}}}\n"
            "{{- $opts := dict \"output\" \"htmlAndMathml\" \"displayMode\" (eq .Type \"block\") \"macros\" $macros -}}\n"
            "{{- with try (transform.ToMath .Inner $opts) -}}\n"
            "  {{- with .Err -}}{{- errorf \"KaTeX failed: %s: %s\" . $.Position -}}\n"
            "  {{- else -}}{{- .Value -}}{{- end -}}\n"
            "{{- end -}}\n", encoding="utf-8")
        static = self.out / "static"
        static.mkdir(exist_ok=True)
        (static / "site.css").write_text("body{max-width:70rem;margin:auto;font-family:system-ui}\n", encoding="utf-8")

    def write_indexes(self) -> None:
        root = self.content_root()
        (root / "curriculum").mkdir(parents=True, exist_ok=True)
        (root / "_index.md").write_text("---\ntitle: \"Benchmark curriculum\"\n---\n", encoding="utf-8")
        (root / "curriculum" / "_index.md").write_text("---\ntitle: \"Curriculum\"\n---\n", encoding="utf-8")
        for p in self.c.parts:
            d = self.part_dir(p)
            d.mkdir(parents=True, exist_ok=True)
            (d / "_index.md").write_text(f"---\ntitle: {_yaml_str(p.title)}\nsummary: {_yaml_str(p.summary)}\n"
                                         f"weight: {p.index + 1}\n---\n", encoding="utf-8")
        for m in self.c.modules:
            d = self.module_dir(m)
            d.mkdir(parents=True, exist_ok=True)
            (d / "_index.md").write_text(f"---\ntitle: {_yaml_str(m.title)}\nsummary: {_yaml_str(m.summary)}\n"
                                         f"weight: {m.order}\n---\n", encoding="utf-8")


class MkDocsWriter(Writer):
    fmt = "mkdocs"

    def content_root(self) -> Path:
        return self.out / "docs"

    def link(self, text, target, src) -> str:
        rel = os.path.relpath(self.note_file(target), self.note_file(src).parent)
        return f"[{text}]({Path(rel).as_posix()})"

    def callout(self, typ, title, body) -> str:
        return f'!!! {typ} "{title}"\n    {body}'

    def front(self, note) -> str:
        return f"---\ntitle: {_yaml_str(note.title)}\ndescription: {_yaml_str(note.summary)}\n---\n"

    def body(self, note) -> str:
        return f"# {note.title}\n\n" + super().body(note)

    def write_config(self) -> None:
        pass  # written after the files, with the nav

    def write_indexes(self) -> None:
        root = self.content_root()
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.md").write_text("# Benchmark curriculum\n\nA synthetic curriculum for benchmarks.\n",
                                       encoding="utf-8")
        for p in self.c.parts:
            d = self.part_dir(p)
            d.mkdir(parents=True, exist_ok=True)
            (d / "index.md").write_text(f"# {p.title}\n\n{p.summary}\n", encoding="utf-8")
        for m in self.c.modules:
            d = self.module_dir(m)
            d.mkdir(parents=True, exist_ok=True)
            (d / "index.md").write_text(f"# {m.title}\n\n{m.summary}\n", encoding="utf-8")

    def write_extra(self) -> None:
        root = self.content_root()
        rel = lambda p: p.relative_to(root).as_posix()
        lines = ["nav:", "  - Home: index.md", "  - Curriculum:"]
        for p in self.c.parts:
            lines.append(f"      - {_yaml_str(p.title)}:")
            lines.append(f"          - Overview: {rel(self.part_dir(p) / 'index.md')}")
            for mi in p.modules:
                m = self.c.modules[mi]
                lines.append(f"          - {_yaml_str(m.title)}:")
                lines.append(f"              - Overview: {rel(self.module_dir(m) / 'index.md')}")
                for k in m.notes:
                    n = self.c.notes[k]
                    lines.append(f"              - {_yaml_str(n.title)}: {rel(self.note_file(n))}")
        cfg = (
            "# Generated by bench/gen_corpus.py\n"
            "site_name: Benchmark curriculum\n"
            "site_url: https://bench.example.org/\n"
            "site_description: A synthetic curriculum for benchmarks.\n"
            "docs_dir: docs\n"
            "site_dir: site\n"
            "theme:\n  name: material\n"
            "markdown_extensions:\n"
            "  - admonition\n  - tables\n  - toc:\n      permalink: true\n"
            "  - pymdownx.arithmatex:\n      generic: true\n"
            "  - pymdownx.highlight\n  - pymdownx.superfences\n"
            "extra_javascript:\n  - javascripts/katex-init.js\n"
            "  - https://unpkg.com/katex@0/dist/katex.min.js\n"
            "  - https://unpkg.com/katex@0/dist/contrib/auto-render.min.js\n"
            "extra_css:\n  - https://unpkg.com/katex@0/dist/katex.min.css\n"
            + "\n".join(lines) + "\n")
        (self.out / "mkdocs.yml").write_text(cfg, encoding="utf-8")
        js = root / "javascripts"
        js.mkdir(exist_ok=True)
        macros = json.dumps(MACROS)
        (js / "katex-init.js").write_text(
            "// client-side math: MkDocs does not render it at build time\n"
            "document$.subscribe(() => { renderMathInElement(document.body, { macros: " + macros + ", delimiters: [\n"
            "  { left: '$$', right: '$$', display: true }, { left: '\\\\(', right: '\\\\)', display: false },\n"
            "  { left: '\\\\[', right: '\\\\]', display: true }] }); });\n", encoding="utf-8")


WRITERS = {"neuralpath": NeuralPathWriter, "hugo": HugoWriter, "mkdocs": MkDocsWriter}


def generate(n_notes: int, fmt: str, out: Path, seed: int = 0, force: bool = False) -> dict:
    """Write the corpus; returns the manifest. Refuses a non-empty OUT without a previous manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / "bench-manifest.json").is_file() and not force:
            raise SystemExit(f"refusing to overwrite {out}: not empty and not a generated corpus (use --force)")
        shutil.rmtree(out)
    corpus = make_corpus(n_notes, seed)
    w = WRITERS[fmt](corpus, out)
    w.write()
    return json.loads((out / "bench-manifest.json").read_text())


def corpus_stats(out: Path) -> dict:
    """Rough counts over the generated notes (words of prose, math, code, callouts, links)."""
    man = json.loads((Path(out) / "bench-manifest.json").read_text())
    tot = {"notes": 0, "bytes": 0}
    for rel in man["note_files"]:
        text = (Path(out) / rel).read_text(encoding="utf-8")
        tot["notes"] += 1
        tot["bytes"] += len(text.encode())
    return tot


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (created; replaced if it holds a previously generated corpus)")
    ap.add_argument("--notes", type=int, default=1000)
    ap.add_argument("--format", choices=FORMATS, default="neuralpath")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="replace OUT even if it was not generated by this script")
    args = ap.parse_args(argv)
    if args.notes < 1:
        ap.error("--notes must be at least 1")
    man = generate(args.notes, args.format, Path(args.out), seed=args.seed, force=args.force)
    st = corpus_stats(Path(args.out))
    print(f"wrote {man['notes']} notes in {man['modules']} modules and {man['parts']} parts "
          f"({st['bytes'] / 1e6:.1f} MB of Markdown) for {args.format} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
