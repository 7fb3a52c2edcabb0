"""End-to-end time of the V4 benchmarks from an empty cache, per stage, written as a table.

Runs ``cortexkit bench run`` on the named benchmarks (default ``cowley2023-v4`` and
``cowley2023-v4-paper``) in this process with a fresh feature cache and results store, and splits the
wall time by stage from what the runner logs: converting the stores (and the transfer sources' stores,
the scored stores without copied test images), feature extraction, ridge fits, the population
embedding's source fits, stacking, the published models, scoring and the tables. The table goes to
``--table`` (default ``docs/results/performance-v4.md``, included in docs/performance.md) with the
machine it ran on.

    python bench/v4_benchmarks.py --data-root ../shared/data          # both, about 40 minutes on 2 cores
    python bench/v4_benchmarks.py cowley2023-v4-paper --models alexnet,cowley-compact
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

STAGES = {  # log pattern -> stage; the seconds are the number the line reports
    r"features of \d+ stimuli in ([\d.]+) s": "features (the population embedding's source fits included)",
    r"ridge on \d+ layer\(s\) in ([\d.]+) s": "ridge",
    r"stacked: .* \(([\d.]+) s\)$": "stacking",
}


def _machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmarks", nargs="*", default=["cowley2023-v4", "cowley2023-v4-paper"])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--models", default=None, help="comma-separated models (default: each benchmark's own)")
    parser.add_argument("--table", default="docs/results/performance-v4.md")
    parser.add_argument("--keep", default=None, help="keep the results store here (default: a temporary folder)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cortexkit-v4-bench-"))
    os.environ["CORTEXKIT_CACHE"] = str(work / "cache")  # an empty feature cache, before cortexkit is imported
    from cortexkit.benchmarks import run_benchmarks
    from cortexkit.benchmarks.cells import read_cells
    from cortexkit.config import use_available_cores

    use_available_cores()
    out = Path(args.keep) if args.keep else work / "bench"
    seconds: dict[str, float] = defaultdict(float)
    stamps: list[tuple[float, str]] = []

    def log(message: str) -> None:
        stamps.append((time.perf_counter(), message))
        for pattern, stage in STAGES.items():
            m = re.search(pattern, message)
            if m:
                seconds[stage] += float(m.group(1))
        print(message, flush=True)

    start = time.perf_counter()
    run_benchmarks(args.data_root, out, models=args.models.split(",") if args.models else None,
                   benchmarks=args.benchmarks, log=log)
    total = time.perf_counter() - start
    first_cell = next((t for t, m in stamps if re.search(r"cells, \d+ up to date", m)), start)
    seconds["stores (conversion, transfer sources, copies left out)"] = first_cell - start
    published = sum(c["seconds"] for b in args.benchmarks for c in read_cells(out, b) if c["model_spec"]["kind"] == "published")
    seconds["published models (whole cells)"] = published
    cells = sum(c["seconds"] for b in args.benchmarks for c in read_cells(out, b))
    last_cell = max((t for t, m in stamps if re.search(r": [\d.]+ \[[\d.]+, [\d.]+\] \(\d+ s\)$", m)), default=start)
    seconds["tables and site"] = start + total - last_cell
    counted = sum(v for k, v in seconds.items() if not k.startswith(("stores", "published", "tables"))) + published
    seconds["scoring, source fits, other"] = max(0.0, cells - counted)
    rows = [("everything", total)] + sorted(seconds.items(), key=lambda kv: -kv[1])
    lines = [f"`python bench/v4_benchmarks.py {' '.join(args.benchmarks)}"
             f"{' --models ' + args.models if args.models else ''}` from an empty feature cache and results store, "
             f"{_machine()}:", "", "| stage | seconds | minutes |", "|---|---|---|"]
    lines += [f"| {name} | {value:.0f} | {value / 60:.1f} |" for name, value in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(text)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
