"""The layering of cortexkit: no module imports a layer above its own (docs/architecture.md).

Every ``import cortexkit.X`` / ``from cortexkit.X import ...`` in the source tree, at module level
or inside a function, is checked against the layer order below: a module may import its own
top-level package and the entries of earlier layers, never a later one nor a sibling in its layer.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cortexkit"

# Lowest first.
LAYERS = [
    ("errors",),
    ("_atomic", "_progress", "code_stamps", "memory", "optional", "registry"),
    ("config", "image", "filters", "render", "terminal"),
    ("training_loop",),
    ("metrics",),
    ("data",),
    ("features",),
    ("simulate",),
    ("evaluation",),
    ("encoding",),
    ("decoding",),
    ("insilico",),
    ("pipelines",),
    ("benchmarks",),
    ("report",),
    ("cli",),
    ("__main__",),
]
RANK = {name: i for i, group in enumerate(LAYERS) for name in group}


def _top(module: str) -> str:
    return module.split(".")[1] if module.startswith("cortexkit.") else ""


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cortexkit."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cortexkit":
                for alias in node.names:  # from cortexkit import data, metrics
                    yield node.lineno, f"cortexkit.{alias.name}"
            elif node.module.startswith("cortexkit."):
                yield node.lineno, node.module


def test_every_module_has_a_layer():
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in SRC.rglob("*.py")} - {"__init__"}
    assert tops <= set(RANK), f"add {sorted(tops - set(RANK))} to LAYERS and docs/architecture.md"


def upward_imports(src: Path = SRC) -> list[str]:
    """``file:line imports target`` for every import of a higher (or a sibling) layer."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        own = path.relative_to(src).parts[0].removesuffix(".py")
        if own == "__init__":  # the package root re-exports the version only
            own = "errors"
        for line, target in _imports(path):
            other = _top(target)
            if other in ("", own) or other == "__version__":
                continue
            if other not in RANK:
                bad.append(f"{path.relative_to(src)}:{line} imports unknown {target}")
            elif RANK[other] > RANK[own] or RANK[other] == RANK[own]:
                bad.append(f"{path.relative_to(src)}:{line} ({own}) imports {target} ({other})")
    return bad


def test_no_module_imports_a_higher_layer():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path):
    """The checker itself: an import of a higher layer, even inside a function, is reported."""
    fake = tmp_path / "cortexkit"
    (fake / "metrics").mkdir(parents=True)
    (fake / "metrics" / "bad.py").write_text("def f():\n    from cortexkit.evaluation import score_predictions\n")
    (fake / "metrics" / "good.py").write_text("from cortexkit.errors import DataError\nimport numpy\n")
    (fake / "features.py").write_text("from cortexkit import simulate\n")
    assert upward_imports(fake) == ["features.py:1 (features) imports cortexkit.simulate (simulate)",
                                    "metrics/bad.py:2 (metrics) imports cortexkit.evaluation (evaluation)"]


# What the command line may import: it only parses, and calls these layers to do the work.
CLI_IMPORTS = {"pipelines", "benchmarks", "report", "config", "terminal", "errors"}


def cli_imports(path: Path = SRC / "cli.py") -> list[str]:
    """``line imports target`` for every import of ``cli.py`` outside :data:`CLI_IMPORTS` (the
    package root's ``__version__`` aside)."""
    bad = []
    for line, target in _imports(path):
        top = _top(target)
        if top not in CLI_IMPORTS and top != "__version__":
            bad.append(f"cli.py:{line} imports {target}")
    return bad


def test_the_cli_only_parses():
    assert cli_imports() == []


def test_the_cli_check_catches_a_forbidden_import(tmp_path):
    fake = tmp_path / "cli.py"
    fake.write_text("from cortexkit import __version__\nfrom cortexkit.config import parse\n"
                    "def f():\n    from cortexkit import data, pipelines\n    import cortexkit.features.cache\n")
    assert cli_imports(fake) == ["cli.py:4 imports cortexkit.data", "cli.py:5 imports cortexkit.features.cache"]


