"""
Where the model looks: attributions on the clinical 12-lead sheet
=================================================================

A prediction is easier to trust, or to reject, when one sees what in the
trace produced it. This example fine-tunes the shipped LCD encoder to
recognise myocardial infarction (MI) and atrial fibrillation (AF) on the
PTB-XL records shipped with the package, draws test records on the sheet a
cardiologist reads (3 rows of 4 leads, a rhythm strip, true to scale), and
colours the trace by integrated gradients: red where the signal pushed the
model's output for the class up, blue where it pushed it down. The shipped
METS model then looks for atrial fibrillation from its description alone.

Attributions describe the model, not the disease: a model that learnt a
shortcut shows it here. :func:`~sklearn_ecg.inspection.explain_prediction`
needs the ``explain`` extra (captum).

With ``SKLEARN_ECG_DOCS_FAST=1`` (the documentation's reduced build, for
quick local work) it trains on folds 1-4 for 2 epochs instead of folds 1-8
for 15, and its detectors are then too weak for the text below.
"""

import os

import numpy as np
from sklearn.utils import Bunch

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 2 if FAST else 15

# %%
# The records and the clinical sheet
# ----------------------------------
# The sample holds 500 PTB-XL records at 100 Hz with their SCP statements:
# 73 carry an MI diagnosis and 13 atrial fibrillation (``AFIB``). Folds 9-10
# are kept for testing. ``plot_ecg_sheet`` draws a record as an
# electrocardiograph prints it on A4 paper: 25 mm/s, 10 mm/mV, a 1 mV
# calibration pulse at the start of every row and lead II over the whole
# 10 s as a rhythm strip. Saved as PDF or SVG, it prints at true scale.
import matplotlib.pyplot as plt

from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.plotting import plot_attributions, plot_ecg_sheet, plot_lead_importance

data = load_ptbxl_sample()
mi = data.y[:, list(data.target_names).index("MI")]
af = np.array([int("AFIB" in codes) for codes in data.scp_codes])
print(f"{data.X.shape[0]} records: {mi.sum()} MI, {af.sum()} AF")

train = np.isin(data.strat_fold, [1, 2, 3, 4] if FAST else range(1, 9))
test = np.isin(data.strat_fold, [9, 10])
first_af = np.flatnonzero(test & (af == 1))[0]
fig, ax = plot_ecg_sheet(data.X[first_af], data.fs, lead_names=data.lead_names,
                         title=f"PTB-XL ecg_id {data.ecg_id[first_af]}: "
                               f"{', '.join(data.scp_codes[first_af])}")

# %%
# The first AF record of the test folds, ecg_id 17, lists atrial flutter
# (AFLT) beside atrial fibrillation (AFIB): the sawtooth of the flutter
# waves runs through II, III and aVF. A click on a sheet opens it at full
# size, where the 1 mm grid reads.

# %%
# Fine-tuning the shipped encoder on MI and AF
# --------------------------------------------
# The shipped LCD model was pretrained on eight leads (II, III, V1-V6: the
# other four limb leads are sums of I and II). ``ECGClassifier`` puts a
# linear head on a copy of its encoder and trains both on two labels at
# once (multi-label: one sigmoid per class), AF weighted up as it is rare.
from sklearn_ecg import ECGClassifier, LCDPretrainer

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
seen = [list(data.lead_names).index(name) for name in LEADS]
X8 = data.X[:, seen]
labels = np.column_stack([mi, af])

lcd = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
clf = ECGClassifier(lcd, lr=1e-3, encoder_lr=1e-4, freeze_epochs=1, max_epochs=EPOCHS,
                    batch_size=32, class_weight="balanced", random_state=0)
clf.fit(X8[train], labels[train], groups=data.patient_id[train])
proba = clf.predict_proba(X8[test])

from sklearn.metrics import roc_auc_score

