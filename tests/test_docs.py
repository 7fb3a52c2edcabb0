"""The documentation: the site builds with --strict (a broken link, a missing page or snippet, or a
bad API reference fails), every public module is in the API reference, every page is in the
navigation, and the README stays a front door."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)  # !!python/name tags of extensions
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={"NO_MKDOCS_2_WARNING": "1",
                                                                          "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-4000:]
    site = tmp_path / "site"
    for page in ("index.html", "getting-started/index.html", "guide/benchmarks/index.html", "results/index.html",
                 "limits/index.html", "reference/pipelines/index.html"):
        assert (site / page).is_file(), page
    # the API reference is rendered from the docstrings, not empty headings
    assert "run_benchmarks" in (site / "reference" / "benchmarks" / "index.html").read_text()
    # the results page holds the tables the commands wrote
    assert "<table>" in (site / "results" / "index.html").read_text()


def test_every_page_is_in_the_navigation():
    listed = set(_nav_pages(_config()["nav"]))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] != "results"}
    assert pages == listed


def test_every_public_module_is_in_the_api_reference():
    src = ROOT / "src" / "cortexkit"
    documented = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    missing = []
    for path in src.rglob("*.py"):
        parts = path.relative_to(src.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) < 2 or any(p.startswith("_") for p in parts) or parts[1] in (
                "cli", "code_stamps", "config", "errors", "filters", "image", "memory", "optional", "registry", "render", "terminal",
                "training_loop", "report"):
            continue  # the command line (documented by --help), foundations and the page writers
        if f"::: {'.'.join(parts)}\n" not in documented:
            missing.append(".".join(parts))
    assert missing == []


def test_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for heading in ("## Setup: two commands", "## A 5-minute tour", "## Where to go next"):
        assert heading in readme
    for link in [line.split("](", 1)[1].split(")", 1)[0] for line in readme.splitlines() if "](docs/" in line]:
        assert (ROOT / link.split("#")[0]).is_file(), link
