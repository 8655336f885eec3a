"""The command line: ``python -m skunlearn demo``."""

import re
import subprocess
import sys

import pytest

from skunlearn.__main__ import main


def test_demo_runs_and_verifies(capsys):
    assert main(["demo", "--shards", "4", "--fraction", "0.02"]) == 0
    out = capsys.readouterr().out
    same, checked = re.search(r"(\d+)/(\d+) shards identical to retraining", out).groups()
    assert same == checked and int(checked) >= 1
    assert "forgotten rows still stored in any shard: 0" in out
    assert out.rstrip().splitlines()[-1].startswith("OK: forgot 27 rows exactly")


def test_demo_rejects_a_bad_fraction(capsys):
    assert main(["demo", "--fraction", "1.5"]) == 2
    assert "--fraction" in capsys.readouterr().err


def test_help_lists_the_demo():
    result = subprocess.run(
        [sys.executable, "-m", "skunlearn", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
