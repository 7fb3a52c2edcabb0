"""The one benchmark runner: every (benchmark, model) cell that is missing or stale, computed
serially or as Dask tasks, then the tables (views over the cells) written again.

``run_benchmarks(data_root, out)`` with nothing named runs every benchmark with its own models;
naming benchmarks, models (``all`` for every built-in model that fits) or recordings narrows it.
The stores are made first, once, under ``OUT/stores/``; each model's runs sit under ``OUT/runs/``
and ridge fits shared between cells under ``OUT/fits/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from cortexkit import __version__
from cortexkit._atomic import claimed_output
from cortexkit._progress import track
from cortexkit.benchmarks.cells import CELLS, Cell
from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark, get_benchmark
from cortexkit.benchmarks.models import ModelSpec, builtin_models, get_model
from cortexkit.benchmarks.recordings import prepare_stores, source_stores
from cortexkit.benchmarks.table import COLUMNS, read_results, write_matrices, write_tables
from cortexkit.benchmarks.tasks import RUNNERS
from cortexkit.errors import ConfigError, CortexkitError
from cortexkit.evaluation import write_table

RESULTS_FILE = "results.csv"


def _names(names: list[str] | None, kind: str) -> list[str] | None:
    if names is not None and len(set(names)) != len(names):
        raise ConfigError(f"{kind}s named twice: {sorted({n for n in names if names.count(n) > 1})}")
    return names or None


def plan_cells(models: list[str] | None, benchmarks: list[str] | None) -> list[tuple[Benchmark, ModelSpec]]:
    """The (benchmark, model) pairs to run.

    Without ``models``, every selected benchmark (default: all those marked ``default``) runs its own models; with them
    (names, model ``.yaml`` paths, or ``all`` for every built-in model), each named model runs on
    every selected benchmark of its task and stimulus kind.
    """
    named = _names(benchmarks, "benchmark")
    benches = [get_benchmark(n) for n in named] if named else [b for b in map(get_benchmark, BENCHMARKS) if b.default]
    if not _names(models, "model"):
        return [(b, get_model(m)) for b in benches for m in b.models]
    names = [n for m in models for n in (builtin_models() if m == "all" else [m])]
    specs = list({s.name: s for s in (get_model(n) for n in names)}.values())
    pairs = [(b, m) for b in benches for m in specs if m.runs_on(b)]
    if not pairs:
        raise ConfigError(f"no model of {[m.name for m in specs]} runs on {[b.name for b in benches]} "
                          "(a model runs on benchmarks of its task and stimulus kind: `cortexkit list models`)")
    return pairs


def score_cell(cell: Cell, log=lambda m: None) -> dict:
    """Run one model on one benchmark; write the cell's files; return its result."""
    start = time.time()
    result, items, arrays = RUNNERS[cell.model.kind](cell, log)
    # what ran, for the model's page (a user's model file may be gone or changed later)
    spec = cell.model.model_dump(include={"description", "kind", "task", "stimulus", "members", "config", "output",
                                          "source"})
    result.update(benchmark=cell.benchmark.name, model=cell.model.name, label=cell.model.label, model_spec=spec,
                  task=cell.benchmark.task, metric=cell.benchmark.metric, fingerprint=cell.fingerprint(),
                  seconds=round(time.time() - start, 1), time=time.strftime("%Y-%m-%d %H:%M:%S"), cortexkit=__version__)
    cell.write(result, items, arrays)
    return result


