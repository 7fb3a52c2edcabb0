"""The encoding report as a person sees it: rendered by headless Chromium (skipped without it)."""

import shutil
import subprocess

import numpy as np
import pytest


@pytest.mark.optional
def test_report_renders_with_every_figure(tmp_path, small_store):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (Debian package `chromium`)")
    from PIL import Image

    from cortexkit.pipelines import EncodingConfig, FeatureSpec, evaluate_run, fit_run
    from cortexkit.report import write_report

    run = tmp_path / "run"
    fit_run(small_store, run, EncodingConfig(features=[FeatureSpec(name="pixels")]), log=lambda m: None)
    evaluate_run(run, log=lambda m: None)
    page = write_report(run)
    shot = tmp_path / "page.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                    f"--screenshot={shot}", page.as_uri()], check=True, timeout=60, capture_output=True)
    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (1600, 1200)
    # not a blank or error page: dark text and figure strokes on a light background, across the page
    dark_rows = (image < 100).any(axis=1)
    assert dark_rows.mean() > 0.2 and image.std() > 20
