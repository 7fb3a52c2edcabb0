"""LaTeX tables: special characters escaped, numbers right-aligned to the given decimals, missing as --."""

import numpy as np
import pandas as pd

from cortexkit.report.latex import escape, latex_table


def test_a_table_is_booktabs_with_escaped_text_and_rounded_numbers():
    frame = pd.DataFrame({"model": ["pca_decoder", "50% & more"], "2way": [0.96531, np.nan], "n": [50, 40]})
    text = latex_table(frame, caption="sim_v1: levers")
    lines = text.splitlines()
    assert lines[2] == r"\begin{tabular}{lrr}" and r"\toprule" in lines and r"\bottomrule" in lines
    assert r"model & 2way & n \\" in lines
    assert r"pca\_decoder & 0.965 & 50 \\" in lines
    assert r"50\% \& more & -- & 40 \\" in lines
    assert r"\caption{sim\_v1: levers}" in lines
    assert escape(r"a\b{c}~^#$") == r"a\textbackslash{}b\{c\}\textasciitilde{}\textasciicircum{}\#\$"
