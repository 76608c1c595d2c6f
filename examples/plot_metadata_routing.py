"""
Reports through a Pipeline and cross-validation: metadata routing
=================================================================

:class:`~sklearn_ecg.METSPretrainer` needs, besides the records, the report
of each record: ``fit(X, reports=reports)``. Inside a
:class:`~sklearn.pipeline.Pipeline` and
:func:`~sklearn.model_selection.cross_val_score`, scikit-learn's metadata
routing carries such per-record data to the step that asks for it, and
splits it with the records of each fold. This example shows the three ways
to pass reports, and how ``groups`` moves once routing is on.

It needs the text extra (``pip install -e ".[text]"``). The example is
about how the reports travel, not about how well METS does. Every fit
pretrains on the records of folds 1-8 it is given for 10 epochs (1 epoch
of a narrower encoder in the reduced build for local work,
``SKLEARN_ECG_DOCS_FAST=1``, whose scores are then those of a barely
trained model). The zero-shot and fine-tuning examples show what the
shipped, fully pretrained METS model does.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import sklearn

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
EPOCHS = 1 if FAST else 10
WIDTH = 0.25 if FAST else 1.0  # a narrower encoder in fast mode

from sklearn_ecg.datasets import load_ptbxl_sample  # noqa: E402

train = load_ptbxl_sample(folds=range(1, 9))
test = load_ptbxl_sample(folds=[9, 10])
# One record of folds 1-8 has no report; METS would leave it out of
# pretraining with a warning, so it is left out here.
has_report = np.array([isinstance(r, str) and r.strip() != "" for r in train.report])
for key in ("X", "y", "report", "patient_id"):
    train[key] = train[key][has_report]
# The probe predicts myocardial infarction (MI) from the METS embeddings.
mi = list(train.target_names).index("MI")
y_train, y_test = train.y[:, mi], test.y[:, mi]
print(f"{EPOCHS} epoch(s) of METS pretraining on {len(train.X)} records per fit")

# %%
# Without routing: the step's name
# --------------------------------
# By default (routing off), ``Pipeline.fit`` passes ``<step>__<name>`` to
# that step's ``fit``.
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ecg import METSPretrainer


def mets_probe(**mets_params):
    mets = METSPretrainer(width=WIDTH, max_epochs=EPOCHS, random_state=0, **mets_params)
    return make_pipeline(mets, StandardScaler(), LogisticRegression(C=0.01, max_iter=2000))


pipe = mets_probe()
pipe.fit(train.X, y_train, metspretrainer__reports=train.report)
auc_plain = roc_auc_score(y_test, pipe.predict_proba(test.X)[:, 1])
print(f"MI, test ROC-AUC: {auc_plain:.3f}")

# %%
# With routing: the step asks for ``reports``
# -------------------------------------------
# With ``sklearn.set_config(enable_metadata_routing=True)``, the
# pretrainer declares what it wants with ``set_fit_request(reports=True)``
# and everything that fits the pipeline passes ``reports=`` by name:
# ``pipe.fit``, ``cross_val_score(..., params=...)``, ``GridSearchCV.fit``.
# :func:`sklearn.config_context` keeps the setting to this block.
from sklearn.model_selection import GroupKFold, cross_val_score

with sklearn.config_context(enable_metadata_routing=True):
    pipe = mets_probe()
    pipe.steps[0][1].set_fit_request(reports=True)
    pipe.fit(train.X, y_train, reports=train.report)
    auc_routed = roc_auc_score(y_test, pipe.predict_proba(test.X)[:, 1])
    print(f"MI, test ROC-AUC: {auc_routed:.3f} (the same model as above)")

# %%
# ``groups`` goes into ``params`` too
# -----------------------------------
# With routing on, ``cross_val_score(..., groups=...)`` raises: ``groups``
# is metadata like any other, requested by the splitter, and goes into
# ``params`` next to the reports. Each fold then gets the reports of its
# own records.
with sklearn.config_context(enable_metadata_routing=True):
    mets = METSPretrainer(width=WIDTH, max_epochs=EPOCHS, random_state=0)
    mets.set_fit_request(reports=True)
    pipe = make_pipeline(mets, StandardScaler(), LogisticRegression(C=0.01, max_iter=2000))
    try:
        cross_val_score(pipe, train.X, y_train, groups=train.patient_id, cv=GroupKFold(3),
                        params={"reports": train.report}, scoring="roc_auc")
    except ValueError as exc:
        print("groups=... with routing on:", str(exc).splitlines()[0])
    scores = cross_val_score(pipe, train.X, y_train, cv=GroupKFold(3), scoring="roc_auc",
                             params={"reports": train.report, "groups": train.patient_id})
print("MI, ROC-AUC per cross-validation split (patient-grouped, folds 1-8):", np.round(scores, 3))

# %%
# Each fold pretrained its own METS model on its training records and their
# reports only: the reports of the validation records never reached
# pretraining. Wrap a METS model pretrained once in
# :class:`~sklearn.frozen.FrozenEstimator` to avoid pretraining per fold,
# as in the grid-search example.
fig, ax = plt.subplots(figsize=(5.5, 3.2), layout="constrained")
# "Split", not "fold": PTB-XL's own folds 1-8 are all inside these splits.
ax.bar([f"split {k + 1}" for k in range(len(scores))], scores, color="C0")
ax.set_xlabel("cross-validation split of folds 1-8")
ax.axhline(0.5, color="0.5", linestyle="--", label="chance")
ax.axhline(auc_plain, color="C3", label="test, folds 9-10")
# The lower limit leaves room for every bar, however low.
ax.set_ylim(min(0.3, scores.min() - 0.05), 1.0)
ax.set_ylabel("ROC-AUC, MI")
ax.set_title("METS + linear probe, patient-grouped CV")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
plt.show()

# %%
# Both ways of passing the reports fit the same model.

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_metadata_routing", size="reduced" if FAST else "full",
                   plain_auc=auc_plain,
                   routed_auc=auc_routed)
# sphinx_gallery_end_ignore
