"""
The embedding space: t-SNE of LCD and METS embeddings
=====================================================

What do the pretrained encoders put next to each other? This example
embeds the 500 records of the embedded PTB-XL sample with the shipped
:class:`~sklearn_ecg.LCDPretrainer` (``lcd-ptbxl``, pretrained on records
only) and :class:`~sklearn_ecg.METSPretrainer` (``mets-ptbxl``, records with
their reports), beside an untrained encoder, and projects the embeddings to
two dimensions with t-SNE, coloured by diagnostic superclass. Neither
pretrainer saw a label; the colours are added afterwards.

It needs the text extra (``pip install -e ".[text]"``). It trains nothing,
so it runs the same in every build of the documentation.
"""

import matplotlib.pyplot as plt
import numpy as np

# %%
# Data and one superclass per record
# ----------------------------------
# PTB-XL's labels are multi-label; for the colours, a record with exactly
# one superclass gets it, the others are grey.
from sklearn_ecg.datasets import load_ptbxl_sample

data = load_ptbxl_sample()
single = data.y.sum(axis=1) == 1
label = np.where(single, np.array(data.target_names)[data.y.argmax(axis=1)], "several or none")
for name in list(data.target_names) + ["several or none"]:
    print(f"{name:>16}: {np.sum(label == name)} records")

# %%
# Embedding
# ---------
# LCD on the eight independent leads it was pretrained on (II, III, V1-V6),
# METS on all twelve. ``LCDPretrainer(max_epochs=0)`` is the same LCD
# encoder with random weights: what the embeddings look like before any
# pretraining.
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg.preprocessing import SelectLeads

X8 = SelectLeads().fit_transform(data.X)  # II, III, V1-V6
lcd = LCDPretrainer.from_pretrained("lcd-ptbxl", device="cpu")
mets = METSPretrainer.from_pretrained("mets-ptbxl", device="cpu")
embeddings = {
    "untrained LCD encoder": LCDPretrainer(max_epochs=0, random_state=0).fit_transform(X8),
    "LCD (lcd-ptbxl)": lcd.transform(X8),
    "METS (mets-ptbxl)": mets.transform(data.X),
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

colours = {"NORM": "C2", "MI": "C3", "STTC": "C1", "CD": "C0", "HYP": "C4",
           "several or none": "0.8"}
fig, axes = plt.subplots(1, 3, figsize=(15, 5.4), layout="constrained")
for ax, (name, emb) in zip(axes, embeddings.items()):
    reduce = make_pipeline(StandardScaler(),
                           PCA(n_components=min(50, emb.shape[1]), random_state=0))
    xy = TSNE(perplexity=30, init="pca", random_state=0).fit_transform(reduce.fit_transform(emb))
    for cls, colour in colours.items():
        mask = label == cls
        ax.scatter(*xy[mask].T, s=10 if cls == "several or none" else 14, c=colour, label=cls,
                   alpha=0.9, linewidths=0, zorder=1 if cls == "several or none" else 2)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(colours),
           markerscale=1.5)
fig.suptitle(f"t-SNE of the embeddings of {len(data.X)} PTB-XL records, coloured by superclass")
plt.show()

# %%
# How well the classes separate, in numbers
# -----------------------------------------
# The silhouette of the single-class records (cosine distance in the full
# embedding space, not in the t-SNE map) is higher when records of a class
# are closer to each other than to the other classes. It summarises what
# the maps show; the linear probes of the other examples are the real test.
from sklearn.metrics import silhouette_score

silhouettes = {}
for name, emb in embeddings.items():
    z = StandardScaler().fit_transform(emb)[single]
    silhouettes[name] = silhouette_score(z, label[single], metric="cosine")
    print(f"{name:<22} silhouette of the superclasses: {silhouettes[name]:+.3f}")

# %%
# Both pretrained encoders gather the records of a class more than the
# untrained one does.

# sphinx_gallery_start_ignore
# The documentation build checks this page's conclusions against these
# figures (docs/check_examples.py); run as a script, this does nothing.
import os

if os.environ.get("SKLEARN_ECG_DOCS_FIGURES"):
    from check_examples import record_figures

    record_figures("plot_embedding_space", size="full",
                   untrained_silhouette=silhouettes['untrained LCD encoder'],
                   lcd_silhouette=silhouettes['LCD (lcd-ptbxl)'],
                   mets_silhouette=silhouettes['METS (mets-ptbxl)'])
# sphinx_gallery_end_ignore
