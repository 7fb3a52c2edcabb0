"""The benchmark results as a static site: plain HTML and one small inline script, no server, no CDN.

``index.html``           the model x benchmark matrix, raw scores with their intervals and
                         normalised scores, sortable by any column (``#sort=BENCHMARK&view=normalized``
                         in the address opens it sorted)
``benchmarks/NAME.html`` data description, ceiling, scores per recording (the recordings table),
                         the per-item distributions and paired comparisons of the top models
``models/NAME.html``     the model's configuration and its score on every benchmark
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cortexkit._atomic import claim_output
from cortexkit.benchmarks import get_benchmark, metric_label, read_cells, read_table_view
from cortexkit.benchmarks.cells import read_items
from cortexkit.benchmarks.comparisons import paired_top
from cortexkit.benchmarks.table import benchmark_order, model_order
from cortexkit.errors import CortexkitError
from cortexkit.report import figures
from cortexkit.report.page import FIGURES_DIR, facts_html, figure_html, save_figure, write_page

# Sorting: a click on a header of a table.sortable orders its rows by that column (numbers by their
# data-value, empty cells last); a second click reverses. On load, #sort=COLUMN&view=normalized
# in the address sorts the matrix and picks the view.
SCRIPT = """
function sortTable(table, col, descending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const key = r => { const c = r.cells[col]; const v = c.dataset.value;
    return v === undefined ? c.textContent.trim() : (v === '' ? NaN : parseFloat(v)); };
  rows.sort((a, b) => { const x = key(a), y = key(b);
    if (typeof x === 'string') return descending ? y.localeCompare(x) : x.localeCompare(y);
    if (isNaN(x)) return isNaN(y) ? 0 : 1; if (isNaN(y)) return -1;
    return descending ? y - x : x - y; });
  rows.forEach(r => body.appendChild(r));
  table.dataset.sortedBy = col; table.dataset.descending = descending;
  Array.from(table.tHead.rows[0].cells).forEach((th, i) =>
    th.classList.toggle('sorted', i === col));
}
function showView(view) {
  document.querySelectorAll('.view').forEach(t => t.hidden = t.dataset.view !== view);
  document.querySelectorAll('input[name=view]').forEach(i => i.checked = i.value === view);
}
document.querySelectorAll('table.sortable').forEach(table => {
  Array.from(table.tHead.rows[0].cells).forEach((th, i) => th.addEventListener('click', () => {
    const again = table.dataset.sortedBy == i;
    sortTable(table, i, again ? table.dataset.descending !== 'true' : i > 0);
  }));
});
document.querySelectorAll('input[name=view]').forEach(i => i.addEventListener('change', () => showView(i.value)));
const params = new URLSearchParams(location.hash.slice(1));
if (params.get('view')) showView(params.get('view'));
if (params.get('sort')) document.querySelectorAll('table.sortable').forEach(table => {
  const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.dataset.key === params.get('sort'));
  if (col >= 0) sortTable(table, col, params.get('order') !== 'ascending');
});
"""

EXTRA_CSS = """<style>
th { cursor: pointer; } th.sorted { background: #e3ecf7; }
td small { color: #777; } td { white-space: nowrap; } .best { font-weight: bold; } td.empty { background: #fafafa; }
nav { margin-bottom: 1em; } label { margin-right: 1em; }
</style>"""


def _fmt(v, digits: int = 3) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def _cells_by(results: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["benchmark"], r["model"]): r for r in results}


def _matrix_html(results: list[dict], models: list[str], benchmarks: list[str], view: str) -> str:
    cells = _cells_by(results)
    best = {b: max((cells[b, m][view] for m in models if (b, m) in cells and np.isfinite(cells[b, m][view] or np.nan)),
                   default=None) for b in benchmarks}
    head = "<th data-key='model'>model</th>" + "".join(
        f"<th data-key='{html.escape(b)}' title='{html.escape(metric_label(_metric(results, b)))}'>"
        f"<a href='benchmarks/{html.escape(b)}.html'>{html.escape(b)}</a><br><small>"
        f"{html.escape(_view_label(results, b, view))}</small></th>" for b in benchmarks)
    rows = []
    for m in models:
        tds = [f"<td><a href='models/{html.escape(m)}.html'>{html.escape(m)}</a></td>"]
        for b in benchmarks:
            cell = cells.get((b, m))
            value = None if cell is None else cell.get(view)
            if value is None or not np.isfinite(value):
                tds.append("<td class='empty' data-value=''></td>")
                continue
            text = _fmt(value)
            low, high = ("ci_low", "ci_high") if view == "score" else ("normalized_ci_low", "normalized_ci_high")
            if cell.get(low) is not None:
                text += f" <small>[{_fmt(cell[low])}, {_fmt(cell[high])}]</small>"
            cls = " class='best'" if best[b] is not None and value == best[b] else ""
            tds.append(f"<td{cls} data-value='{value:.6g}' data-model='{html.escape(m)}' "
                       f"data-benchmark='{html.escape(b)}'>{text}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    hidden = "" if view == "score" else " hidden"
    return (f"<table id='matrix-{view}' class='sortable view' data-view='{view}'{hidden}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _metric(results: list[dict], benchmark: str) -> str:
    return next(r["metric"] for r in results if r["benchmark"] == benchmark)


def _view_label(results: list[dict], benchmark: str, view: str) -> str:
    if view == "score":
        return metric_label(_metric(results, benchmark))
    return next((r.get("normalization") for r in results if r["benchmark"] == benchmark and r.get("normalization")), "-")


def _page(path: Path, title: str, body: list[str]) -> Path:
    return write_page(path, title, [EXTRA_CSS, *body, f"<script>{SCRIPT}</script>"])


def write_benchmark_site(store: str | os.PathLike, out: str | os.PathLike, *, paired_k: int = 3) -> Path:
    """Write the site for the results store ``store`` into ``out``; returns ``out/index.html``."""
    results = read_cells(store)
    if not results:
        raise CortexkitError(f"{store}: no benchmark results yet")
    out = claim_output(out)
    benchmarks = benchmark_order(pd.DataFrame(results))
    models = model_order(pd.DataFrame(results))
    body = ["<p>Every model on every benchmark of its task and stimulus kind. Raw scores carry a 95% "
            "interval from resampling test stimuli (trials for decoding, images for reconstruction) within "
            "each recording; normalised scores divide by the noise ceiling (encoding, r²/ceiling over units "
            "with repeats) or rescale from chance (decoding). Models are grouped by task and ordered by their mean rank; click a "
            "header to sort, the best score of each benchmark is bold.</p>",
            "<nav><label><input type='radio' name='view' value='score' checked> raw score</label>"
            "<label><input type='radio' name='view' value='normalized'> normalised</label></nav>",
            _matrix_html(results, models, benchmarks, "score"), _matrix_html(results, models, benchmarks, "normalized"),
            "<h2>Benchmarks</h2><ul>" + "".join(
                f"<li><a href='benchmarks/{b}.html'>{b}</a>: {html.escape(get_benchmark(b).description)}</li>"
                for b in benchmarks) + "</ul>"]
    for b in benchmarks:
        _benchmark_page(store, out, b, [r for r in results if r["benchmark"] == b], paired_k)
    for m in models:
        _model_page(out, m, [r for r in results if r["model"] == m])
    return _page(out / "index.html", "cortexkit benchmarks", body)


def _benchmark_page(store, out: Path, name: str, results: list[dict], paired_k: int) -> Path:
    bench = get_benchmark(name)
    results = sorted(results, key=lambda r: -r["score"])
    label = metric_label(bench.metric)
    rows = "".join(
        f"<tr><td><a href='../models/{html.escape(r['model'])}.html'>{html.escape(r['model'])}</a></td>"
        f"<td data-value='{r['score']:.6g}'>{_fmt(r['score'])}</td><td>[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]</td>"
        f"<td data-value='{_fmt(r.get('normalized'), 6)}'>{_fmt(r.get('normalized'))}</td>"
        f"<td data-value='{r['n']}'>{r['n']}</td><td data-value='{r['seconds']}'>{r['seconds']:.0f}</td></tr>"
        for r in results)
    norm = next((r["normalization"] for r in results if r.get("normalization")), "")
    table = (f"<table class='sortable' id='scores'><thead><tr><th data-key='model'>model</th><th data-key='score'>"
             f"{html.escape(label)}</th><th>95% interval</th><th data-key='normalized'>{html.escape(norm or 'normalised')}"
             "</th><th>n</th><th>seconds</th></tr></thead><tbody>" + rows + "</tbody></table>")
    facts = [("task", bench.task), ("stimuli", bench.stimulus), ("metric", label),
             ("source", bench.folder or f"simulated {bench.simulate.upper()}"), ("citation", bench.citation)]
    ceilings = [r.get("ceiling") for r in results if r.get("ceiling") is not None and np.isfinite(r.get("ceiling"))]
    if ceilings:
        facts.append(("median noise ceiling (r²), units with repeats", _fmt(ceilings[0])))
    if results[0].get("chance") is not None:
        facts.append(("chance", _fmt(results[0]["chance"])))
    body = ["<p><a href='../index.html'>all benchmarks</a></p>", f"<p>{html.escape(bench.description)}</p>",
            facts_html(facts), "<h2>Scores</h2>", table]
    extras = {"pixcorr": "PixCorr", "ssim": "SSIM", "null_shuffled": "2-way, shuffled null", "chance": "chance",
              "pearson": "median r (recorded responses)", "n_normalized": "units with a ceiling"}
    shown = [k for k in extras if any(r.get(k) is not None for r in results)]
    if shown:
        more = pd.DataFrame([{"model": r["model"], **{extras[k]: r.get(k) for k in shown}} for r in results])
        body += ["<h2>More metrics and nulls</h2>", more.to_html(index=False, border=0, float_format=lambda v: f"{v:.3f}",
                                                                 na_rep="")]
    per = read_table_view(store, name)
    if len(per) > 1 or bench.best:
        body += ["<h2>Per recording</h2>", per.to_html(index=False, border=0, float_format=lambda v: f"{v:.3f}", na_rep="")]
    if bench.task != "decoding":  # decoding items are 0/1 trials: the per-recording table says more
        items = {}
        for r in results:
            table = read_items(store, name, r["model"])
            items[r["model"]] = table[table["headline"]] if "headline" in table else table
        what = "unit" if bench.task == "encoding" else "test image"
        item_label = "held-out r per unit" if bench.task == "encoding" else "2-way identification per image"
        fig = save_figure(figures.score_distributions({m: t["score"].to_numpy(float) for m, t in items.items()}, item_label),
                          out / "benchmarks" / FIGURES_DIR / f"{name}_distributions.png")
        body.append(figure_html(f"{fig}", f"{item_label.split(' per ')[0]} of every {what} under each model (box: quartiles; points: {what}s)."))
    if len(results) > 1:
        comparisons = paired_top(store, name, k=paired_k)
        table = pd.DataFrame([{"A": c["a"], "B": c["b"], "A - B": c["diff"], "95% interval": f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]",
                               "p": c["p"], "test": c["test"], "fraction A better": c["fraction_a_better"]}
                              for c in comparisons])
        body += [f"<h2>Paired comparisons of the top {min(paired_k, len(results))} models</h2>",
                 "<p>Same test items for both models. Encoding: per recording, the difference of median r with a "
                 "bootstrap interval over test stimuli (same draw for both) and a swap-permutation p; over several "
                 "recordings, the mean of the per-recording differences and a Wilcoxon test over recordings (units "
                 "of one recording share its images, so recordings are the independent evidence). Decoding and "
                 "reconstruction: the mean difference of the item scores (trials, test images) with a bootstrap "
                 "interval over items within recordings and a Wilcoxon test over items.</p>",
                 table.to_html(index=False, border=0, float_format=lambda v: f"{v:.3g}")]
    return _page(out / "benchmarks" / f"{name}.html", f"benchmark: {name}", body)


def _model_page(out: Path, name: str, results: list[dict]) -> Path:
    # the model as it ran, stored in its newest cell (a user's file may have moved or changed since)
    spec = max(results, key=lambda r: r["time"]).get("model_spec", {})
    facts = [(k, v if isinstance(v, str) else ", ".join(v)) for k, v in
             (("kind", spec.get("kind")), ("task", spec.get("task")), ("stimuli", spec.get("stimulus")),
              ("file", spec.get("source"))) if v]
    config = ("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(spec["config"], sort_keys=False)) + "</pre>"
              if "config" in spec else "")
    description = f"<p>{html.escape(spec['description'])}</p>" if spec.get("description") else ""
    rows = "".join(f"<tr><td><a href='../benchmarks/{r['benchmark']}.html'>{r['benchmark']}</a></td>"
                   f"<td>{html.escape(metric_label(r['metric']))}</td><td data-value='{r['score']:.6g}'>{_fmt(r['score'])}</td>"
                   f"<td>[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]</td><td>{_fmt(r.get('normalized'))}</td>"
                   f"<td>{r['seconds']:.0f}</td><td>{html.escape(r['time'])}</td></tr>" for r in results)
    body = ["<p><a href='../index.html'>all benchmarks</a></p>", description, facts_html(facts),
            "<h2>Scores</h2><table class='sortable'><thead><tr><th>benchmark</th><th>metric</th><th>score</th>"
            "<th>95% interval</th><th>normalised</th><th>seconds</th><th>computed</th></tr></thead><tbody>"
            + rows + "</tbody></table>", config]
    return _page(out / "models" / f"{name}.html", f"model: {name}", body)

