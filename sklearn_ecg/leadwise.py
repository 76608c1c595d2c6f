"""Embedding any lead set with a pretrained single-lead LCD encoder."""

import os
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .preprocessing._leads import STANDARD_LEADS, lead_key
from ._base import SharesFittedPretrainerMixin
from ._encoder import fitted_pretrainer
from ._persistence import load_pretrained
from ._validation import check_ecg_array
from .nn.forward import ForwardModule, check_output

#: The shipped LCD model that ``LeadwiseEmbedder(pretrainer=None)`` loads.
DEFAULT_LCD_MODEL = "lcd-ptbxl"


class _SelectedLeads:
    """Records with some of their leads, sliced a batch at a time (a memmap stays on disk)."""

    def __init__(self, X, indices):
        self.X = X
        self.indices = indices

    def __len__(self):
        return len(self.X)

    def __getitem__(self, rows):
        return self.X[rows][:, self.indices]


class LeadwiseEmbedder(SharesFittedPretrainerMixin, TransformerMixin, BaseEstimator):
    """Embed the chosen leads of any ECG with a pretrained single-lead encoder.

    LCD pretrains one *generic single-lead* encoder: whatever leads it was
    pretrained on, it embeds any lead on its own. This transformer applies
    a pretrained :class:`~sklearn_ecg.LCDPretrainer`'s encoder to every
    chosen lead of its own input and concatenates the per-lead embeddings,
    so a model pretrained on 12- or 8-lead PTB-XL embeds 1-lead wearable
    records or 2-lead Holter records (e.g. MIT-BIH's MLII and V1) without
    refitting.

    ``fit`` never trains the encoder: it checks the input, records its lead
    count (``n_features_in_``, as for every estimator of the package) and
    resolves ``leads``. The pretrainer's own ``n_features_in_`` (its
    pretraining leads) is left as it is.

    Parameters
    ----------
    pretrainer : LCDPretrainer, str, path or None, default=None
        A *fitted* :class:`~sklearn_ecg.LCDPretrainer` (used as it is, never
        copied nor refitted; ``clone`` keeps it, so the embedder works in
        cross-validation), or anything
        :func:`~sklearn_ecg.load_pretrained` accepts (a saved folder, the
        name of a shipped model, a Hub repo id), loaded in ``fit``. None
        loads the shipped model ``"lcd-ptbxl"``.
    leads : None, int, str or sequence of int or str, default=None
        Leads of ``X`` to embed, in the output's order; None embeds every
        lead. Names are matched against ``lead_names`` case-insensitively
        (``"avr"`` is ``"aVR"``).
    lead_names : sequence of str or None, default=None
        Names of the leads of ``X``, in order, to choose ``leads`` by name
        and name the output features. None means the standard 12 leads
        (I, II, III, aVR, aVL, aVF, V1–V6) for 12-lead input; other input
        then needs ``leads`` as positions.

    Attributes
    ----------
    pretrainer_ : LCDPretrainer
        The fitted pretrainer whose encoder embeds the leads.
    indices_ : ndarray of int
        Positions of the embedded leads among the leads of ``X``.
    n_leads_ : int
        Leads per record seen in ``fit`` (1 for 2-D input).
    n_features_in_ : int
        As scikit-learn defines it for ``X``: the lead count for 3-D ``X``,
        the record length for 2-D (single-lead) ``X``.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame (2-D input).

    See Also
    --------
    LCDPretrainer : Pretrains the single-lead encoder.
    sklearn_ecg.preprocessing.Resample : Bring other sampling rates to the
        pretraining rate first.

    Notes
    -----
    The records are scaled as the pretrainer scales its own input
    (its ``standardize``): with ``standardize="record"`` the z-score runs
    over the *chosen* leads of a record. Records should have the pretraining
    sampling rate (100 Hz for the shipped PTB-XL model): resample others
    with :class:`~sklearn_ecg.preprocessing.Resample` in the pipeline.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_ecg import LCDPretrainer, LeadwiseEmbedder
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> data = load_ptbxl_sample()
    >>> lcd = LCDPretrainer(projector_dim=32, predictor_dim=32, max_epochs=1,
    ...                     batch_size=32, random_state=0).fit(data.X[:64, :, :500])
    >>> lcd.n_features_in_  # pretrained on 12 leads
    12
    >>> holter = data.X[64:104][:, [1, 6], :500]  # 2-lead records: II and V1
    >>> LeadwiseEmbedder(lcd).fit_transform(holter).shape
    (40, 128)
    >>> only_v1 = LeadwiseEmbedder(lcd, leads="V1", lead_names=["MLII", "V1"])
    >>> only_v1.fit(holter).get_feature_names_out()[:2]
    array(['leadwiseembedder_V1_0', 'leadwiseembedder_V1_1'], dtype=object)
    >>> wearable = holter[:, 0, :]  # 1-lead records, 2-D
    >>> clf = make_pipeline(LeadwiseEmbedder(lcd), LogisticRegression(max_iter=200))
    >>> clf.fit(wearable, data.y[64:104, 0]).predict(wearable).shape
    (40,)
    """

    _parameter_constraints = {
        "pretrainer": [HasMethods(["transform"]), str, os.PathLike, None],
        "leads": [None, Integral, str, list, tuple, np.ndarray],
        "lead_names": [None, list, tuple, np.ndarray],
    }

    def __init__(self, pretrainer=None, leads=None, lead_names=None):
        self.pretrainer = pretrainer
        self.leads = leads
        self.lead_names = lead_names

    def _resolve_pretrainer(self):
        """The fitted pretrainer (loaded when given by name) and its encoder contract."""
        pre = self.pretrainer
        if pre is None or isinstance(pre, (str, os.PathLike)):
            pre = load_pretrained(DEFAULT_LCD_MODEL if pre is None else pre)
        else:
            try:
                pre = fitted_pretrainer(pre)
            except NotFittedError as exc:
                raise NotFittedError(
                    f"{type(self).__name__} embeds with an already pretrained encoder and never "
                    f"trains it, but the {type(pre).__name__} given is not fitted. Fit it first, "
                    "load one with LCDPretrainer.from_pretrained(...), or pass the name of a "
                    "shipped model or a saved folder."
                ) from exc
        contract = getattr(pre, "encoder_contract_", None)
        if contract is None or not contract.per_lead:
            raise TypeError(
                f"{type(self).__name__} needs an LCDPretrainer (a pretrainer whose encoder embeds "
                f"one lead at a time); got a {type(pre).__name__}, whose encoder reads a fixed set "
                "of leads together."
            )
        return pre

    def _available_names(self, n_leads):
        if self.lead_names is not None:
            names = [str(n) for n in self.lead_names]
            if len(names) != n_leads:
                raise ValueError(
                    f"lead_names has {len(names)} name(s) but X has {n_leads} lead(s); pass one "
                    "name per lead of X, in order."
                )
            keys = [lead_key(n) for n in names]
            if len(set(keys)) != len(keys):
                raise ValueError(f"lead_names names a lead more than once: {names}.")
            return names
        if n_leads == len(STANDARD_LEADS):
            return list(STANDARD_LEADS)
        return None

    def _lead_indices(self, n_leads):
        names = self._available_names(n_leads)
        if self.leads is None:
            return np.arange(n_leads, dtype=np.intp)
        wanted = [self.leads] if isinstance(self.leads, (str, Integral)) else list(self.leads)
        if not wanted:
            raise ValueError("leads is empty; pass None to embed every lead, or some leads.")
        indices = []
        for lead in wanted:
            if isinstance(lead, (Integral, np.integer)) and not isinstance(lead, bool):
                if not -n_leads <= lead < n_leads:
                    raise ValueError(
                        f"leads has the position {lead}, but X has {n_leads} lead(s) "
                        f"(positions 0 to {n_leads - 1})."
                    )
                indices.append(int(lead) % n_leads)
            elif isinstance(lead, str):
                if names is None:
                    raise ValueError(
                        f"leads names the lead {lead!r}, but X has {n_leads} leads and no "
                        "lead_names: pass lead_names=[...] with one name per lead of X, or "
                        "choose leads by position."
                    )
                keys = [lead_key(n) for n in names]
                if lead_key(lead) not in keys:
                    raise ValueError(
                        f"Unknown lead {lead!r}; the leads of X are {', '.join(names)}."
                    )
                indices.append(keys.index(lead_key(lead)))
            else:
                raise TypeError(
                    f"leads must hold lead positions (int) or names (str); got {lead!r}."
                )
        return np.asarray(indices, dtype=np.intp)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X``, record its lead count and resolve ``leads``; nothing is trained.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            ECG records, any number of leads (2-D: single-lead records).
        y : None
            Ignored.

        Returns
        -------
        self : LeadwiseEmbedder
        """
        pre = self._resolve_pretrainer()
        # Only the shape is needed: a memmap of another dtype is not cast (copied) whole.
        contract = pre.encoder_contract_
        X, seen = check_ecg_array(self, X, reset=True, min_records=1, min_length=contract.min_length,
                                  min_length_reason=contract.length_reason, cast_lazily=True)
        n_leads = 1 if X.ndim == 2 else X.shape[1]
        indices = self._lead_indices(n_leads)
        self.indices_ = indices
        self.n_leads_ = n_leads
        self.pretrainer_ = pre
        seen.assign(self)
        return self

    def transform(self, X):
        """Embed the chosen leads of each record, concatenated in the order of ``leads``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records with the lead count seen in ``fit`` (any length of at
            least 32 samples).

        Returns
        -------
        X_new : ndarray of shape (n_records, len(leads) * embedding size)
            float32; 64 features per lead for the paper's encoder.
        """
        check_is_fitted(self, "pretrainer_")
        contract = self.pretrainer_.encoder_contract_
        # Cast a batch at a time by the contract, as in the pretrainer's own transform.
        X = check_ecg_array(self, X, reset=False, min_records=1, min_length=contract.min_length,
                            min_length_reason=contract.length_reason, cast_lazily=True)
        if X.ndim == 2:
            X = X[:, None, :]
        if not np.array_equal(self.indices_, np.arange(X.shape[1])):
            X = _SelectedLeads(X, self.indices_)
        return contract.embed_records(X)

    def differentiable_forward(self, output="transform"):
        """The chosen leads' embeddings as a differentiable torch module (see :mod:`sklearn_ecg.nn.forward`).

        Parameters
        ----------
        output : {"transform"}, default="transform"
            ``transform``'s output: the pretrainer's differentiable embedding
            (its encoder contract's ``embed``) of the leads of ``leads``.

        Returns
        -------
        forward : ForwardModule
            Takes records with the leads seen in ``fit``.
        """
        check_output(output, ("transform",), type(self).__name__)
        check_is_fitted(self, "pretrainer_")
        contract = self.pretrainer_.encoder_contract_
        embed = contract.embed
        if not np.array_equal(self.indices_, np.arange(self.n_leads_)):
            index = torch.as_tensor(np.asarray(self.indices_), dtype=torch.long)

            def embed(x):
                return contract.embed(x.index_select(1, index.to(x.device)))

        return ForwardModule(embed, [contract.encoder], n_leads=self.n_leads_, min_length=contract.min_length)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``leadwiseembedder_<lead>_<k>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "pretrainer_")
        _check_feature_names_in(self, input_features, generate_names=False)
        names = self._available_names(self.n_leads_)
        dim = self.pretrainer_.encoder_contract_.n_features_per_lead
        prefix = type(self).__name__.lower()
        labels = [names[i] if names is not None else f"lead{i}" for i in self.indices_]
        return np.asarray([f"{prefix}_{lab}_{k}" for lab in labels for k in range(dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.requires_fit = True
        return tags
