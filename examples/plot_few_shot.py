"""
A few labels: from zero-shot to a linear probe with FewShotECGClassifier
========================================================================

With a handful of labelled records, :class:`~sklearn_ecg.ZeroShotECGClassifier`
ignores them and a linear probe of the embeddings ignores the class
descriptions. :class:`~sklearn_ecg.FewShotECGClassifier` uses both: a
logistic regression on the joint ECG–text embeddings of a METS model whose
weights are pulled towards the zero-shot text weights, so that a few labels
move them a little and many labels a lot. With ``C=0`` it is the zero-shot
classifier itself.

This example draws k = 1, 2, 4, 8, 16 records with each PTB-XL superclass
and as many without it from folds 1-8 of the embedded sample, fits the
three classifiers on these labelled records and scores them on folds 9-10
(147 records, never seen in pretraining), over several draws. It needs the
text extra (``pip install -e ".[text]"``). It trains no network; at
reduced size (``SKLEARN_ECG_DOCS_FAST=1``) it takes 3 draws instead of 10.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import FewShotECGClassifier, METSPretrainer, ZeroShotECGClassifier
from sklearn_ecg.datasets import load_ptbxl_sample

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
N_DRAWS = 3 if FAST else 10

# %%
# The shipped METS model and the data
# -----------------------------------
# ``mets-ptbxl`` was pretrained, without labels, on the records of folds 1-8
# of PTB-XL (those of the sample among them); folds 9-10 test.
mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
train = load_ptbxl_sample(folds=range(1, 9))
test = load_ptbxl_sample(folds=[9, 10])
names = list(test.target_names)

# %%
# One fit, and what ``C`` does
# ----------------------------
# The classifier takes the zero-shot classifier's parameters (the prompts,
# ``scoring``) and ``C``, the weight of the labels against the text. With
# ``C=0`` its scores are exactly the zero-shot ones. ``scoring="relative"``
# (each similarity minus the record's mean over the classes) is the
# zero-shot score these weights start from; it was chosen, like ``C`` and
# ``prior_scale``, on validation folds of the training data.
rng = np.random.default_rng(0)


def draw(y, k, rng):
    """For each class, k records with it and k without it: one labelled set."""
    chosen = []
    for c in range(y.shape[1]):
        chosen += list(rng.choice(np.flatnonzero(y[:, c] == 1), k, replace=False))
        chosen += list(rng.choice(np.flatnonzero(y[:, c] == 0), k, replace=False))
    return np.unique(chosen)


labelled = draw(train.y, 4, rng)
X, y = train.X[labelled], train.y[labelled]
print(f"{len(labelled)} labelled records, positives per class: {dict(zip(names, y.sum(0)))}")
zero = ZeroShotECGClassifier(mets, scoring="relative").fit(X, y)
for C in (0.0, 1.0, 100.0):
    few = FewShotECGClassifier(mets, scoring="relative", C=C).fit(X, y)
    same = np.array_equal(few.decision_function(test.X), zero.decision_function(test.X))
    auc = roc_auc_score(test.y, few.decision_function(test.X), average="macro")
    print(f"C={C:<6g} macro ROC-AUC {auc:.3f}   identical to zero-shot: {same}")

# %%
# Its probabilities are fitted on the labels: the sigmoid of each class's
# logit, so that ``predict`` marks a class above 0.5.
few = FewShotECGClassifier(mets, scoring="relative").fit(X, y)
print(np.round(few.predict_proba(test.X[:3]), 2))

# %%
# The curve: AUC against the number of labels
# -------------------------------------------
# For each k and draw, the three classifiers see the same labelled records.
# The probe is a standardised logistic regression per class on the same
# (L2-normalised) joint-space embeddings the few-shot classifier reads.
Z_train, Z_test = mets.encode_ecg(train.X), mets.encode_ecg(test.X)
zero_shot_auc = roc_auc_score(test.y, zero.decision_function(test.X), average="macro")
ks = [1, 2, 4, 8, 16]
curves = {"few-shot": np.zeros((len(ks), N_DRAWS)), "probe": np.zeros((len(ks), N_DRAWS))}
for i, k in enumerate(ks):
    for d in range(N_DRAWS):
        idx = draw(train.y, k, np.random.default_rng([k, d]))
        few = FewShotECGClassifier(mets, scoring="relative").fit(train.X[idx], train.y[idx])
        curves["few-shot"][i, d] = roc_auc_score(test.y, few.decision_function(test.X))
        probe = OneVsRestClassifier(make_pipeline(StandardScaler(), LogisticRegression(C=0.01)))
        probe.fit(Z_train[idx], train.y[idx])
        curves["probe"][i, d] = roc_auc_score(test.y, probe.decision_function(Z_test))

fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
ax.axhline(zero_shot_auc, color="0.4", linestyle="--", label="zero-shot (no label)")
for (name, values), color in zip(curves.items(), ["C3", "C0"]):
    ax.plot(ks, values.mean(axis=1), "o-", color=color, label=name)
    ax.fill_between(ks, values.min(axis=1), values.max(axis=1), color=color, alpha=0.2)
ax.set_xscale("log", base=2)
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("k: labelled records with each class (and as many without)")
ax.set_ylabel("macro ROC-AUC, folds 9-10")
ax.set_title(f"5 superclasses, mean and range over {N_DRAWS} draws")
ax.legend(loc="lower right")
plt.show()

for i, k in enumerate(ks):
    print(f"k={k:>2}: few-shot {curves['few-shot'][i].mean():.3f}  probe "
          f"{curves['probe'][i].mean():.3f}  zero-shot {zero_shot_auc:.3f}")

# %%
# With one or two labelled records per class the few-shot classifier keeps
# the zero-shot ranking and improves on it, and it stays above the probe,
# whose draws spread widely; as k grows the probe catches up and the two
# curves meet. On 147 test records a macro ROC-AUC moves by about 0.02
# between draws, so read the bands, not single points.
# ``benchmarks/bench_few_shot.py`` runs the same comparison on the larger
# PTB-XL folders, on the superclasses and on 12 single statements, with
# intervals; its figures are on the benchmarks page.

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures(
        "plot_few_shot", size="reduced" if FAST else "full",
        zero_shot_macro=zero_shot_auc,
        few_shot_k1=curves["few-shot"][0].mean(), probe_k1=curves["probe"][0].mean(),
        few_shot_k16=curves["few-shot"][-1].mean(), probe_k16=curves["probe"][-1].mean())
# sphinx_gallery_end_ignore
