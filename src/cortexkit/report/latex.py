"""Tables as LaTeX (booktabs), as papers print benchmark results: ``bench show --format latex``."""

from __future__ import annotations

import math

import pandas as pd

# LaTeX's special characters and what stands for each in text
_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def _cell(value, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "--" if math.isnan(value) else f"{value:.{digits}f}"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "--"
    return escape(value)


def latex_table(frame: pd.DataFrame, caption: str | None = None, digits: int = 3) -> str:
    """A ``table`` environment holding ``frame`` as a booktabs ``tabular`` (numbers right-aligned, floats
    to ``digits`` decimals, missing values as --), with ``caption`` if given."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [r"\begin{table}[ht]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(escape(c) for c in frame.columns) + r" \\", r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_cell(v.item() if hasattr(v, "item") else v, digits) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{escape(caption)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
