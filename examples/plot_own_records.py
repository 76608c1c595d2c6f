"""
Your own records: a folder at 500 Hz, the shipped models, your classes
======================================================================

A user's records rarely look like the ones a model was trained on. This
example starts from a folder of WFDB records as an electrocardiograph at
500 Hz writes them (here, the 500 PTB-XL records of the embedded sample,
upsampled and written to a temporary folder, so that it runs offline), with
the labels in a CSV file beside them. Then:

1. :func:`~sklearn_ecg.datasets.load_wfdb` reads the folder, with its
   sampling rate and lead names;
2. the shipped model's ``input_contract_`` says what it was trained on, and
   ``input_pipeline`` returns the steps that bring the records to it
   (lead selection by name, resampling, length);
3. the frozen LCD encoder feeds a logistic regression on the user's labels;
4. the shipped METS model scores the user's own class descriptions
   zero-shot, with no label used for training.

Nothing is trained but the logistic regression, so it runs the same in
every build of the documentation.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import wfdb


# %%
# A folder of records at 500 Hz
# -----------------------------
# One WFDB record per ECG (``.hea`` + ``.dat``), 12 leads at 500 Hz, and a
# CSV with the labels the user cares about: here whether the record shows a
# myocardial infarction (MI) and whether it is normal (NORM), with the
# patient-safe fold to split on.
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.preprocessing import Resample

sample = load_ptbxl_sample()
at_500_hz = Resample(fs=100, target_fs=500).fit_transform(sample.X)
folder = Path(tempfile.mkdtemp()) / "my_records"
folder.mkdir()
names = [f"ecg{ecg_id:05d}" for ecg_id in sample.ecg_id]
for name, record in zip(names, at_500_hz):
    wfdb.wrsamp(name, fs=500, units=["mV"] * 12, sig_name=list(sample.lead_names),
                p_signal=record.T.astype(np.float64), fmt=["16"] * 12, adc_gain=[1000.0] * 12,
                baseline=[0] * 12, write_dir=str(folder))
labels = pd.DataFrame({"record": names, "NORM": sample.y[:, 0], "MI": sample.y[:, 1],
                       "fold": sample.strat_fold})
labels.to_csv(folder / "labels.csv", index=False)
first = sorted(p.name for p in folder.iterdir())[:3]
print(f"{len(names)} records in {folder.name}/, e.g. {first}")

# %%
# Reading the folder
# ------------------
# ``load_wfdb`` returns the records as ``(n_records, n_leads, n_timepoints)``
# in mV, with the rate and the lead names of their headers.
from sklearn_ecg.datasets import load_wfdb

data = load_wfdb(folder, verbose=0)
labels = pd.read_csv(folder / "labels.csv").set_index("record").loc[data.metadata["record"]]
print(data.X.shape, data.fs, data.lead_names)

# %%
# What the shipped models expect, and the steps that bring records to them
# -------------------------------------------------------------------------
# Every fitted or loaded model carries its ``input_contract_``: the rate, the
# record length and the leads, in order, it was trained on. The shipped LCD
# encoder takes 8 of the 12 leads at 100 Hz. ``input_pipeline`` is built from
# what the user states about the records and holds only steps the records
# need; it learns nothing, so it can stand unfitted in front of the model.
from sklearn_ecg import LCDPretrainer, METSPretrainer

lcd = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
print(lcd.input_contract_.describe())
to_lcd = lcd.input_pipeline(fs=data.fs, lead_names=data.lead_names)
print(to_lcd)

# The records brought to the model embed as the 100 Hz originals do, up to
# the resampling's rounding at the record ends.
lcd_leads = [sample.lead_names.index(n) for n in lcd.input_contract_.lead_names]
direct = lcd.transform(sample.X[:, lcd_leads])
through = lcd.transform(to_lcd.transform(data.X))
difference = float(np.abs(through - direct).max() / np.abs(direct).max())
print(f"largest difference from the 100 Hz embeddings: {difference:.4f} of the largest value")

# %%
# A classifier on the user's labels
# ---------------------------------
# The input steps, the frozen encoder (``FrozenEstimator``: fitting the
# pipeline never retrains it), a scaler and a logistic regression; folds
# 1-8 train and folds 9-10 test, so no patient is on both sides.
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, RocCurveDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

train = labels["fold"].to_numpy() <= 8
test = ~train
model = make_pipeline(to_lcd, FrozenEstimator(lcd), StandardScaler(),
                      LogisticRegression(C=0.01, max_iter=2000))
model.fit(data.X[train], labels["MI"].to_numpy()[train])
mi_scores = model.predict_proba(data.X[test])[:, 1]
probe_auc = roc_auc_score(labels["MI"].to_numpy()[test], mi_scores)
print(f"MI, linear probe on the shipped LCD encoder: ROC-AUC {probe_auc:.3f} "
      f"({int(labels['MI'].to_numpy()[test].sum())} MI records among {int(test.sum())})")

# %%
# Zero-shot with the user's own descriptions
# ------------------------------------------
# The shipped METS model scores each record against a sentence per class.
# The descriptions are the user's; ``fit`` reads only the class names (the
# columns of the label table, here of one training record) and trains
# nothing, so no test record or label goes into it.
from sklearn_ecg import ZeroShotECGClassifier

descriptions = {
    "NORM": ["normal ECG", "sinus rhythm, normal ECG"],
    "MI": ["myocardial infarction", "old infarction with pathological Q waves"],
}
zero_shot = make_pipeline(
    mets.input_pipeline(fs=data.fs, lead_names=data.lead_names),
    ZeroShotECGClassifier(mets, class_descriptions=descriptions),
)
classes = ["NORM", "MI"]
zero_shot.fit(data.X[train][:1], labels.loc[train, classes][:1])
similarities = zero_shot.decision_function(data.X[test])
y_test = labels.loc[test, classes]
zero_shot_auc = {c: roc_auc_score(y_test[c], similarities[:, i]) for i, c in enumerate(classes)}
print("zero-shot ROC-AUC:", {c: round(v, 3) for c, v in zero_shot_auc.items()})

# %%
# ROC curves
# ----------
fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
RocCurveDisplay.from_predictions(labels["MI"].to_numpy()[test], mi_scores, ax=ax,
                                 name="MI, linear probe (LCD)")
for i, c in enumerate(y_test.columns):
    RocCurveDisplay.from_predictions(y_test[c], similarities[:, i], ax=ax,
                                     name=f"{c}, zero-shot (METS)")
ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1)
ax.set(xlabel="False positive rate", ylabel="True positive rate",
       title=f"Folds 9-10, {int(test.sum())} records read at 500 Hz")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_own_records", size="full",
                   embedding_difference=difference,
                   probe_auc=probe_auc,
                   zero_shot_NORM=zero_shot_auc['NORM'],
                   zero_shot_MI=zero_shot_auc['MI'])
# sphinx_gallery_end_ignore