def private_imports(src: Path = SRC) -> list[str]:
    """``file:line imports NAME from MODULE`` for every import of a private name (``_x``) of another
    module; a package's own private modules (``ridge/_solvers.py``) may be imported by its modules."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        own_package = ".".join(("cortexkit", *path.relative_to(src).parent.parts)).rstrip(".")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cortexkit")):
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and alias.name != "__version__"
                sibling_module = node.module == own_package and (src.parent / node.module.replace(".", "/") /
                                                                 f"{alias.name}.py").is_file()
                if private and not sibling_module:
                    bad.append(f"{path.relative_to(src)}:{node.lineno} imports {alias.name} from {node.module}")
    return bad


def test_no_module_imports_a_private_name_of_another():
    assert private_imports() == []


def test_the_private_check_catches_one(tmp_path):
    pkg = tmp_path / "cortexkit"
    (pkg / "insilico").mkdir(parents=True)
    (pkg / "insilico" / "_helpers.py").write_text("")
    (pkg / "insilico" / "diverse.py").write_text("from cortexkit.insilico.mei import _blur\n"
                                                 "from cortexkit.insilico import _helpers\n")
    (pkg / "cli.py").write_text("from cortexkit.insilico import _helpers\n")
    assert private_imports(pkg) == ["cli.py:1 imports _helpers from cortexkit.insilico",
                                    "insilico/diverse.py:1 imports _blur from cortexkit.insilico.mei"]


@pytest.mark.parametrize("package", ["metrics"])
def test_metrics_needs_only_array_libraries(package):
    """metrics is pure: numpy, scipy, torch and cortexkit.errors (no pandas, xarray, files)."""
    allowed = {"numpy", "scipy", "torch", "warnings", "__future__", "math", "functools", "typing", "collections"}
    for path in (SRC / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                root = name.split(".")[0]
                assert root in allowed or name.startswith(("cortexkit.errors", f"cortexkit.{package}")), f"{path.name} imports {name}"


def undocumented(src: Path = SRC) -> list[str]:
    """Public module-level functions and classes, and public methods of public classes, without a docstring."""
    missing = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            if not ast.get_docstring(node):
                missing.append(f"{path.relative_to(src)}:{node.lineno} {node.name}")
            for sub in node.body if isinstance(node, ast.ClassDef) else []:
                is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in sub.decorator_list) \
                    if isinstance(sub, ast.FunctionDef) else True
                if isinstance(sub, ast.FunctionDef) and not sub.name.startswith("_") and not is_property \
                        and not ast.get_docstring(sub):
                    missing.append(f"{path.relative_to(src)}:{sub.lineno} {node.name}.{sub.name}")
    return missing


def test_every_public_function_and_class_has_a_docstring():
    assert undocumented() == []


def test_the_default_install_leaves_the_heavy_libraries_out():
    """`make demo` and `make test` install cortexkit[test]: neither that nor the plain install may
    require torchvision (PyPI's pulls a multi-GB CUDA torch) or another optional model library;
    they stay in the extras `make extras` installs the pinned way."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    heavy = {"torchvision", "timm", "open-clip-torch", "diffusers", "transformers", "lpips"}
    pulled = []
    for text in requires("cortexkit"):
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", "test")):
            pulled.append(name)
    assert pulled and not heavy & set(pulled), sorted(heavy & set(pulled))
    assert "torch" in pulled  # the check reads the real requirements
    # ...nor through a dependency: walk what the default install pulls, as installed here
    from importlib.metadata import PackageNotFoundError

    seen, todo, chains = set(), list(pulled), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            texts = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in texts:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                child = req.name.lower().replace("_", "-")
                chains.setdefault(child, f"{chains.get(name, name)} -> {child}")
                todo.append(child)
    assert not heavy & seen, [chains[h] for h in sorted(heavy & seen)]
    assert {"optuna", "xarray", "numpy"} <= seen  # the walk reaches the dependencies' own
