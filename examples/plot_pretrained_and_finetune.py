"""
Shipped encoders, any lead set, and fine-tuning
===============================================

The package ships an LCD encoder and a METS model pretrained on 2,331 PTB-XL
records of folds 1-8 (``sklearn_ecg.pretrained``). This example loads the LCD
encoder in one line, embeds the eight leads it was trained on and then only
two leads (as from a Holter recording) with
:class:`~sklearn_ecg.LeadwiseEmbedder`, compares linear probes of both with
an untrained encoder, and fine-tunes the encoder end to end with
:class:`~sklearn_ecg.ECGClassifier` beside the same network trained from
random weights. The shipped METS model classifies the test records
zero-shot.

Fine-tuning two eight-branch networks takes a few minutes on a CPU; the
reduced build for local work (``SKLEARN_ECG_DOCS_FAST=1``) skips it and
shows the probes and the zero-shot scores only, which cost seconds. The
benchmarks page gives fine-tuning figures on 2,331 records.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 20

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
train = load_ptbxl_sample(folds=range(1, 9), leads=LEADS)
test = load_ptbxl_sample(folds=[9, 10], leads=LEADS)

# %%
# Linear probes: eight leads, two leads without refitting, and no pretraining
# ---------------------------------------------------------------------------
# The encoder is a single-lead encoder: ``LeadwiseEmbedder`` applies it to
# any leads, here II and V1, and its ``fit`` never trains it.
# ``LCDPretrainer(max_epochs=0)`` is the same encoder with random weights.
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
    ("probe, untrained encoder", LCDPretrainer(max_epochs=0, random_state=0)),
]:
    scores = probe(embedder).fit(train.X, train.y).predict_proba(test.X)
    results[name] = roc_auc_score(test.y, scores, average=None)
    print(f"{name:<26} macro ROC-AUC {results[name].mean():.3f}")

# %%
# Fine-tuning, and the same network from scratch
# ----------------------------------------------
# ``ECGClassifier`` trains a copy of the encoder (one per lead, as the
# authors' multi-branch network) with a linear head; the shipped model is
# left as it was. ``pretrainer=None`` with ``architecture="lcd"`` is the
# same network from random weights. An internal validation split that keeps
# patients apart picks the epoch with the lowest validation loss. The
# settings are those chosen on a validation fold for the label-efficiency
# study: fine-tuning trains the head alone for 5 epochs (lr 1e-3), then the
# encoder too (lr 1e-4); from scratch, lr 1e-4 throughout.
from sklearn_ecg import ECGClassifier

finetune = dict(lr=1e-3, encoder_lr=1e-4, freeze_epochs=5, batch_size=32)
if not FAST:
    for name, source in [("fine-tuned LCD", lcd), ("same network, from scratch", None)]:
        settings = finetune if source is not None else dict(lr=1e-4, batch_size=32)
        clf = ECGClassifier(source, architecture="lcd", max_epochs=EPOCHS, random_state=0,
                            **settings)
        clf.fit(train.X, train.y, groups=train.patient_id)
        results[name] = roc_auc_score(test.y, clf.predict_proba(test.X), average=None)
        print(f"{name:<26} macro ROC-AUC {results[name].mean():.3f} (best epoch {clf.best_epoch_})")
else:
    print("fine-tuning skipped in the reduced build")

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
fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
width = 0.8 / len(results)
x = np.arange(len(test.target_names))
for i, (name, aucs) in enumerate(results.items()):
    ax.bar(x + i * width, aucs, width, label=f"{name} (macro {aucs.mean():.3f})")
ax.set_xticks(x + 0.4 - width / 2, test.target_names)
# The lower limit leaves room for every bar, however low.
ax.set_ylim(min(0.5, min(a.min() for a in results.values()) - 0.05), 1.0)
ax.axhline(0.5, color="0.4", linewidth=0.8, linestyle="--")
ax.set_ylabel("ROC-AUC, folds 9-10")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
plt.show()

# %%
# A label-efficiency curve
# ------------------------
# Pretraining pays off most when labels are few. The same random draws of
# the training records, at several fractions, train a linear probe of the
# shipped encoder and a probe of the same network untrained (and, at full
# size, a fine-tuned copy of the shipped encoder); all are tested on folds
# 9-10.
from sklearn.base import clone

untrained = LCDPretrainer(max_epochs=0, random_state=0).fit(train.X[:2])
features = {
    "probe, shipped LCD": (lcd.transform(train.X), lcd.transform(test.X)),
    "probe, untrained encoder": (untrained.transform(train.X), untrained.transform(test.X)),
}
linear = make_pipeline(StandardScaler(),
                       OneVsRestClassifier(LogisticRegression(C=0.01, max_iter=2000)))
fractions = [0.1, 0.25, 0.5, 1.0]
rng = np.random.default_rng(0)
curve = {name: [] for name in features}
if not FAST:
    curve["fine-tuned LCD"] = []
for fraction in fractions:
    idx = np.sort(rng.choice(len(train.X), size=int(round(fraction * len(train.X))), replace=False))
    for name, (F_train, F_test) in features.items():
        model = clone(linear).fit(F_train[idx], train.y[idx])
        curve[name].append(roc_auc_score(test.y, model.predict_proba(F_test)))
    if not FAST:
        clf = ECGClassifier(lcd, max_epochs=EPOCHS, random_state=0, **finetune)
        clf.fit(train.X[idx], train.y[idx], groups=train.patient_id[idx])
        curve["fine-tuned LCD"].append(roc_auc_score(test.y, clf.predict_proba(test.X)))
    print(f"{len(idx):>4} labels: "
          + ", ".join(f"{name} {aucs[-1]:.3f}" for name, aucs in curve.items()))

fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
percent = [100 * f for f in fractions]
for name, aucs in curve.items():
    ax.plot(percent, aucs, marker="o", label=name)
ax.set_xscale("log")
ax.set_xticks(percent, [f"{p:g} %\n({int(round(p / 100 * len(train.X)))})" for p in percent])
ax.minorticks_off()
ax.set_xlabel("labelled training records (log scale)")
ax.set_ylabel("macro ROC-AUC, folds 9-10")
ax.grid(True, alpha=0.3)
ax.legend(fontsize=8)
plt.show()

# %%
# The shipped encoder's probe beats the untrained encoder's, with all the
# labels and with the fewest; fine-tuning beats the probe with all the
# labels. ``benchmarks/bench_label_efficiency.py`` runs the full
# study on 2,331 PTB-XL records (1-100 % of the labels, several draws,
# MiniRocket, METS and the networks trained from scratch); its table and
# figure are in the documentation's benchmarks page.

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    key_figures = {"probe_macro": results["probe, 8 leads"].mean(),
                   "untrained_probe_macro": results["probe, untrained encoder"].mean(),
                   "zero_shot_macro": results["zero-shot METS"].mean(),
                   "curve_probe_smallest": curve["probe, shipped LCD"][0],
                   "curve_untrained_smallest": curve["probe, untrained encoder"][0]}
    if not FAST:
        key_figures["finetuned_macro"] = results["fine-tuned LCD"].mean()
    record_figures("plot_pretrained_and_finetune", size="reduced" if FAST else "full",
                   **key_figures)
# sphinx_gallery_end_ignore