def _compute(todo: list[Cell], scheduler: str | None, log) -> list[str]:
    """Compute the cells (here or on a Dask scheduler); returns one line per failed cell."""
    failures = []
    if scheduler and todo:
        from distributed import Client, as_completed

        client = Client(scheduler)
        try:
            futures = {client.submit(score_cell, c, pure=False): c for c in todo}
            for future in track(as_completed(futures), "benchmark cells", total=len(futures)):
                cell = futures[future]
                try:
                    result = future.result()
                except CortexkitError as exc:
                    failures.append(f"{cell.benchmark.name} / {cell.model.name}: {exc}")
                    continue
                log(f"{cell.benchmark.name} / {cell.model.name}: {result['score']:.3f}")
        finally:
            client.close()
        return failures
    for cell in track(todo, "benchmark cells"):
        log(f"{cell.benchmark.name} / {cell.model.name}: running")
        try:
            result = score_cell(cell, log=lambda m, c=cell: log(f"{c.benchmark.name} / {c.model.name}: {m}"))
        except CortexkitError as exc:  # bad data or settings of one cell: the others still run
            failures.append(f"{cell.benchmark.name} / {cell.model.name}: {exc}")
            log(f"{failures[-1]} (failed)")
            continue
        log(f"{cell.benchmark.name} / {cell.model.name}: {result['score']:.3f} "
            f"[{result['ci_low']:.3f}, {result['ci_high']:.3f}] ({result['seconds']:.0f} s)")
    return failures


def run_benchmarks(data_root, out, *, models: list[str] | None = None, benchmarks: list[str] | None = None,
                   recordings: list[str] | None = None, scheduler: str | None = None, log=print) -> pd.DataFrame:
    """Compute the missing or stale cells in the results store ``out``, write every touched
    benchmark's tables, and return :func:`~cortexkit.benchmarks.table.read_results`.

    Parameters
    ----------
    data_root : path
        Folder holding the benchmarks' source folders (``../shared/data``); simulated benchmarks
        need none.
    out : path
        The results store (a folder).
    models, benchmarks : list of str, optional
        See :func:`plan_cells`.
    recordings : list of str, optional
        A subset of the recordings of the one benchmark named.
    scheduler : str, optional
        A Dask ``distributed`` scheduler address: the cells run there as independent tasks (the
        workers must see ``out`` and the data at the same paths).
    log : callable
        Receives one line per step.

    A benchmark whose source data is absent is skipped when no benchmarks were named (the
    simulated ones still run) and an error when it was named. A cell that fails on its data or
    settings (a :class:`~cortexkit.errors.CortexkitError`) does not stop the others; the run ends
    with one error naming every failed cell.
    """
    out = Path(out)
    if recordings is not None and (not benchmarks or len(benchmarks) != 1):
        raise ConfigError("--recordings names recordings of one benchmark: name that benchmark")
    pairs = plan_cells(models, benchmarks)
    with claimed_output(out):  # bad input before any cell ran leaves no results store behind
        table, failures, attempted = _run(pairs, data_root, out, benchmarks, recordings, scheduler, log)
    if failures:  # the cells that ran are kept
        raise CortexkitError(f"{len(failures)} of {attempted} cell(s) failed, the others are in {out}: "
                             + "; ".join(failures))
    return table


def _run(pairs, data_root, out: Path, benchmarks, recordings, scheduler, log) -> tuple[pd.DataFrame, list[str], int]:
    """The body of :func:`run_benchmarks`, in its claimed results store: the results table, the failed
    cells and how many cells were computed."""
    stores, sources = {}, {}
    for bench in {b.name: b for b, _ in pairs}.values():
        try:
            stores[bench.name] = prepare_stores(bench, data_root, out, _names(recordings, "recording"), log)
            if bench.sources is not None and bench.simulate is None:
                found = source_stores(bench, data_root, out, log=lambda m: None)
                # each recording's sources: every other one (never the recording scored)
                sources[bench.name] = {label: [s for other, s in found.items() if other != label]
                                       for label in stores[bench.name]}
        except ConfigError as exc:
            if benchmarks:
                raise
            log(f"{bench.name}: skipped ({exc})")
    cells = [Cell(b, m, stores[b.name], str(out), None if data_root is None else str(data_root),
                  sources=sources.get(b.name, {})) for b, m in pairs if b.name in stores]
    todo = [c for c in cells if not c.is_current()]
    log(f"{len(cells)} cells, {len(cells) - len(todo)} up to date, {len(todo)} to compute")
    failures = _compute(todo, scheduler, log)
    for name in dict.fromkeys(c.benchmark.name for c in cells):
        write_tables(out, name, log=log)
    table = read_results(out) if (out / CELLS).is_dir() else pd.DataFrame(columns=COLUMNS)
    write_table(table, out / RESULTS_FILE)
    write_matrices(out, table)
    return table, failures, len(todo)
