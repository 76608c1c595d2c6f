"""The pieces of benchmarks/bench_mets_statements.py that its intervals rest on."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # it imports a sibling script
    spec = importlib.util.spec_from_file_location("_bench_mets_statements",
                                                  ROOT / "benchmarks" / "bench_mets_statements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _labels_and_scores(rng, n=300):
    Ystat = (rng.random((n, 12)) < 0.15).astype(int)
    Ysup = (rng.random((n, 5)) < 0.3).astype(int)
    return Ystat, rng.normal(size=Ystat.shape) + Ystat, Ysup, rng.normal(size=Ysup.shape) + 0.5 * Ysup


def test_interval_figures_are_the_roc_aucs(bench):
    Ystat, Sstat, Ysup, Ssup = _labels_and_scores(np.random.default_rng(0))
    figures = bench.interval_figures(Ystat, Sstat, Ysup, Ssup)
    stat = [roc_auc_score(Ystat[:, c], Sstat[:, c]) for c in range(12)]
    sup = [roc_auc_score(Ysup[:, c], Ssup[:, c]) for c in range(5)]
    rel = [roc_auc_score(Ysup[:, c], (Ssup - Ssup.mean(axis=1, keepdims=True))[:, c]) for c in range(5)]
    np.testing.assert_allclose(figures, [stat[0], stat[3], np.mean(stat), np.mean(sup), np.mean(rel)])


def test_intervals_hold_the_figure_and_follow_the_seed(bench):
    run = _labels_and_scores(np.random.default_rng(1))
    a = bench.intervals([run], 200, seed=0)
    assert a == bench.intervals([run], 200, seed=0)
    assert a != bench.intervals([run], 200, seed=1)
    for name, (point, low, high) in a.items():
        assert low < point < high, name
    # About 30 positives: an AUC's interval is several hundredths wide.
    assert a["AFIB"][2] - a["AFIB"][1] > 0.05
    # A perfect score stays perfect on every draw.
    Ystat, _, Ysup, Ssup = run
    perfect = bench.intervals([(Ystat, Ystat + 0.0, Ysup, Ssup)], 50, seed=0)
    assert perfect["AFIB"] == [1.0, 1.0, 1.0]


def test_seed_mean_of_score_files(bench, tmp_path, capsys):
    rng = np.random.default_rng(2)
    Ystat, S1, Ysup, T1 = _labels_and_scores(rng)
    S2, T2 = S1 + rng.normal(size=S1.shape), T1 + rng.normal(size=T1.shape)
    ids = np.arange(len(Ystat)) + 500
    for name, S, T in (("a", S1, T1), ("b", S2, T2)):
        bench.save_scores(tmp_path / f"{name}.npz", ids, Ystat, Ysup,
                          {"12 leads": {"statements": S, "superclasses": T},
                           "I": {"statements": -S, "superclasses": T}})
    out = bench.seed_mean([tmp_path / "a.npz", tmp_path / "b.npz"], 100, 0)
    assert set(out) == {"12 leads", "I"}
    one = bench.intervals([(Ystat, S1, Ysup, T1)], 100, 0)
    two = bench.intervals([(Ystat, S2, Ysup, T2)], 100, 0)
    for name in one:
        assert out["12 leads"][name][0] == pytest.approx((one[name][0] + two[name][0]) / 2)
    assert out["I"]["AFIB"][0] == pytest.approx(1 - out["12 leads"]["AFIB"][0])
    assert "12 leads" in capsys.readouterr().out
    versus = bench.seed_mean([tmp_path / "a.npz"], 100, 0, versus=[tmp_path / "b.npz"])
    diff = bench.difference([(Ystat, S1, Ysup, T1)], [(Ystat, S2, Ysup, T2)], 100, 0)
    assert versus["12 leads difference"] == diff
    for name, (point, low, high) in diff.items():
        assert point == pytest.approx(one[name][0] - two[name][0]) and low < point < high
    same = bench.seed_mean([tmp_path / "a.npz"], 50, 0, versus=[tmp_path / "a.npz"])
    assert same["I difference"]["AFIB"] == [0.0, 0.0, 0.0]
    bench.save_scores(tmp_path / "c.npz", ids + 1, Ystat, Ysup, {"12 leads": {"statements": S1,
                                                                             "superclasses": T1}})
    with pytest.raises(SystemExit, match="not of the same records"):
        bench.seed_mean([tmp_path / "a.npz", tmp_path / "c.npz"], 10, 0)


def test_interval_table(bench, tmp_path, capsys):
    figures = dict(zip(bench.INTERVAL_NAMES, ([0.8, 0.7, 0.9],) * 5))
    lines = [{"name": "no intervals"},
             {"name": "run", "intervals": {"12 leads": figures, "I": figures}},
             {"name": "mean", "versus": ["b.npz"],
              "intervals": {"12 leads": figures, "12 leads difference": {"AFIB": [0.05, -0.01, 0.1]}}}]
    for name, part in (("a.jsonl", lines[:2]), ("b.jsonl", lines[2:])):
        (tmp_path / name).write_text("\n".join(json.dumps(line) for line in part))
    bench.print_interval_table([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    out = capsys.readouterr().out
    assert "no intervals" not in out and "* - run" in out and "0.800 [0.700, 0.900]" in out
    assert "* - mean, difference" in out and "+0.050 [-0.010, +0.100]" in out
    assert out.count("* - ") == 4  # the header, two runs and one difference
