"""The command line: ``python -m skunlearn demo`` (the tour) and ``python -m skunlearn bench``."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import skunlearn.metrics
from skunlearn import _bench, _tour
from skunlearn.__main__ import FAMILY_NAMES, STOP_NAMES, main


def _last_line(out: str) -> str:
    return out.rstrip().splitlines()[-1]


# -- demo: each stop --------------------------------------------------------------------------


def test_sharded_stop_runs_and_verifies(capsys):
    assert main(["demo", "--only", "sharded", "--shards", "4", "--fraction", "0.02"]) == 0
    out = capsys.readouterr().out
    same, checked = re.search(r"(\d+)/(\d+) shards identical to retraining", out).groups()
    assert same == checked and int(checked) >= 1
    assert "forgotten rows still stored in any shard: 0" in out
    assert _last_line(out).startswith("OK: forgot 27 rows exactly")
    assert "=== stop" not in out  # one stop: no tour banner, the original demo's output


def test_influence_stop_checks_the_bound_on_every_request(capsys):
    assert main(["demo", "--only", "influence"]) == 0
    out = capsys.readouterr().out
    held, total = map(int, re.search(r"the bound held on (\d+)/(\d+) requests", out).groups())
    assert held == total == 21
    distance, bound = map(
        float, re.search(r"true distance (\S+) <= reported bound (\S+)", out).groups()
    )
    assert 0 < distance <= bound < 1e-3
    assert _last_line(out).startswith("OK: forgot 21 rows within the certified bound")


def test_linear_stop_matches_a_refit(capsys):
    assert main(["demo", "--only", "linear"]) == 0
    out = capsys.readouterr().out
    worst = float(re.search(r"largest relative difference (\S+)", out).group(1))
    assert worst <= 1e-10
    assert "verify_unlearning PASSED" in out
    assert _last_line(out).startswith("OK: forgot 17 rows exactly")


def test_decremental_stop_verifies_three_models(capsys):
    assert main(["demo", "--only", "decremental"]) == 0
    out = capsys.readouterr().out
    for model in ("GaussianNB on digits", "KNeighborsClassifier on digits", "scaler + KNN"):
        assert model in out
    assert out.count("verify_unlearning PASSED") == 3
    assert _last_line(out).startswith("OK: forgot 141 rows exactly in 3 models")


def test_arcane_stop_retrains_one_class_per_request(capsys):
    assert main(["demo", "--only", "arcane"]) == 0
    out = capsys.readouterr().out
    retrained, total = map(int, re.search(r"class's model \((\d+) of (\d+) rows\)", out).groups())
    assert retrained < total / 5  # one class of ten
    assert "verify_unlearning PASSED" in out
    assert _last_line(out).startswith("OK: forgot 10 rows exactly")


def test_bayes_stop_forgets_better_than_doing_nothing(capsys):
    assert main(["demo", "--only", "bayes"]) == 0
    out = capsys.readouterr().out
    kl_unlearned = float(re.search(r"KL\(unlearned \|\| retrained\) = (\S+)", out).group(1))
    kl_nothing = float(re.search(r"KL\(full \|\| retrained\)\s+= (\S+)", out).group(1))
    assert 0 <= kl_unlearned < kl_nothing
    assert _last_line(out).startswith("OK: forgot 43 rows")


# -- demo: the tour, exit codes, figures ------------------------------------------------------


def test_several_stops_run_in_tour_order_with_a_summary(capsys):
    assert main(["demo", "--only", "bayes", "--only", "linear"]) == 0
    out = capsys.readouterr().out
    assert out.index("stop 1/2: linear") < out.index("stop 2/2: bayes")
    summary = out[out.index("Summary") :]
    assert re.search(r"linear\s+Ridge\s+diabetes\s+17 .* yes", summary)
    assert re.search(r"bayes\s+VariationalUnlearnLogistic\s+breast_cancer\s+43 .* yes", summary)
    assert _last_line(out).startswith("OK: forgot 60 rows in 2 stop(s); every verification")


def test_a_failed_verification_makes_the_exit_code_1(monkeypatch, capsys):
    real = skunlearn.metrics.verify_unlearning

    def failing(*args, **kwargs):
        report = real(*args, **kwargs)
        report["passed"] = False
        return report

    monkeypatch.setattr(skunlearn.metrics, "verify_unlearning", failing)
    assert main(["demo", "--only", "linear"]) == 1
    out = capsys.readouterr().out
    assert "verify_unlearning FAILED" in out
    assert _last_line(out).startswith("FAILED:")


def test_a_stop_that_raises_fails_the_tour_but_not_the_other_stops(monkeypatch, capsys):
    def broken(options):
        raise RuntimeError("simulated breakage")

    monkeypatch.setitem(_tour.STOPS, "linear", ("broken on purpose", broken))
    assert main(["demo", "--only", "linear", "--only", "bayes"]) == 1
    captured = capsys.readouterr()
    assert "FAILED: the linear stop raised RuntimeError: simulated breakage" in captured.out
    assert "simulated breakage" in captured.err  # the traceback
    assert re.search(r"bayes\s+VariationalUnlearnLogistic.* yes", captured.out)
    assert _last_line(captured.out) == "FAILED: verification did not pass at linear."


def test_plot_writes_one_png_per_stop_and_a_summary(tmp_path, capsys):
    assert main(["demo", "--only", "linear", "--only", "bayes", "--plot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["bayes.png", "linear.png", "summary.png"]
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
    assert "figures written to" in out and _last_line(out).startswith("OK: forgot")


def test_plot_without_matplotlib_says_what_to_install(monkeypatch, tmp_path, capsys):
    # None in sys.modules makes "import matplotlib..." raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["demo", "--only", "linear", "--plot", str(tmp_path / "figs")]) == 2
    captured = capsys.readouterr()
    assert "--plot needs matplotlib" in captured.err
    assert 'pip install "skunlearn[plot]"' in captured.err
    assert captured.out == ""  # checked before anything runs
    assert not (tmp_path / "figs").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--fraction", "1.5"], "--fraction"),
        (["demo", "--shards", "0"], "--shards"),
        (["bench", "--repeats", "0"], "--repeats"),
    ],
)
def test_bad_values_are_rejected_with_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["demo", "--only", "nope"], ["bench", "--only", "nope"], []])
def test_unknown_choices_and_missing_command_exit_with_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_the_cli_lists_match_the_modules():
    assert STOP_NAMES == tuple(_tour.STOPS)
    assert FAMILY_NAMES == _bench.FAMILIES


# -- bench ------------------------------------------------------------------------------------


def test_bench_prints_the_ratio_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--repeats", "2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("family") :]
    for family in FAMILY_NAMES:
        assert re.search(rf"^{family}\s", table, re.MULTILINE)
    payload = json.loads(path.read_text())
    assert payload["size"] == "quick" and payload["failed"] == []
    assert {row["family"] for row in payload["rows"]} == set(FAMILY_NAMES)
    for row in payload["rows"]:
        assert row["unlearn_s"] > 0 and row["retrain_s"] > 0
        assert np.isclose(row["unlearn/retrain"], row["unlearn_s"] / row["retrain_s"])
        assert f"{row['unlearn/retrain']:.3g}" in table


def test_bench_only_and_a_failing_family(monkeypatch, capsys):
    def broken(n, repeats, seed, rng):
        raise RuntimeError("simulated breakage")

    monkeypatch.setitem(_bench._CASES, "arcane", broken)
    assert main(["bench", "--quick", "--repeats", "1", "--only", "linear", "--only", "arcane"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: the arcane benchmark raised RuntimeError: simulated breakage" in out
    table = out[out.index("family") :]
    assert re.search(r"^linear\s+Ridge\s+5000x20\s+sklearn refit", table, re.MULTILINE)
    assert "sharded" not in table


def test_run_bench_rejects_unknown_sizes_and_families():
    with pytest.raises(ValueError, match="size must be one of"):
        _bench.run_bench(size="huge")
    with pytest.raises(ValueError, match=r"Unknown families \['nope'\]"):
        _bench.run_bench(["nope"])


# -- help -------------------------------------------------------------------------------------


def test_help_lists_both_commands():
    result = subprocess.run(
        [sys.executable, "-m", "skunlearn", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout and "bench" in result.stdout


@pytest.mark.parametrize(
    "command, expected", [("demo", [*STOP_NAMES, "--only", "--plot"]), ("bench", ["--quick"])]
)
def test_command_help(command, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in expected:
        assert word in out
