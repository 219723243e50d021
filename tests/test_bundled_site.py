"""The bundled curriculum: structure from the seeds, requirements, prerequisites, series and journal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neuralpath.build import BuildOptions, build
from neuralpath.graph import find_cycle

REPO = Path(__file__).resolve().parents[1]
SEED = sorted((REPO.parent / "shared" / "seeds").glob("003_*.txt"))


def seed_curriculum() -> list[tuple[int, str, list[str]]]:
    """(module number, module title, note titles) in the seed's order."""
    if not SEED:
        pytest.skip("../shared/seeds is not beside the repository")
    lines = [l.strip() for l in SEED[0].read_text(encoding="utf-8").splitlines()]
    modules, i = [], 0
    while i < len(lines):
        m = re.match(r"MODULE (\d\d)", lines[i])
        if m:
            j = i + 1
            while not lines[j]:
                j += 1
            modules.append((int(m.group(1)), lines[j], []))
            i = j
        elif lines[i].startswith("• ") and modules:
            modules[-1][2].append(lines[i][2:])
        i += 1
    return modules


@pytest.fixture(scope="module")
def site():
    result = build(REPO, BuildOptions(write=False, execute=False))
    assert not result.report.errors
    return result.site


def test_parts_modules_and_notes_match_the_seed(site):
    expected = seed_curriculum()
    assert len(site.parts) == 5
    assert [p.title for p in site.parts] == ["Data Engineering", "Mathematics", "Machine Learning", "Modern AI",
                                             "Measurement"]
    assert len(site.modules) == 26 == len(expected)
    for module, (number, title, notes) in zip(site.modules, expected):
        assert (module.number, module.title) == (number, title)
        assert [n.title for n in module.notes] == notes, module.title
    assert sum(len(m.notes) for m in site.modules) == 164
    for n in site.notes():
        assert n.summary and "TODO" not in n.summary, n.id


def test_module_19_requires_the_api_key(site):
    m19 = next(m for m in site.modules if m.number == 19)
    assert m19.title == "LLMs in Production" and m19.requires == ["ANTHROPIC_API_KEY"]
    assert all(m.requires == [] for m in site.modules if m.number != 19)


def test_prerequisites_exist_and_are_acyclic(site):
    graph = {d.id: d.prerequisites for d in site.docs.values()}
    for d in site.docs.values():
        for p in d.prerequisites:
            assert p in site.docs, (d.id, p)
    assert find_cycle(graph) is None
    assert {"spectral-theorem", "inner-products-norms"} <= set(site.docs["svd-qr-lu"].prerequisites) | {
        p for q in site.docs["svd-qr-lu"].prerequisites for p in site.docs[q].prerequisites}
    assert "rlhf-ppo" in site.docs["dpo"].prerequisites


def test_series_and_journal(site):
    sizes = {s.title: len(s.members) for s in site.series.values()}
    assert sizes["Mathematics for ML"] == 7
    assert sizes["MLOps for Time Series"] == 7
    assert sizes["Practical Causal Inference for Finance"] == 6
    assert {"Foundations", "Hardware & Compute", "Transformer Architectures"} <= set(sizes)
    for s in site.series.values():
        assert s.summary
        for m in s.members:
            assert m in site.docs, (s.id, m)
    titles = {a.title for a in site.articles()}
    for t in ["The Softmax Function", "Cross-Entropy", "Boltzmann / Gibbs Distribution", "Attention Is All You Need",
              "The Modern Transformer Anatomy", "Information Theory: The Convergence of Machine Intelligence",
              "Optimization for ML: Beyond Gradient Descent"]:
        assert t in titles
    assert site.docs["softmax"].status == "published" and site.docs["cross-entropy"].status == "published"
    assert "about" in site.docs and site.docs["about"].kind == "page"
