"""
The embedding space: t-SNE of LCD and METS embeddings
=====================================================

What do the pretrained encoders put next to each other? This example
pretrains :class:`~sklearn_ecg.LCDPretrainer` (records only) and
:class:`~sklearn_ecg.METSPretrainer` (records with their reports) on the
training folds of the embedded PTB-XL sample, embeds all 500 records and
projects the embeddings to two dimensions with t-SNE, coloured by diagnostic
superclass, beside the embeddings of an untrained encoder. Neither
pretrainer sees a label; the colours are added afterwards.

Set ``SKLEARN_ECG_DOCS_FAST=1`` to run it in seconds.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

FAST = os.environ.get("SKLEARN_ECG_DOCS_FAST") == "1"
LCD_EPOCHS, METS_EPOCHS = (2, 1) if FAST else (40, 15)
# A narrower METS encoder (ResNet1d-18 at width 16 instead of 64) in fast mode.
METS_WIDTH = 16 if FAST else 64

# %%
# Data and one superclass per record
# ----------------------------------
# PTB-XL's labels are multi-label; for the colours, a record with exactly
# one superclass gets it, the others are grey.
from sklearn_ecg.datasets import load_ptbxl_sample

data = load_ptbxl_sample()
if FAST:
    keep = np.flatnonzero(data.strat_fold >= 8)  # 191 records, the 44 of fold 8 pretrain
    data.X, data.y, data.strat_fold, data.report = (data.X[keep], data.y[keep],
                                                    data.strat_fold[keep], data.report[keep])
train = data.strat_fold <= 8
single = data.y.sum(axis=1) == 1
label = np.where(single, np.array(data.target_names)[data.y.argmax(axis=1)], "several or none")
for name in list(data.target_names) + ["several or none"]:
    print(f"{name:>16}: {np.sum(label == name)} records")

# %%
# Pretraining and embedding
# -------------------------
# LCD on the eight independent leads, METS on all twelve with the
# machine-generated reports (German ones translated to English first). The
# untrained encoder is ``LCDPretrainer(max_epochs=0)``.
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg.preprocessing import SelectLeads

X8 = SelectLeads().fit_transform(data.X)  # II, III, V1-V6
lcd = LCDPretrainer(max_epochs=LCD_EPOCHS, batch_size=64, random_state=0).fit(X8[train])
mets = METSPretrainer(width=METS_WIDTH, max_epochs=METS_EPOCHS, random_state=0)
mets.fit(data.X[train], reports=data.report[train])
embeddings = {
    "untrained encoder": LCDPretrainer(max_epochs=0, random_state=0).fit_transform(X8),
    f"LCD, {LCD_EPOCHS} epochs": lcd.transform(X8),
    f"METS, {METS_EPOCHS} epochs": mets.transform(data.X),
}
for name, emb in embeddings.items():
    print(f"{name}: {emb.shape[1]} features")

# %%
# t-SNE projections
# -----------------
# Each embedding is standardised, reduced to 50 dimensions by PCA (a usual
# step before t-SNE) and projected to 2-D. Distances between clusters in a
# t-SNE map mean little; what to look for is whether records of one class
# gather.
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

colours = {"NORM": "C2", "MI": "C3", "STTC": "C1", "CD": "C0", "HYP": "C4", "several or none": "0.8"}
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, (name, emb) in zip(axes, embeddings.items()):
    reduce = make_pipeline(StandardScaler(), PCA(n_components=min(50, emb.shape[1]), random_state=0))
    xy = TSNE(perplexity=min(30, len(emb) // 4), init="pca", random_state=0).fit_transform(reduce.fit_transform(emb))
    for cls, colour in colours.items():
        mask = label == cls
        ax.scatter(*xy[mask].T, s=10 if cls == "several or none" else 14, c=colour, label=cls,
                   alpha=0.9, linewidths=0, zorder=1 if cls == "several or none" else 2)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].legend(loc="best", fontsize=8, markerscale=1.5)
fig.suptitle(f"t-SNE of the embeddings of {len(data.X)} PTB-XL records, coloured by superclass")
plt.show()

# %%
# How well the classes separate, in numbers
# -----------------------------------------
# The silhouette of the single-class records (cosine distance in the full
# embedding space, not in the t-SNE map) is higher when records of a class
# are closer to each other than to the other classes. It summarises what
# the maps show; the linear probe of the other examples is the real test.
from sklearn.metrics import silhouette_score

for name, emb in embeddings.items():
    z = StandardScaler().fit_transform(emb)[single]
    print(f"{name:<20} silhouette of the superclasses: {silhouette_score(z, label[single], metric='cosine'):+.3f}")
