"""What a user reads in a terminal: every help page and every listing, checked for Python reprs,
docstring markup and type noise (a regression test of the surface, not of the numbers)."""

import re

import pytest
from typer.testing import CliRunner

from cortexkit.cli import app

from .test_cli import COMMANDS

runner = CliRunner()
NOISE = [r"<bool>", r"<list\[", r"np\.float\d*\(", r"np\.int\d*\(", r":(meth|class|func|mod|attr):`", r"``",
         r"\(see the module docstring", r"\[\[", r"<class '"]


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _noise(text: str) -> list[str]:
    return [p for p in NOISE if re.search(p, text)]


@pytest.mark.parametrize("command", [""] + COMMANDS + ["data", "decode", "insilico", "bench", "analyze", "compare"])
def test_help_pages_read_as_words(command):
    result = runner.invoke(app, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert _noise(_plain(result.output)) == [], _plain(result.output)


@pytest.mark.parametrize("noun", ["formats", "features", "decoders", "cores", "readouts", "models", "benchmarks"])
def test_listings_read_as_words(noun):
    result = runner.invoke(app, ["list", noun], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert _noise(_plain(result.output)) == [], _plain(result.output)
