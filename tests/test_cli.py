"""The command line: ``python -m skunlearn demo`` (the tour) and ``python -m skunlearn bench``."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import skunlearn.metrics
from skunlearn import _bench, _demo, _tour
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


def test_forest_stop_is_bitwise_equal_to_a_fresh_fit(capsys):
    assert main(["demo", "--only", "forest"]) == 0
    out = capsys.readouterr().out
    assert "verify_unlearning PASSED" in out and "(max diff 0.0e+00)" in out
    assert "every tree sends every held-out row to the same leaf: yes" in out
    assert _last_line(out).startswith("OK: forgot 20 rows exactly")


def test_influence_stop_checks_the_bound_on_every_request(capsys):
    assert main(["demo", "--only", "influence"]) == 0
    out = capsys.readouterr().out
    held, total = map(int, re.search(r"the bound held on (\d+)/(\d+) requests", out).groups())
    assert held == total == 20
    distance, bound = map(
        float, re.search(r"true distance (\S+) <= reported bound (\S+)", out).groups()
    )
    assert 0 < distance <= bound < 1e-3
    assert _last_line(out).startswith("OK: forgot 20 rows within the certified bound")


def test_linear_stop_matches_a_refit(capsys):
    assert main(["demo", "--only", "linear"]) == 0
    out = capsys.readouterr().out
    worst = float(re.search(r"largest relative difference (\S+)", out).group(1))
    assert worst <= 1e-10
    assert "verify_unlearning PASSED" in out
    assert _last_line(out).startswith("OK: forgot 20 rows exactly")


def test_decremental_stop_verifies_three_models(capsys):
    assert main(["demo", "--only", "decremental"]) == 0
    out = capsys.readouterr().out
    for model in (
        "GaussianNB on make_classification (80000 rows)",
        "KNeighborsClassifier on digits",
        "Pipeline: MinMaxScaler + GaussianNB on make_classification",
    ):
        assert model in out
    assert out.count("verify_unlearning PASSED") == 3
    assert _last_line(out).startswith("OK: forgot 107 rows exactly in 3 models, equal to refits;")


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
    assert re.search(r"linear\s+Ridge\s+make_regression\s+20 .* yes", summary)
    assert re.search(r"bayes\s+VariationalUnlearnLogistic\s+breast_cancer\s+43 .* yes", summary)
    assert _last_line(out).startswith("OK: forgot 63 rows in 2 stop(s); every verification")


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


def test_a_request_slower_than_retraining_says_so(capsys):
    assert _demo._speed_phrase(4.0) == "4.0x faster than retraining"
    assert _demo._speed_phrase(0.5, "a refit") == (
        "SLOWER than a refit (a request takes 2.00x as long)"
    )
    slow = _tour.Measurement("Slow", "data", 3, 2e-3, 1e-3, True)
    fast = _tour.Measurement("Fast", "data", 3, 1e-3, 2e-3, True)
    _tour._summary([_tour.StopResult("stop", [slow, fast])])
    out = capsys.readouterr().out
    assert re.search(r"Slow .* 0\.5x SLOWER\s+yes", out)
    assert re.search(r"Fast .* 2\.0x\s+yes", out)


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's errors
        return exc.code


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--fraction", "1.5"], "argument --fraction: must lie strictly between 0 and 1"),
        (["demo", "--fraction", "half"], "argument --fraction: must be a number"),
        (["demo", "--shards", "0"], "argument --shards: must be a positive integer"),
        (["demo", "--shards", "101"], "argument --shards: must be at most 100"),
        (["demo", "--shards", "100000"], "argument --shards: must be at most 100"),
        (["demo", "--n-jobs", "0"], "argument --n-jobs: must be a number of jobs from 1 to"),
        (["demo", "--n-jobs", "abc"], "argument --n-jobs: must be an integer, got 'abc'"),
        # larger than joblib's C int: an OverflowError inside the run, before the check
        (["demo", "--n-jobs", "99999999999999999999"], "argument --n-jobs: must be a number"),
        (["demo", "--n-jobs", "-2000"], "argument --n-jobs: must be a number of jobs"),
        (["demo", "--seed", "-1"], "argument --seed: must be an integer in [0, 2**32)"),
        (["demo", "--only", "nope"], "argument --only: invalid choice: 'nope'"),
        (["bench", "--repeats", "0"], "argument --repeats: must be a positive integer"),
        (["bench", "--repeats", "10000000"], "argument --repeats: must be at most 1000"),
        (["bench", "--seed", "x"], "argument --seed: must be an integer, got 'x'"),
        (["bench", "--n-jobs", "2"], "unrecognized arguments: --n-jobs 2"),
        (["bench", "--only", "nope"], "argument --only: invalid choice: 'nope'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_values_give_one_line_and_exit_code_2(argv, message, capsys):
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    assert len(captured.err.splitlines()) == 1 and message in captured.err


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_an_unwritable_plot_or_json_directory_is_rejected_up_front(where, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "file").write_text("not a directory")
    target = tmp_path / "file" if where == "file" else tmp_path / "file" / "figures"
    assert _exit_code(["demo", "--only", "linear", "--plot", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "argument --plot: " in captured.err and str(target) in captured.err
    json_path = target / "bench.json"
    assert _exit_code(["bench", "--quick", "--only", "linear", "--json", str(json_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "argument --json: " in captured.err
    assert _exit_code(["bench", "--quick", "--only", "linear", "--json", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_bad_value_never_prints_a_traceback_from_the_shell(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    argv = ["demo", "--n-jobs", "2", "--plot", str(tmp_path / "file" / "figures")]
    result = subprocess.run(
        [sys.executable, "-m", "skunlearn", *argv], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


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