for k, name in enumerate(["MI", "AF"]):
    print(f"{name}: ROC-AUC {roc_auc_score(labels[test, k], proba[:, k]):.3f} on "
          f"{test.sum()} test records ({labels[test, k].sum()} positive)")

# %%
# Both detectors rank the test records better than chance, but the AF
# figure rests on the 4 AF records of the test folds (13 in the whole
# sample): one record more or less in the right place moves it by a tenth.
# It is a weak detector, trained on 9 AF records; what it looks at is worth
# seeing before trusting it, and that is what follows.

# %%
# Where the classifier looks for MI
# ---------------------------------
# Integrated gradients attribute the predicted probability of MI to every
# sample of every lead; they add up to the probability of the record minus
# that of the baseline, here a smoothed copy of the record (its moving
# average over 0.5 s: the waves removed, the baseline wander kept). The
# record shown is the test MI record the model is most sure of. The four
# limb leads the model does not see are drawn without colour.
from sklearn_ecg.inspection import explain_prediction


def on_twelve_leads(explanation, records, name):
    """The explanation of the eight leads, drawn on the twelve-lead sheet.

    A multi-label classifier's classes are its label columns (0, 1): ``name``
    names the explained one on the sheet.
    """
    attributions = np.zeros(records.shape, dtype=np.float32)
    attributions[:, seen] = explanation.attributions
    return Bunch(**{**explanation, "X": records, "attributions": attributions,
                    "target_names": np.array([name] * len(records))})


test_idx = np.flatnonzero(test)
mi_record = test_idx[labels[test, 0] == 1][np.argmax(proba[labels[test, 0] == 1, 0])]
explain_mi = explain_prediction(clf, X8[[mi_record]], target=0, baseline="smooth", n_steps=32)
print(f"P(MI) = {explain_mi.scores[0]:.2f}, attributions sum to "
      f"{explain_mi.attributions.sum():.2f} (= P(MI) - P(MI | baseline) "
      f"{explain_mi.scores[0] - explain_mi.baseline_scores[0]:.2f})")
codes = ", ".join(data.scp_codes[mi_record])
fig, ax = plot_attributions(on_twelve_leads(explain_mi, data.X[[mi_record]], "MI"), data.fs,
                            lead_names=data.lead_names,
                            title=f"ecg_id {data.ecg_id[mi_record]} ({codes}): evidence for MI")

# %%
# Which leads carry it: each lead's share of the absolute attributions, red
# where the lead's attributions add up to evidence for MI.
#
# Read the sheet with the record's statements in its title. PTB-XL labels
# ecg_id 483 MI for an inferior infarction (IMI, at a likelihood of only
# 15 %) and for injury in the anteroseptal leads (INJAS, V1-V3), and it also
# has an incomplete right bundle branch block (IRBBB), whose wide, notched
# QRS shows in V1-V3 too. More than half of the evidence sits in V1-V3 and
# little in II and III, where an inferior infarction would show its Q
# waves: the model finds this record's MI in the anteroseptal leads, where
# the injury and the conduction block both are, and cannot tell the two
# apart. Attributions say where the model looked, not what it understood.
fig, ax = plt.subplots(figsize=(5, 2.5))
plot_lead_importance(explain_mi, lead_names=LEADS, ax=ax,
                     title=f"Leads' shares of the evidence for MI, ecg_id {data.ecg_id[mi_record]}")
fig.tight_layout()

# %%
# Where it looks for atrial fibrillation
# --------------------------------------
# AF is a rhythm: irregular R-R intervals and no P waves. Occlusion asks a
# different question from integrated gradients: how much the probability
# drops when 0.3 s of one lead is replaced by the baseline. The record the
# detector is most sure of, ecg_id 17, lists atrial flutter beside atrial
# fibrillation; the bands mark where hiding 0.3 s of a lead changes the
# detector's output most.
af_record = test_idx[labels[test, 1] == 1][np.argmax(proba[labels[test, 1] == 1, 1])]
explain_af = explain_prediction(clf, X8[[af_record]], target=1, method="occlusion",
                                baseline="smooth", window=30)
