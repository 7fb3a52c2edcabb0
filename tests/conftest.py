"""Shared fixtures: small simulated recordings (cached per session)."""

from __future__ import annotations

import os

import pytest

import tempfile

os.environ.setdefault("CORTEXKIT_PROGRESS", "0")
# Features computed by tests go to a throw-away cache, not the user's.
os.environ.setdefault("CORTEXKIT_CACHE", tempfile.mkdtemp(prefix="cortexkit-test-cache-"))


# Under pytest-xdist (`make test` runs one worker per core) each worker gets its share of the
# cores, so parallel workers do not fight over the same threads.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))


# CI forbids skips: CORTEXKIT_NO_SKIPS=required (the default suite: only tests marked `optional`
# may skip, their libraries come later) or =all (then only what needs a GPU may skip).
NO_SKIPS = os.environ.get("CORTEXKIT_NO_SKIPS", "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS not in ("required", "all") or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if "GPU" in reason or "CUDA" in reason or (NO_SKIPS == "required" and item.get_closest_marker("optional")):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped where CORTEXKIT_NO_SKIPS={NO_SKIPS} forbids it: {reason}"


def pytest_collectreport(report):
    """A whole module skipped at collection is a skip too (modules mark their own optional tests)."""
    if NO_SKIPS in ("required", "all") and report.skipped:
        report.outcome = "failed"


@pytest.fixture(scope="session")
def small_v1():
    """A quick in-silico V1 recording: 300 train / 40 test images, 6 repeats, 12 units, 16 px."""
    from cortexkit.simulate import simulate_v1

    return simulate_v1(n_train=300, n_test=40, n_repeats=6, n_simple=6, n_complex=6, size=16, seed=3)


@pytest.fixture(scope="session")
def demo_v1():
    """The demo-sized recording (2000 train images, 100 x 10 test), as `cortexkit demo` makes it."""
    from cortexkit.simulate import simulate_v1

    return simulate_v1()


@pytest.fixture
def small_store(tmp_path, small_v1):
    from cortexkit import data

    return data.save(small_v1, tmp_path / "small.zarr")


SHARED_DATA = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """The real recordings in ../shared/data (present in CI; skipped in a bare clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def imagenet_weights():
    """Skip when the offline ImageNet weights (``make weights``) are not installed."""
    from cortexkit.errors import ConfigError
    from cortexkit.features.networks.weights import find_weights

    try:
        return {name: find_weights(name) for name in ("alexnet", "vgg16", "efficientnet_lite0")}
    except ConfigError as exc:
        pytest.skip(str(exc))


_SLOW_LEFT_OUT: set[str] = set()


def pytest_deselected(items):
    _SLOW_LEFT_OUT.update(item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow"))


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: tell the controller
        session.config.workeroutput["slow_left_out"] = sorted(_SLOW_LEFT_OUT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _SLOW_LEFT_OUT.update(getattr(node, "workeroutput", {}).get("slow_left_out", []))


def pytest_terminal_summary(terminalreporter):
    """Say where the default `-m 'not slow'` left tests out, and how to run them."""
    if _SLOW_LEFT_OUT:
        terminalreporter.write_line(f"slow tests not run here (`make test-all` or `pytest -m slow` runs them, "
                                    f"and CI): in {', '.join(sorted(_SLOW_LEFT_OUT))}")
