"""
Grid search over pretrainer and probe parameters, pretraining once per setting
==============================================================================

A grid search over a ``Pipeline(LCDPretrainer(), ..., LogisticRegression())``
refits every step for every candidate and every fold. Pretraining costs far
more than the probe, so two tools keep it down:

* ``Pipeline(..., memory=...)`` caches each fitted pretrainer: candidates
  that differ only in later steps (the probe's ``C``) reuse it, so each
  pretrainer setting is pretrained once per fold;
* :class:`~sklearn.frozen.FrozenEstimator` wraps an already pretrained
  encoder that ``fit`` leaves alone: a search over the probe alone then
  pretrains nothing.

Only the training folds of the embedded PTB-XL sample are used for the
search; folds 9-10 test the chosen model once at the end.

The example is about the mechanics of the search, not about which setting
wins. It pretrains on the 353 records of folds 1-8 for 20 epochs (2 in
the reduced build for local work, ``SKLEARN_ECG_DOCS_FAST=1``, whose scores
are then those of a barely trained encoder).
"""

import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 2 if FAST else 20

from sklearn_ecg.datasets import load_ptbxl_sample  # noqa: E402

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
train = load_ptbxl_sample(folds=range(1, 9), leads=LEADS)
test = load_ptbxl_sample(folds=[9, 10], leads=LEADS)
print(f"search on {len(train.X)} records, {EPOCHS} epochs of pretraining; test on {len(test.X)}")

# %%
# The pipeline and the grid
# -------------------------
# Two pretrainer settings (``standardize``: records in millivolts, or each
# lead z-scored) times three probe strengths ``C``. Folds are grouped by
# patient so that no patient is on both sides of a split.
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import LCDPretrainer

cache = tempfile.mkdtemp(prefix="sklearn_ecg_gallery_")
pipe = Pipeline(
    [
        ("lcd", LCDPretrainer(max_epochs=EPOCHS, batch_size=64, random_state=0)),
        ("scale", StandardScaler()),
        ("probe", OneVsRestClassifier(LogisticRegression(max_iter=2000))),
    ],
    memory=cache,
)
grid = {
    "lcd__standardize": [None, "lead"],
    "probe__estimator__C": [0.01, 0.1] if FAST else [0.001, 0.01, 0.1],
}
cv = GroupKFold(n_splits=3)
search = GridSearchCV(pipe, grid, cv=cv, scoring="roc_auc")  # macro ROC-AUC over the 5 classes
start = time.perf_counter()
search.fit(train.X, train.y, groups=train.patient_id)
seconds = time.perf_counter() - start
print(f"{len(search.cv_results_['params'])} candidates x 3 folds in {seconds:.0f} s: "
      "2 pretrainer settings x 3 folds + 1 refit = 7 pretrainings, thanks to the cache")

# %%
# The results table
# -----------------
results = pd.DataFrame(search.cv_results_)
# pandas shows a None parameter as NaN; the candidates' own params say None.
results["param_lcd__standardize"] = [str(p["lcd__standardize"])
                                     for p in search.cv_results_["params"]]
table = results[["param_lcd__standardize", "param_probe__estimator__C", "mean_test_score",
                 "std_test_score", "rank_test_score", "mean_fit_time"]]
table = table.rename(
    columns=lambda c: c.replace("param_", "").replace("probe__estimator__", "probe "))
print(table.to_string(index=False, float_format="{:.3f}".format))
print("best:", search.best_params_)

# %%
# As a figure: the validation score of each candidate, with the standard
# deviation over the three folds.
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
settings = [params["lcd__standardize"] for params in search.cv_results_["params"]]
Cs_tried = [params["probe__estimator__C"] for params in search.cv_results_["params"]]
for standardize in grid["lcd__standardize"]:
    rows = [i for i, s in enumerate(settings) if s == standardize]
    ax.errorbar([Cs_tried[i] for i in rows], results["mean_test_score"].to_numpy()[rows],
                yerr=results["std_test_score"].to_numpy()[rows], marker="o", capsize=3,
                label=f"LCDPretrainer(standardize={standardize!r})")
ax.set_xscale("log")
ax.set_xlabel("C of the logistic regression (log scale)")
ax.set_ylabel("macro ROC-AUC\n(3-fold CV, mean ± sd)")
ax.set_title("Grid search on folds 1-8")
ax.legend(loc="best", fontsize=8)
plt.show()

# %%
# The chosen model, tested once
# -----------------------------
# ``best_estimator_`` was refitted on all training records.
from sklearn.metrics import roc_auc_score

print(f"test macro ROC-AUC (folds 9-10): "
      f"{roc_auc_score(test.y, search.best_estimator_.predict_proba(test.X)):.3f}")

# %%
# Pretrain once, search the probe only
# ------------------------------------
# With the pretrainer fixed, wrap the fitted one in
# :class:`~sklearn.frozen.FrozenEstimator`: cross-validation and the search
# call its ``fit``, which does nothing, and the cache keeps the embeddings
# of each training fold, so the search costs little more than embedding the
# records. (Pretraining on all training records before splitting them is
# fine here because it uses no label.)
from sklearn.frozen import FrozenEstimator

lcd = search.best_estimator_.named_steps["lcd"]
frozen = Pipeline([("lcd", FrozenEstimator(lcd)), ("scale", StandardScaler()),
                   ("probe", OneVsRestClassifier(LogisticRegression(max_iter=2000)))], memory=cache)
Cs = np.logspace(-4, 0, 3 if FAST else 9)
start = time.perf_counter()
probe_search = GridSearchCV(frozen, {"probe__estimator__C": Cs}, cv=cv, scoring="roc_auc")
probe_search.fit(train.X, train.y, groups=train.patient_id)
print(f"{len(Cs)} candidates x 3 folds in {time.perf_counter() - start:.0f} s, no pretraining; "
      f"best C = {probe_search.best_params_['probe__estimator__C']:.4g}, "
      f"CV macro ROC-AUC {probe_search.best_score_:.3f}")

# %%
# The cache folder can go once the search is done.
import shutil  # noqa: E402

shutil.rmtree(cache, ignore_errors=True)

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_grid_search", size="reduced" if FAST else "full")
# sphinx_gallery_end_ignore