fig, ax = plot_attributions(on_twelve_leads(explain_af, data.X[[af_record]], "AF"), data.fs,
                            lead_names=data.lead_names, kind="overlay",
                            title=f"ecg_id {data.ecg_id[af_record]}: occlusion, evidence for AF "
                                  f"(P = {explain_af.scores[0]:.2f})")

# %%
# Zero-shot: where the METS model sees the description
# ----------------------------------------------------
# The shipped METS model was never given an AF label: it scores a record by
# the cosine similarity of its embedding to that of a sentence. Its
# attributions show which part of the trace brings the record closer to
# "atrial fibrillation" than to "sinus rhythm". The model sees all twelve
# leads.
from sklearn_ecg import METSPretrainer, ZeroShotECGClassifier

mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
descriptions = {"AF": ["atrial fibrillation", "irregularly irregular rhythm without P waves"],
                "SR": ["sinus rhythm", "normal sinus rhythm"]}
zero_shot = ZeroShotECGClassifier(mets, class_descriptions=descriptions)
# fit reads the class names only: two training records stand in, whatever
# their diagnoses; nothing is trained and no label is read.
zero_shot.fit(data.X[np.flatnonzero(train)[:2]], ["AF", "SR"])
scores = zero_shot.predict_proba(data.X[test])[:, list(zero_shot.classes_).index("AF")]
print(f"zero-shot AF: ROC-AUC {roc_auc_score(af[test], scores):.3f} on {test.sum()} test records")
explain_zs = explain_prediction(zero_shot, data.X[[af_record]], target="AF", baseline="smooth",
                                n_steps=32)
fig, ax = plot_attributions(explain_zs, data.fs, lead_names=data.lead_names,
                            title=f"ecg_id {data.ecg_id[af_record]}: zero-shot METS, evidence for "
                                  f"'atrial fibrillation' (P = {explain_zs.scores[0]:.2f})")

# %%
# Checking the explanations
# -------------------------
# Two checks tell an explanation of the model from a picture of the input:
# integrated gradients must add up to the change of the output
# (``convergence_delta`` is the gap), and the attributions of a model whose
# weights are re-initialised must look different (rank correlation of the
# absolute attributions far from 1).
import copy

import torch
from scipy.stats import spearmanr

print(f"completeness gap: {abs(explain_mi.convergence_delta[0]):.4f}")
randomised = copy.deepcopy(clf)
with torch.random.fork_rng():
    torch.manual_seed(0)
    for layer in randomised.net_.module_.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
explain_random = explain_prediction(randomised, X8[[mi_record]], target=0, baseline="smooth",
                                    n_steps=32)
rho = spearmanr(np.abs(explain_mi.attributions).ravel(),
                np.abs(explain_random.attributions).ravel())[0]
print(f"rank correlation with a re-initialised network: {rho:.2f}")
plt.show()

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    shares = np.abs(explain_mi.attributions[0]).sum(axis=-1)
    shares = dict(zip(LEADS, shares / shares.sum()))
    record_figures(
        "plot_explain", size="reduced" if FAST else "full",
        mi_auc=roc_auc_score(labels[test, 0], proba[:, 0]),
        af_auc=roc_auc_score(labels[test, 1], proba[:, 1]),
        zero_shot_af_auc=roc_auc_score(af[test], scores),
        mi_share_V1_V3=shares["V1"] + shares["V2"] + shares["V3"],
        mi_share_II_III=shares["II"] + shares["III"],
        mi_record_ecg_id=data.ecg_id[mi_record], af_record_ecg_id=data.ecg_id[af_record],
        first_af_ecg_id=data.ecg_id[first_af],
        completeness_gap=abs(explain_mi.convergence_delta[0]), randomised_rho=rho)
# sphinx_gallery_end_ignore
