"""
Loading PTB-XL, plotting a 12-lead ECG and preprocessing it
===========================================================

This example loads the PTB-XL records shipped with the package, draws one
12-lead record on ECG paper and shows what band-pass filtering, baseline
removal and resampling do to it. It trains nothing, so it runs the same in
every build of the documentation.
"""

# %%
# The embedded sample
# -------------------
# :func:`~sklearn_ecg.datasets.load_ptbxl_sample` returns the first 500
# records of PTB-XL (v1.0.3) at 100 Hz, with no download: 12 leads of 10 s in
# millivolts, the five diagnostic superclasses as a multi-label indicator,
# the machine-generated report of each record and the patient-safe
# stratified folds ``strat_fold`` 1-10.
from sklearn_ecg.datasets import load_ptbxl_sample

data = load_ptbxl_sample()
print(data.X.shape, data.X.dtype, f"{data.fs:g} Hz")
print("leads:", data.lead_names)
print("classes:", data.target_names, "records per class:", data.y.sum(axis=0))
print("folds 1-8 (training):", (data.strat_fold <= 8).sum(),
      "folds 9-10 (test):", (data.strat_fold >= 9).sum())
print(data.metadata[["ecg_id", "age", "sex", "report", "strat_fold"]].head())

# %%
# The official PTB-XL release
# ---------------------------
# The whole database (21,799 records) is on PhysioNet
# (https://physionet.org/content/ptb-xl/1.0.3/). Downloaded and unpacked
# (``ptbxl_database.csv``, ``scp_statements.csv``, ``records100/``,
# ``records500/``), :func:`~sklearn_ecg.datasets.load_ptbxl` reads it into the
# same layout as the sample; ``download=True`` fetches what is missing through
# ``wfdb`` first. This cell is not run here, since it needs the data:
#
# .. code-block:: python
#
#    from sklearn_ecg.datasets import load_ptbxl
#
#    train = load_ptbxl("path/to/ptb-xl", sampling_rate=100, folds=range(1, 9))
#    test = load_ptbxl("path/to/ptb-xl", sampling_rate=100, folds=[9, 10])
#    # or fetch the selected records from PhysioNet into the folder first:
#    test = load_ptbxl("path/to/ptb-xl", folds=[10], download=True)
#
# Use ``strat_fold`` (or ``patient_id``) to split: records of one patient
# must not be on both sides of a split.

# %%
# A 12-lead record on ECG paper
# -----------------------------
# :func:`~sklearn_ecg.plotting.plot_ecg` draws one record at the standard
# 25 mm/s and 10 mm/mV over a 1 mm / 5 mm grid. It returns the matplotlib
# axes, to adjust as any other.
import matplotlib.pyplot as plt

from sklearn_ecg.plotting import plot_ecg

i = 0
print("report:", data.report[i], "| superclasses:",
      [c for c, flag in zip(data.target_names, data.y[i]) if flag])
ax = plot_ecg(data.X[i], fs=data.fs, lead_names=data.lead_names,
              title=f"PTB-XL ecg_id {data.ecg_id[i]}")
plt.show()

# %%
# Before and after preprocessing
# ------------------------------
# The transformers of :mod:`sklearn_ecg.preprocessing` are stateless and
# work on whole arrays of records, so they chain in a
# :class:`~sklearn.pipeline.Pipeline`. Here: baseline-wander removal (two
# median filters), a 0.5-40 Hz band-pass and, in the second figure,
# resampling to 50 Hz. :func:`~sklearn_ecg.plotting.plot_ecgs` overlays
# several records (or versions of one) on one paper, or puts them side by
# side.
from sklearn.pipeline import make_pipeline

from sklearn_ecg.plotting import plot_ecgs
from sklearn_ecg.preprocessing import BandpassFilter, BaselineWanderRemoval, Resample, SelectLeads

leads = ["II", "V1", "V5"]
select = SelectLeads(leads, lead_names=data.lead_names)
raw = select.fit_transform(data.X)
clean = make_pipeline(BaselineWanderRemoval(fs=data.fs),
                      BandpassFilter(low=0.5, high=40.0, fs=data.fs))
filtered = clean.fit_transform(raw)

# The record with the strongest baseline wander shows the difference best.
j = int(abs(raw - filtered).mean(axis=(1, 2)).argmax())
fig, axes = plot_ecgs([raw[j], filtered[j]], fs=data.fs,
                      labels=["raw", "baseline removed, 0.5-40 Hz"], lead_names=leads,
                      colors=["0.55", "C0"], title=f"ecg_id {data.ecg_id[j]}")
# Above the paper, the legend hides no trace.
axes[0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=8, frameon=False)
fig.set_layout_engine("constrained")
plt.show()

# %%
# Resampling changes the number of samples, not the duration: side by side,
# both versions span the same 10 s of paper.
low = Resample(fs=data.fs, target_fs=50.0).fit_transform(filtered[j : j + 1])
print("samples per lead:", filtered.shape[-1], "->", low.shape[-1])
# Each panel's title gives its sampling rate.
fig, axes = plot_ecgs([filtered[j], low[0]], fs=[data.fs, 50.0], labels=["filtered", "resampled"],
                      lead_names=leads, mode="side_by_side")
plt.show()

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_load_and_preprocess", size="full")
# sphinx_gallery_end_ignore
