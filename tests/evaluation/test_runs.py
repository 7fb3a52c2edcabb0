"""The run-folder contract: records, arrays with settings, kinds, and the report of any run kind."""

import numpy as np
import pytest

from cortexkit import data
from cortexkit.errors import DataError
from cortexkit.evaluation import (load_arrays, load_if_settings_match, read_run_record, read_table, run_kind, save_arrays,
                                  write_run_record)


def test_arrays_are_kept_only_under_the_same_settings(tmp_path):
    path = save_arrays({"x": np.arange(3), "settings": np.array('{"a": 1}')}, tmp_path / "m" / "a.npz")
    assert path.is_file() and not list(path.parent.glob(".*"))  # no temporary left behind
    np.testing.assert_array_equal(load_if_settings_match(path, '{"a": 1}')["x"], [0, 1, 2])
    assert load_if_settings_match(path, '{"a": 2}') is None
    assert load_if_settings_match(tmp_path / "none.npz", '{"a": 1}') is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz: cannot read the saved arrays"):
        load_arrays(tmp_path / "bad.npz")


def test_run_records_and_kinds(tmp_path):
    with pytest.raises(DataError, match="not a run directory"):
        read_run_record(tmp_path)
    assert run_kind(tmp_path) is None
    write_run_record(tmp_path, {"data": "x.zarr", "reconstruction": {}})
    assert run_kind(tmp_path) == "reconstruction"
    with pytest.raises(DataError, match="config.yaml: missing 'data' or 'encoding'"):
        read_run_record(tmp_path, required=("data", "encoding"))
    with pytest.raises(DataError, match="results.csv: missing; run `cortexkit evaluate`"):
        read_table(tmp_path / "results.csv")


@pytest.mark.slow  # 6-8 s on 2 cores; CI runs it
def test_report_of_a_reconstruction_run_is_drawn_from_its_folder(tmp_path, small_v1):
    from cortexkit.pipelines import DecoderSpec, ReconstructionConfig, run_reconstruction
    from cortexkit.report import write_run_report

    store = data.save(small_v1, tmp_path / "v1.zarr")
    cfg = ReconstructionConfig(image_size=16, n_permutations=0, n_grid=3, decoders=[DecoderSpec(name="pca", params={"n_components": 10})])
    table = run_reconstruction(store, tmp_path / "run", cfg, log=lambda m: None)
    assert (tmp_path / "run" / "metrics.csv").is_file() and not (tmp_path / "run" / "report.html").exists()
    page = write_run_report(tmp_path / "run").read_text()
    assert "figures/reconstructions.png" in page and (tmp_path / "run" / "figures" / "reconstructions.png").is_file()
    assert list(table["method"]) == ["pca", "pca (shuffled)", "mean image", "gray"]


def test_tables_keep_strings_pandas_would_read_as_missing(tmp_path):
    """A null-model row ('null'), a unit or area named 'NA' or 'None' survive a write/read; NaN stays NaN."""
    import pandas as pd

    from cortexkit.evaluation import write_table

    table = pd.DataFrame({"method": ["pca", "gray"], "kind": ["decoder", "null"], "area": ["NA", "None"],
                          "score": [0.5, np.nan]})
    back = read_table(write_table(table, tmp_path / "metrics.csv"))
    assert list(back["kind"]) == ["decoder", "null"] and list(back["area"]) == ["NA", "None"]
    assert back["score"].dtype == float and np.isnan(back["score"][1])
