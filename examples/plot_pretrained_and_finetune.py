"""
Shipped encoders, any lead set, and fine-tuning
===============================================

The package ships an LCD encoder and a METS model pretrained on 2,331 PTB-XL
records of folds 1-8 (``sklearn_ecg.pretrained``). This example loads the LCD
encoder in one line, embeds the eight leads it was trained on and then only
two leads (as from a Holter recording) with
:class:`~sklearn_ecg.LeadwiseEmbedder`, compares linear probes of both, and
fine-tunes the encoder end to end with
:class:`~sklearn_ecg.ECGClassifier` beside the same network trained from
random weights. The shipped METS model classifies the test records
zero-shot.

Set ``SKLEARN_ECG_DOCS_FAST=1`` to run it in seconds (fewer records and
epochs); the figures of the documentation come from the full run.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 2 if FAST else 20

# %%
# The shipped models
# ------------------
# ``list_pretrained`` names them; ``from_pretrained`` loads one offline as a
# fitted estimator. Folds 9-10 were never seen by either model.
from sklearn_ecg import LCDPretrainer, pretrained
from sklearn_ecg.datasets import load_ptbxl_sample

print(pretrained.list_pretrained())
lcd = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
print(f"fitted on {lcd.n_leads_} leads of {lcd.n_timepoints_} samples")

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
train = load_ptbxl_sample(folds=[1, 2, 3] if FAST else range(1, 9), leads=LEADS)
test = load_ptbxl_sample(folds=[9, 10], leads=LEADS)

# %%
# Linear probes: eight leads, and two leads without refitting
# -----------------------------------------------------------
# The encoder is a single-lead encoder: ``LeadwiseEmbedder`` applies it to
# any leads, here II and V1, and its ``fit`` never trains it.
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import LeadwiseEmbedder


def probe(embedder):
    return make_pipeline(embedder, StandardScaler(),
                         OneVsRestClassifier(LogisticRegression(C=0.01, max_iter=2000)))


results = {}
for name, embedder in [
    ("probe, 8 leads", FrozenEstimator(lcd)),
    ("probe, leads II + V1", LeadwiseEmbedder(lcd, leads=["II", "V1"], lead_names=LEADS)),
]:
    scores = probe(embedder).fit(train.X, train.y).predict_proba(test.X)
    results[name] = roc_auc_score(test.y, scores, average=None)
    print(f"{name:<24} macro ROC-AUC {results[name].mean():.3f}")

# %%
# Fine-tuning, and the same network from scratch
# ----------------------------------------------
# ``ECGClassifier`` trains a copy of the encoder (one per lead, as the
# authors' multi-branch network) with a linear head; the shipped model is
# left as it was. ``pretrainer=None`` with ``architecture="lcd"`` is the
# same network from random weights. An internal validation split that keeps
# patients apart picks the epoch with the lowest validation loss.
from sklearn_ecg import ECGClassifier

# The settings are those chosen on a validation fold for the label-efficiency
# study: fine-tuning trains the head alone for a few epochs (lr 1e-3), then
# the encoder too (lr 1e-4); from scratch, lr 1e-4 throughout.
FREEZE = 1 if FAST else 5
finetune = dict(lr=1e-3, encoder_lr=1e-4, freeze_epochs=FREEZE, batch_size=32)
for name, source in [("fine-tuned LCD", lcd), ("same network, from scratch", None)]:
    settings = finetune if source is not None else dict(lr=1e-4, batch_size=32)
    clf = ECGClassifier(source, architecture="lcd", max_epochs=EPOCHS, random_state=0, **settings)
    clf.fit(train.X, train.y, groups=train.patient_id)
    results[name] = roc_auc_score(test.y, clf.predict_proba(test.X), average=None)
    print(f"{name:<26} macro ROC-AUC {results[name].mean():.3f} (best epoch {clf.best_epoch_})")

# %%
# Zero-shot with the shipped METS model
# -------------------------------------
# No label at all: each superclass is described by the statements of
# PTB-XL's knowledge base.
from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier

mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
# ``fit`` reads only the class names from ``y`` and trains nothing; it is
# given training records all the same, since the test records are for testing.
named = load_ptbxl_sample(folds=[1])
zero_shot = ZeroShotECGClassifier(mets).fit(named.X, named.y)
full_test = load_ptbxl_sample(folds=[9, 10])
results["zero-shot METS"] = roc_auc_score(full_test.y, zero_shot.decision_function(full_test.X),
                                          average=None)
print(f"zero-shot METS macro ROC-AUC {results['zero-shot METS'].mean():.3f}")

# %%
# Per class, on the 147 test records
# ----------------------------------
fig, ax = plt.subplots(figsize=(8, 3.5))
width = 0.8 / len(results)
x = np.arange(len(test.target_names))
for i, (name, aucs) in enumerate(results.items()):
    ax.bar(x + i * width, aucs, width, label=f"{name} ({aucs.mean():.3f})")
ax.set_xticks(x + 0.4 - width / 2, test.target_names)
ax.set_ylim(0.4, 1.0)
ax.set_ylabel("ROC-AUC, folds 9-10")
ax.legend(fontsize=7, loc="lower right")
fig.tight_layout()

# %%
# A label-efficiency curve
# ------------------------
# Pretraining pays off most when labels are few. The same random draws of
# the training records, at several fractions, train a linear probe of the
# shipped encoder, a probe of the same network untrained, and a fine-tuned
# copy of the shipped encoder; all are tested on folds 9-10.
from sklearn.base import clone

untrained = LCDPretrainer(max_epochs=0, random_state=0).fit(train.X[:2])
features = {
    "probe, shipped LCD": (lcd.transform(train.X), lcd.transform(test.X)),
    "probe, untrained encoder": (untrained.transform(train.X), untrained.transform(test.X)),
}
linear = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(C=0.01, max_iter=2000)))
fractions = [0.25, 1.0] if FAST else [0.1, 0.25, 0.5, 1.0]
rng = np.random.default_rng(0)
curve = {name: [] for name in [*features, "fine-tuned LCD"]}
for fraction in fractions:
    idx = np.sort(rng.choice(len(train.X), size=int(round(fraction * len(train.X))), replace=False))
    for name, (F_train, F_test) in features.items():
        model = clone(linear).fit(F_train[idx], train.y[idx])
        curve[name].append(roc_auc_score(test.y, model.predict_proba(F_test)))
    clf = ECGClassifier(lcd, max_epochs=EPOCHS, random_state=0, **finetune)
    clf.fit(train.X[idx], train.y[idx], groups=train.patient_id[idx])
    curve["fine-tuned LCD"].append(roc_auc_score(test.y, clf.predict_proba(test.X)))
    print(f"{len(idx):>4} labels: " + ", ".join(f"{name} {aucs[-1]:.3f}" for name, aucs in curve.items()))

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, aucs in curve.items():
    ax.plot([100 * f for f in fractions], aucs, marker="o", label=name)
ax.set_xscale("log")
ax.set_xlabel("labelled training records (%)")
ax.set_ylabel("macro ROC-AUC, folds 9-10")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# On more records
# ---------------
# ``benchmarks/bench_label_efficiency.py`` runs the full study on 2,331
# PTB-XL records (1-100 % of the labels, several draws, MiniRocket, METS and
# the networks trained from scratch); its table and figure are in the
# documentation's benchmarks page.
