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


def _doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _command_lines(text: str) -> list[str]:
    """Each `cortexkit ...` command of a page: code-block lines starting with it (continuation lines
    joined) and inline code spans holding one."""
    import re

    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n\s*", " ", block)
        found += [m.group(1) for m in re.finditer(r"^\s*(?:\$ )?(?:torchrun [^\n]*?-m )?cortexkit ([^#\n]*)", block, re.M)]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += re.findall(r"`cortexkit ([^`]+)`", prose)
    return [f.strip() for f in found]


def test_every_command_and_option_named_in_the_docs_exists():
    """`cortexkit CMD [SUB] --option` in the README or any docs page names a real command and its real options."""
    import typer.main

    from cortexkit.cli import app

    root = typer.main.get_command(app)
    problems = []
    for page in _doc_pages():
        for line in _command_lines(page.read_text()):
            words = line.split()
            command, used = root, []
            while words and hasattr(command, "commands") and words[0] in command.commands:
                used.append(words[0])
                command = command.commands[words.pop(0)]
            if not used:
                if words and not words[0].startswith("-") and words[0] not in ("is", "and", "or", "to"):
                    if words[0] not in root.commands:
                        problems.append(f"{page.relative_to(ROOT)}: no command `cortexkit {words[0]}`")
                continue
            if hasattr(command, "commands"):
                continue  # a group named alone (`cortexkit bench`)
            options = {o for p in command.params for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])}
            for word in words:
                name = word.split("=", 1)[0].rstrip(".,;:)")
                if name.startswith("--") and len(name) > 2 and name not in options:
                    problems.append(f"{page.relative_to(ROOT)}: `cortexkit {' '.join(used)}` has no option {name}")
    assert problems == []


def test_every_figure_in_the_docs_exists_and_is_made_by_make_results():
    """Figures under docs/figures are each referenced, present, and copied there by the `results` target."""
    import re

    makefile = (ROOT / "Makefile").read_text()
    referenced = set()
    for page in _doc_pages():
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.relative_to(ROOT)} shows {target}, which does not exist"
            referenced.add(path)
    for path in sorted((DOCS / "figures").iterdir()):
        assert path.resolve() in referenced, f"{path.relative_to(ROOT)} is shown by no page"
        assert f"docs/figures/{path.name}" in makefile, f"no make results step writes {path.relative_to(ROOT)}"


def test_the_limits_page_names_every_registered_component():
    """The status table of docs/limits.md names every feature space, decoder, core, readout, analysis and benchmark."""
    import typer.main

    from cortexkit.benchmarks.definition import BENCHMARKS
    from cortexkit.cli import app
    from cortexkit.decoding import DECODERS
    from cortexkit.encoding.cores import CORES
    from cortexkit.encoding.readouts import READOUTS
    from cortexkit.features.registry import EXTRACTORS

    status = (DOCS / "limits.md").read_text().split("## Status", 1)[1]
    analyze = typer.main.get_command(app).commands["analyze"]
    wanted = {"feature space": sorted(set(EXTRACTORS) - {"user"}), "decoder": sorted(DECODERS), "core": sorted(CORES),
              "readout": sorted(READOUTS), "analysis": sorted(analyze.commands), "benchmark": sorted(BENCHMARKS)}
    missing = [f"{kind} {name}" for kind, names in wanted.items() for name in names if f"`{name}`" not in status]
    assert missing == []
