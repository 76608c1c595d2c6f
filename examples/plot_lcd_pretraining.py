"""
LCD pretraining, its training curve and what a linear probe gains
=================================================================

:class:`~sklearn_ecg.LCDPretrainer` pretrains one single-lead 1-D VGG
encoder on unlabelled multi-lead records (Lead Correlation and
Decorrelation, Liu et al. 2025). This example pretrains it on the training
folds of the embedded PTB-XL sample and plots the training loss and its
three terms. It then compares a linear probe of the shipped encoder
(``lcd-ptbxl``, the same pretraining on 2,331 PTB-XL records) with the same
probe on an untrained (randomly initialised) encoder.

The example pretrains 100 epochs on 353 records (a few minutes on a
laptop CPU) and probes that model too. The reduced build for local work
(``SKLEARN_ECG_DOCS_FAST=1``) pretrains 5 epochs on 109 records, enough to
show the shape of the training curve, and probes the shipped and the
untrained encoders only.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 5 if FAST else 100

# %%
# Data: records without labels for pretraining
# ---------------------------------------------
# Folds 1-8 of the sample (353 records) train, folds 9-10 (147 records)
# test. Like the reference implementation, LCD uses the eight independent
# leads II, III and V1-V6 (the other four are linear combinations of II and
# III).
from sklearn_ecg.datasets import load_ptbxl_sample

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
train = load_ptbxl_sample(folds=range(1, 9), leads=LEADS)
test = load_ptbxl_sample(folds=[9, 10], leads=LEADS)
# At reduced size, folds 1-2 (109 records) pretrain.
pretrain_X = load_ptbxl_sample(folds=[1, 2], leads=LEADS).X if FAST else train.X
print(f"pretraining {EPOCHS} epochs on {len(pretrain_X)} records; test {test.X.shape}")

# %%
# Pretraining
# -----------
# ``fit`` sees the records only; there is no ``y``. A batch of 64 gives the
# 353 records six optimiser steps per epoch. ``random_state`` makes the run
# reproducible on one CPU.
from sklearn_ecg import LCDPretrainer

lcd = LCDPretrainer(max_epochs=EPOCHS, batch_size=64, random_state=0)
start = time.perf_counter()
lcd.fit(pretrain_X)
print(f"{EPOCHS} epochs in {time.perf_counter() - start:.0f} s")

# %%
# The training curve
# ------------------
# ``history_`` records, per epoch, the total loss and its terms: the
# intra-lead term (a lead predicts another view of itself), the inter-lead
# term (another lead of the same record predicts it) and the decorrelation
# term, which enters the total weighted by ``gamma=0.005``. Unweighted, the
# decorrelation term is hundreds of times larger than the other two, so the
# terms get a logarithmic axis of their own, and the total its own linear
# one.
from sklearn_ecg.plotting import plot_training_curve

fig, (ax_total, ax_terms) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
plot_training_curve(lcd, terms=[], ax=ax_total, title="total loss")
plot_training_curve(lcd, ax=ax_terms, logy=True, title="its terms (unweighted, log scale)")
ax_terms.get_lines()[0].remove()  # the total is in the left panel
ax_terms.legend()
fig.suptitle(f"LCD pretraining, {EPOCHS} epochs on {len(pretrain_X)} records")
plt.show()

# %%
# Linear probe: pretrained against untrained
# ------------------------------------------
# :meth:`~sklearn_ecg.LCDPretrainer.transform` embeds each lead with the
# encoder and concatenates the eight 64-d embeddings. A logistic regression
# per superclass on those embeddings is the linear probe.
# ``LCDPretrainer(max_epochs=0)`` gives the same encoder untrained, the
# baseline that tells what pretraining bought.
# :class:`~sklearn.frozen.FrozenEstimator` keeps a pretrained encoder as it
# is when the pipeline is fitted.
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def probe(pretrainer):
    return make_pipeline(pretrainer, StandardScaler(),
                         OneVsRestClassifier(LogisticRegression(C=0.01, max_iter=2000)))


shipped = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
encoders = {"shipped lcd-ptbxl": FrozenEstimator(shipped)}
if not FAST:
    encoders[f"this run ({EPOCHS} epochs)"] = FrozenEstimator(lcd)
encoders["untrained encoder"] = LCDPretrainer(max_epochs=0, random_state=0)
results = {}
for name, encoder in encoders.items():
    scores = probe(encoder).fit(train.X, train.y).predict_proba(test.X)
    results[name] = [roc_auc_score(test.y[:, k], scores[:, k])
                     for k in range(len(test.target_names))]

print(f"{'ROC-AUC on folds 9-10':<22}" + "".join(f"{c:>7}" for c in test.target_names) + "  macro")
for name, aucs in results.items():
    print(f"{name:<22}" + "".join(f"{a:>7.3f}" for a in aucs) + f"{np.mean(aucs):>7.3f}")

# %%
# The same numbers as a figure.
fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
width = 0.8 / len(results)
positions = np.arange(len(test.target_names) + 1)
for i, (name, aucs) in enumerate(results.items()):
    ax.bar(positions + (i - (len(results) - 1) / 2) * width, aucs + [np.mean(aucs)], width,
           label=f"{name} (macro {np.mean(aucs):.3f})")
ax.set_xticks(positions, list(test.target_names) + ["macro"])
# The lower limit leaves room for every bar, however low.
ax.set_ylim(min(0.5, min(min(a) for a in results.values()) - 0.05), 1.0)
ax.set_ylabel("ROC-AUC, folds 9-10")
ax.set_title("Linear probe on LCD embeddings")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
plt.show()

# %%
# The shipped encoder, pretrained on 2,331 records, beats the untrained one
# in macro ROC-AUC. Pretraining on the 353 records of the sample alone buys
# less: ``python examples/quickstart.py`` runs that comparison at 100 epochs
# and reports its spread over seeds, and the documentation's benchmarks
# page gives the probes on all 2,331 records.

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_lcd_pretraining", size="reduced" if FAST else "full",
                   shipped_macro=np.mean(results['shipped lcd-ptbxl']),
                   untrained_macro=np.mean(results['untrained encoder']))
# sphinx_gallery_end_ignore
