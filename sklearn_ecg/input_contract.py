"""What a fitted model was trained on, and bringing other records to it.

Every fitted or loaded pretrainer and :class:`~sklearn_ecg.ECGClassifier`
carries an :class:`InputContract` as ``input_contract_``: the sampling rate,
record length, lead names and order, units and z-scoring of the records it
was trained on, and the typical amplitude of those records. It is recorded
in ``fit`` (the rate and lead names from the estimator's ``fs`` and
``lead_names`` parameters; the length, lead count and amplitude from X) and
saved in ``config.json`` under ``"input"``. A model saved before the contract
existed loads with every field unknown (None).

``model.input_pipeline(fs=..., lead_names=...)`` turns the contract into a
:class:`~sklearn.pipeline.Pipeline` of the package's own preprocessing steps
that brings records of another rate, lead order, unit or length to the
model; ``transform`` and ``predict`` refuse what cannot be right (another
lead count, names the leads) and warn about what is probably wrong
(amplitudes far from those of training, flat leads, another record length).

Examples
--------
>>> from sklearn_ecg import LCDPretrainer
>>> from sklearn_ecg.datasets import load_ptbxl_sample
>>> data = load_ptbxl_sample(leads=["II", "V1"])
>>> lcd = LCDPretrainer(fs=data.fs, lead_names=data.lead_names, projector_dim=16,
...                     predictor_dim=16, max_epochs=1, batch_size=32,
...                     random_state=0).fit(data.X[:64])
>>> c = lcd.input_contract_
>>> c.fs, c.n_timepoints, c.lead_names, c.units
(100.0, 1000, ('II', 'V1'), 'mV')
>>> prep = lcd.input_pipeline(fs=500, lead_names=["V1", "I", "II"])
>>> [name for name, _ in prep.steps]
['selectleads', 'resample', 'padorcrop']
"""

import dataclasses
import warnings
from numbers import Real

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval

from ._lead_names import canonical_lead, is_lead_name, lead_key, repeated_leads
from ._persistence import PretrainedModelError
from ._tables import read_table
from .preprocessing import ConvertUnits, LeadLayout, PadOrCrop, Resample, SelectLeads
from .preprocessing._scaling import UNIT_FACTORS

__all__ = ["InputContract", "input_pipeline", "UNIT_FACTORS"]

#: The sampling rates a model or a record may have, in Hz: from 1 Hz (slow
#: trend recordings) to 100 kHz (far above any ECG amplifier's bandwidth).
FS_RANGE = (1.0, 100_000.0)

#: Constraints of the ``fs`` and ``lead_names`` parameters of the models.
INPUT_PARAMETER_CONSTRAINTS = {
    "fs": [Interval(Real, FS_RANGE[0], FS_RANGE[1], closed="both"), None],
    "lead_names": ["array-like", None],
}

# Records whose typical amplitude differs from that of the training records by
# more than this factor are probably in another unit (uV given as mV is 1000x).
_AMPLITUDE_FACTOR = 20.0
# A lead whose peak-to-peak range is below this fraction of the training
# amplitude carries no signal (a disconnected electrode, a zero-filled lead).
_FLAT_FRACTION = 1e-4
# The lead-order check: fewest records it judges, and the mean absolute
# difference of median lead polarities above which it warns (see
# _check_lead_order for the measurements behind it).
_ORDER_MIN_RECORDS = 32
_ORDER_DISTANCE = 0.3
# Records read for the amplitude statistics: enough for a stable median, few
# enough that a memory-mapped database is not read twice.
_STAT_RECORDS = 64

# Modified limb leads of Holter and monitoring recordings, placed on the
# torso (Mason-Likar): close to, not identical with, the limb leads. They
# stand in for a model's limb lead only when the records lack the real one.
MODIFIED_LIMB_LEADS = {"mli": "I", "mlii": "II", "mliii": "III"}


# How describe() names the rescaling a model applies to every record itself.
_SCALING_WORDS = {None: "none", "record": "z-score over the whole record",
                  "lead": "z-score of each lead", "minmax": "min-max to [0, 1] over the whole record"}


@dataclasses.dataclass(frozen=True)
class InputContract:
    """The input a model was trained on; None where it is not known.

    Parameters
    ----------
    fs : float or None
        Sampling rate in Hz.
    n_timepoints : int or None
        Samples per record.
    lead_names : tuple of str or None
        Names of the leads, in the order of the model's lead axis.
    n_leads : int or None
        Number of leads.
    units : str or None
        Unit of the samples (``"mV"``, the unit of the package's loaders).
    standardize : {"record", "lead", "minmax"} or None
        The rescaling the model applies itself to every record before its
        encoder: a z-score over the record or per lead, or a min-max
        scaling to [0, 1] over the record (MERL). None: the records are used
        in their units, so their scale matters.
    amplitude : float or None
        Median over the training records and leads of a lead's robust
        peak-to-peak amplitude (98th minus 2nd percentile), in ``units``:
        the reference of the amplitude check.
    lead_polarity : tuple of float or None
        Per lead, the median over the training records of its polarity,
        ``((p98 - median) - (median - p2)) / (p98 - p2)``, from -1 (the
        deflections point down, as in aVR) to 1 (up, as in II): the
        reference of the lead-order check.

    Examples
    --------
    >>> from sklearn_ecg.input_contract import InputContract
    >>> c = InputContract(fs=100.0, n_timepoints=1000, lead_names=("II", "V1"), n_leads=2,
    ...                   units="mV", standardize=None, amplitude=1.2)
    >>> c.duration
    10.0
    >>> InputContract.from_dict(c.to_dict()) == c
    True
    >>> InputContract.from_dict(None).fs is None
    True
    """

    fs: float = None
    n_timepoints: int = None
    lead_names: tuple = None
    n_leads: int = None
    units: str = None
    standardize: str = None
    amplitude: float = None
    lead_polarity: tuple = None

    @property
    def duration(self):
        """Record duration in seconds, or None."""
        if self.fs is None or self.n_timepoints is None:
            return None
        return self.n_timepoints / self.fs

    def to_dict(self):
        """The contract as JSON types (lists for tuples)."""
        out = dataclasses.asdict(self)
        for key in ("lead_names", "lead_polarity"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data):
        """A contract from :meth:`to_dict`'s output; None or {} give the unknown contract.

        Unknown keys are ignored (written by a newer release); a value of
        the wrong type raises ``ValueError``.
        """
        if data is not None and not isinstance(data, dict):
            raise ValueError(
                f"the input contract is a {type(data).__name__}, not an object of named fields "
                "(fs, n_timepoints, lead_names, ...).")
        data = dict(data or {})
        kwargs = {}
        checks = {
            "fs": (Real, float), "n_timepoints": (int, int), "n_leads": (int, int),
            "units": (str, str), "standardize": (str, str), "amplitude": (Real, float),
        }
        for key, (kind, cast) in checks.items():
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"input contract entry {key!r} is {value!r}, not a {cast.__name__}.")
            kwargs[key] = cast(value)
        names = data.get("lead_names")
        if names is not None:
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"input contract entry 'lead_names' is {names!r}, not a list of strings.")
            kwargs["lead_names"] = tuple(names)
        polarity = data.get("lead_polarity")
        if polarity is not None:
            if not isinstance(polarity, (list, tuple)) or not all(
                    isinstance(v, Real) and not isinstance(v, bool) for v in polarity):
                raise ValueError(
                    f"input contract entry 'lead_polarity' is {polarity!r}, not a list of numbers.")
            kwargs["lead_polarity"] = tuple(float(v) for v in polarity)
        return cls(**kwargs)

    def describe(self):
        """One line per field, in words (what ``sklearn-ecg info`` prints)."""
        def known(value, fmt="{}"):
            return "unknown" if value is None else fmt.format(value)

        duration = self.duration
        length = known(self.n_timepoints, "{} samples")
        if duration is not None:
            length += f" ({duration:g} s)"
        leads = known(self.n_leads)
        if self.lead_names is not None:
            leads += f" ({', '.join(self.lead_names)}, in this order)"
        return "\n".join([
            f"sampling rate: {known(self.fs, '{:g} Hz')}",
            f"record length: {length}",
            f"leads: {leads}",
            f"units: {known(self.units)}",
            f"scaling inside the model: {_SCALING_WORDS.get(self.standardize, self.standardize)}",
            f"typical amplitude (robust peak-to-peak): {known(self.amplitude, '{:.3g}')}"
            + (f" {self.units}" if self.amplitude is not None and self.units else ""),
        ])


def check_fs(fs, what="fs"):
    """``fs`` as a float; ``ValueError`` unless it is a rate in :data:`FS_RANGE` (1 Hz to 100 kHz)."""
    low, high = FS_RANGE
    if isinstance(fs, bool) or not isinstance(fs, Real) or not low <= fs <= high:
        raise ValueError(
            f"{what} must be a sampling rate in Hz between {low:g} and {high:g}; got {fs!r}. "
            "Pass the rate the records were sampled at (e.g. 500).")
    return float(fs)


def validate_contract(contract, *, n_leads=None, n_timepoints=None):
    """Check that ``contract`` can describe a model's input; returns it or raises ``ValueError``.

    The one check of an :class:`InputContract`, run when a model is fitted
    and when a saved one is loaded: a rate in 1 Hz-100 kHz, positive
    lengths and lead counts, one distinct name per lead, a known unit and
    z-scoring, a positive finite amplitude and one polarity in [-1, 1] per
    lead. ``n_leads`` and ``n_timepoints`` are the model's own counts, which
    the contract must repeat where it knows them.

    Examples
    --------
    >>> from sklearn_ecg.input_contract import InputContract, validate_contract
    >>> validate_contract(InputContract(fs=0.0))
    Traceback (most recent call last):
    ...
    ValueError: the input contract's fs must be a sampling rate in Hz between 1 and 100000; ...
    """
    c = contract
    if c.fs is not None:
        check_fs(c.fs, "the input contract's fs")
    for key in ("n_timepoints", "n_leads"):
        value = getattr(c, key)
        if value is not None and value < 1:
            raise ValueError(f"the input contract's {key} is {value}; it must be at least 1.")
    if c.lead_names is not None:
        names = c.lead_names
        if not all(n.strip() for n in names):
            raise ValueError(f"the input contract names a lead with an empty name: {list(names)!r}.")
        if c.n_leads is not None and len(names) != c.n_leads:
            raise ValueError(
                f"the input contract names {len(names)} lead(s) ({', '.join(names)}) for "
                f"n_leads={c.n_leads}; it needs one name per lead.")
        dupes = repeated_leads(names)
        if dupes:
            raise ValueError(f"the input contract names lead(s) {', '.join(dupes)} more than once.")
    if c.units is not None and c.units not in UNIT_FACTORS:
        raise ValueError(
            f"the input contract's units are {c.units!r}; known units: {', '.join(UNIT_FACTORS)}.")
    if c.standardize is not None and c.standardize not in ("record", "lead"):
        raise ValueError(
            f"the input contract's standardize is {c.standardize!r}; it is 'record', 'lead' or "
            "null.")
    if c.amplitude is not None and not (np.isfinite(c.amplitude) and c.amplitude >= 0):
        raise ValueError(f"the input contract's amplitude is {c.amplitude!r}; a finite number >= 0.")
    if c.lead_polarity is not None:
        count = c.n_leads if c.n_leads is not None else (
            len(c.lead_names) if c.lead_names is not None else None)
        if count is not None and len(c.lead_polarity) != count:
            raise ValueError(
                f"the input contract has {len(c.lead_polarity)} lead polarities for {count} "
                "lead(s).")
        if not all(-1.0 <= v <= 1.0 for v in c.lead_polarity):
            raise ValueError("the input contract's lead polarities must lie in [-1, 1].")
    for key, own in (("n_leads", n_leads), ("n_timepoints", n_timepoints)):
        value = getattr(c, key)
        if own is not None and value is not None and value != own:
            raise ValueError(
                f"the input contract's {key} is {value} but the model's is {own}; they "
                "contradict each other.")
    return contract


# -- recording the contract at fit ------------------------------------------------


# Values read and sorted at once for the amplitude statistics: a few records
# at a time, so that the check stays small next to one batch of embedding.
_STAT_CHUNK_ELEMENTS = 2**16


def lead_statistics(X):
    """Per record and lead: robust peak-to-peak amplitude and polarity, two ``(n, leads)`` arrays.

    The amplitude is the 98th minus the 2nd percentile over time; the
    polarity ``((p98 - median) - (median - p2)) / amplitude`` (0 for a flat
    lead).
    """
    n_records, n_leads, n_timepoints = X.shape
    amplitude = np.empty((n_records, n_leads), dtype=np.float64)
    polarity = np.empty((n_records, n_leads), dtype=np.float64)
    step = max(1, _STAT_CHUNK_ELEMENTS // max(1, n_leads * n_timepoints))
    for start in range(0, n_records, step):
        chunk = np.asarray(X[start : start + step], dtype=np.float32)
        low, mid, high = np.percentile(chunk, [2, 50, 98], axis=-1)
        amp = high - low
        amplitude[start : start + step] = amp
        with np.errstate(invalid="ignore", divide="ignore"):
            polarity[start : start + step] = np.where(
                amp > 0, ((high - mid) - (mid - low)) / amp, 0.0)
    return amplitude, polarity


def robust_amplitude(X):
    """Per record and lead, the 98th minus the 2nd percentile over time: ``(n, leads)``."""
    return lead_statistics(X)[0]


def _given_lead_names(est, n_leads):
    names = est.lead_names
    if names is None:
        return None
    names = [names] if isinstance(names, str) else list(names)
    if not all(isinstance(n, str) for n in names):
        raise ValueError(f"lead_names must be strings, one per lead of X; got {est.lead_names!r}.")
    if len(names) != n_leads:
        raise ValueError(
            f"{type(est).__name__} was given {len(names)} lead name(s) ({', '.join(names)}) but "
            f"X has {n_leads} lead(s); pass one name per lead of X, in the order of axis 1."
        )

    dupes = repeated_leads(names)
    if dupes:
        raise ValueError(f"lead_names names a lead more than once ({', '.join(dupes)}).")
    return tuple(canonical_lead(n) for n in names)


def record_contract(est, X, *, standardize=None, inherit=None):
    """The contract of ``est`` fitted on validated records ``X`` ``(n, leads, T)``.

    ``fs`` and ``lead_names`` come from the estimator's parameters; where
    they are None, from ``inherit`` (the pretrainer a classifier is built
    on) when its lead count matches. Raises ``ValueError`` when the lead
    names do not fit X, before any training.
    """
    n_leads, n_timepoints = int(X.shape[1]), int(X.shape[2])
    lead_names = _given_lead_names(est, n_leads)
    fs = None if est.fs is None else float(est.fs)
    parent = getattr(inherit, "input_contract_", None)
    if parent is not None and parent.n_leads in (None, n_leads):
        lead_names = lead_names if lead_names is not None else parent.lead_names
        fs = fs if fs is not None else parent.fs
    amplitude = polarity = None
    if len(X):
        amp, pol = lead_statistics(X[:_STAT_RECORDS])
        amplitude = float(np.median(amp))
        polarity = tuple(float(v) for v in np.median(pol, axis=0))
    return validate_contract(InputContract(
        fs=fs, n_timepoints=n_timepoints, lead_names=lead_names, n_leads=n_leads, units="mV",
        standardize=standardize, amplitude=amplitude, lead_polarity=polarity))


def contract_of(est):
    """``est.input_contract_``, or the unknown contract for a model fitted without one."""
    contract = getattr(est, "input_contract_", None)
    return contract if contract is not None else InputContract()


# -- checks at transform ----------------------------------------------------------


def _expected(contract):
    parts = []
    if contract.n_timepoints is not None:
        parts.append(f"{contract.n_timepoints} samples")
    if contract.duration is not None:
        parts.append(f"{contract.duration:g} s at {contract.fs:g} Hz")
    return " = ".join(parts)


def takes_missing_leads(model):
    """Whether ``model`` was pretrained on records with zeroed leads (METS's ``lead_masking > 0``).

    Such a model takes records with only some of its leads, the others zero
    (:class:`~sklearn_ecg.preprocessing.LeadLayout`): zeroed leads are how a
    user says a lead is missing, not a fault of the records.
    """
    return bool(getattr(model, "lead_masking", 0))


def _shipped_name(model):
    """The name of the shipped model ``model`` was loaded from (``from_pretrained``), else None."""
    return getattr(model, "_shipped_name", None)


def lead_subset_note(model, leads, owner):
    """What a model is told about records with only ``leads`` of its leads, in one sentence or two.

    Says which of the model's leads it sees, how many are zero-filled, and
    what the subset costs where that was measured for the shipped model it
    was loaded from (``sklearn_ecg/data/lead_subset_costs.tsv``), or that it
    was not. Returns None when ``leads`` are all the model's leads.

    Parameters
    ----------
    model : fitted estimator
        A model whose ``input_contract_`` names its leads.
    leads : sequence of str
        The leads the records have, as the model names them.
    owner : str
        Who speaks (e.g. ``"ZeroShotECGClassifier"``), the start of the note.

    Returns
    -------
    note : str or None
    """
    model_leads = list(getattr(contract_of(model), "lead_names", None) or ())
    seen = [lead for lead in model_leads if lead in set(leads)]
    if not model_leads or len(seen) == len(model_leads):
        return None
    n_zero = len(model_leads) - len(seen)
    note = (f"{owner}: the model sees lead{'s' if len(seen) > 1 else ''} {', '.join(seen)} of its "
            f"{len(model_leads)} leads; the other {n_zero} are zero-filled.")
    name = _shipped_name(model)
    rows = [r for r in read_table("lead_subset_costs.tsv") if r["model"] == name]
    row = next((r for r in rows if r["leads"].split(",") == seen), None)
    if row is not None:
        which = f"lead {seen[0]} alone" if len(seen) == 1 else f"leads {' + '.join(seen)}"
        return (f"{note} Measured cost for {name} ({row['benchmark']}): macro ROC-AUC "
                f"{row['macro_roc_auc']} with {which} against "
                f"{row['all_leads_macro_roc_auc']} with all {len(model_leads)} leads.")
    if rows:
        measured = ", ".join(f"{r['leads'].replace(',', ' + ')} {r['macro_roc_auc']}" for r in rows)
        return (f"{note} What this subset costs was not measured for {name}; measured "
                f"({rows[0]['benchmark']}, macro ROC-AUC): {measured}, against "
                f"{rows[0]['all_leads_macro_roc_auc']} with all {len(model_leads)} leads.")
    return (f"{note} What this subset costs was not measured for this model: compare its "
            "scores on labelled records with all leads and with these.")


def check_input(est, X):
    """Warn about what is probably wrong with records ``X`` ``(n, leads, T)`` given to ``est``.

    Reads at most the first 64 records (a memory-mapped X is not read
    twice). Warns when their typical amplitude is more than 20 times above
    or below that of the training records (e.g. µV passed as mV), when a
    lead is flat in every one of them, and when their length differs from
    the training records'.
    """
    contract = getattr(est, "input_contract_", None)
    if contract is None or len(X) == 0:
        return
    name = type(est).__name__
    hint = "model.input_pipeline(fs=..., lead_names=..., units=...)"
    if contract.n_timepoints is not None and X.shape[-1] != contract.n_timepoints:
        warnings.warn(
            f"The records have {X.shape[-1]} samples but {name} was trained on records of "
            f"{_expected(contract)}. If they were recorded at another rate, resample them "
            f"first ({hint} returns the steps); embeddings of records of another rate or "
            "length are not those the model learned.",
            UserWarning,
            stacklevel=3,
        )
    if contract.amplitude is None:
        return
    amp, polarity = lead_statistics(X[:_STAT_RECORDS])
    flat = np.flatnonzero((amp <= _FLAT_FRACTION * contract.amplitude).all(axis=0))
    masked = takes_missing_leads(est) and 0 < len(flat) < amp.shape[1]
    if not masked:
        _check_lead_order(name, contract, amp, polarity, hint)
    if len(flat) and not masked:
        names = contract.lead_names
        which = ", ".join(names[i] if names else f"lead {i}" for i in flat)
        warnings.warn(
            f"Lead(s) {which} are flat (no signal) in every one of the first {len(amp)} "
            f"record(s) given to {name}: a disconnected electrode, a zero-filled lead, or "
            "leads in another order than the model's (pass lead_names=... to "
            f"{hint}).",
            UserWarning,
            stacklevel=3,
        )
    if contract.standardize is not None:
        return  # the model z-scores every record: the scale does not matter
    live = amp[:, np.setdiff1d(np.arange(amp.shape[1]), flat)]
    if live.size == 0:
        return
    ratio = float(np.median(live)) / contract.amplitude
    if ratio > _AMPLITUDE_FACTOR or ratio < 1 / _AMPLITUDE_FACTOR:
        units = contract.units or "the training units"
        guess = ("microvolts (µV) given as millivolts: pass units='uV'" if ratio > 300 else
                 "volts given as millivolts: pass units='V'" if ratio < 1 / 300 else
                 "another unit or gain")
        warnings.warn(
            f"The records given to {name} are {ratio:.3g} times the amplitude of its training "
            f"records (median robust peak-to-peak {float(np.median(live)):.3g} vs "
            f"{contract.amplitude:.3g} {units}). They are probably in {guess} to {hint}, or "
            "scale them to mV.",
            UserWarning,
            stacklevel=3,
        )


def _check_lead_order(name, contract, amp, polarity, hint):
    """Warn when the leads' polarities do not look like those of the model's leads, in order.

    Each standard lead has its typical direction (aVR and V1 point down, II
    and V4-V6 up), so other leads, or the right ones in another order, give
    another profile of median polarities. On PTB-XL and CinC 2021 batches of
    64 records the mean absolute difference stayed below 0.22 with the right
    leads and above 0.35 with other leads or shuffled ones; a few records
    are too noisy to judge.
    """
    reference = contract.lead_polarity
    if reference is None or len(reference) != amp.shape[1] or len(amp) < _ORDER_MIN_RECORDS:
        return
    live = (amp > _FLAT_FRACTION * contract.amplitude).all(axis=0)
    if live.sum() < 2:
        return
    observed = np.median(polarity, axis=0)
    distance = float(np.abs(observed - np.asarray(reference))[live].mean())
    if distance > _ORDER_DISTANCE:
        leads = (f" ({', '.join(contract.lead_names)})" if contract.lead_names else "")
        warnings.warn(
            f"The leads given to {name} do not look like the leads it was trained on{leads}, "
            f"in that order: their polarities (how far each lead's deflections point up or "
            f"down) differ by {distance:.2f} on average from those of the training records "
            f"(below {_ORDER_DISTANCE:g} is usual). Check the lead order, or name your leads "
            f"with {hint}.",
            UserWarning,
            stacklevel=4,
        )


# -- bringing records to the model ------------------------------------------------


def match_leads(model_leads, user_leads, owner, allow_missing=False):
    """The user's names, with modified limb leads renamed where they stand in for a missing lead.

    Returns the renamed user names and the model's leads the records lack
    (empty unless ``allow_missing``).
    """

    user = [canonical_lead(n) for n in user_leads]
    keys = [lead_key(n) for n in user]
    for i, key in enumerate(keys):
        target = MODIFIED_LIMB_LEADS.get(key)
        if target is not None and target.casefold() not in keys and any(
                lead_key(m) == target.casefold() for m in model_leads):
            user[i], keys[i] = target, target.casefold()
    missing = [m for m in model_leads if lead_key(m) not in keys]
    model_keys = {lead_key(m) for m in model_leads}
    unknown = [n for n, k in zip(user_leads, keys) if k not in model_keys and not is_lead_name(n)]
    if missing and unknown:
        raise ValueError(
            f"Lead name(s) {', '.join(map(repr, unknown))} are not names of ECG leads that "
            f"{owner} understands, and the records lack lead(s) {', '.join(missing)} it was "
            "trained on. "
            "Name the leads with their standard names (I, II, III, aVR, aVL, aVF, V1-V6; "
            "'DII' and 'lead II' are understood too)."
        )
    if missing and (not allow_missing or len(missing) == len(model_leads)):
        if allow_missing:
            hint = " None of the records' leads is one of the model's."
        elif owner == "LCDPretrainer":
            hint = (" LCD's encoder is per lead: sklearn_ecg.LeadwiseEmbedder (sklearn-ecg "
                    "embed --leadwise) embeds any set of leads with it.")
        elif owner == "METSPretrainer":
            hint = (" A METS model pretrained with lead_masking > 0 takes records with only "
                    "some of its leads.")
        else:
            hint = ""
        raise ValueError(
            f"The records lack lead(s) {', '.join(missing)} that {owner} was trained on "
            f"({', '.join(model_leads)}); they have {', '.join(user_leads)}. Check "
            f"lead_names, or use records with these leads.{hint}"
        )
    return user, missing


def input_pipeline(model, *, fs, lead_names=None, units="mV", crop="start"):
    """A Pipeline that brings records of rate ``fs`` and leads ``lead_names`` to ``model``.

    The steps, each only where needed, are the package's own transformers:
    :class:`~sklearn_ecg.preprocessing.SelectLeads` (the model's leads, in
    its order, matched by name case-insensitively; MLI/MLII/MLIII stand in
    for I/II/III when the records lack those; for a METS model pretrained
    with ``lead_masking > 0``, the model's leads the records have, then
    :class:`~sklearn_ecg.preprocessing.LeadLayout` to place them into its
    lead layout with the missing leads zero),
    :class:`~sklearn_ecg.preprocessing.ConvertUnits` (to mV),
    :class:`~sklearn_ecg.preprocessing.Resample` (from ``fs`` to the
    model's rate) and :class:`~sklearn_ecg.preprocessing.PadOrCrop` (to the
    model's record length: longer records are cropped, shorter ones padded
    with zeros, where ``crop`` says). Nothing is learned: the pipeline can
    be used unfitted in front of the model,
    ``make_pipeline(model.input_pipeline(...), FrozenEstimator(model), ...)``.

    Parameters
    ----------
    model : fitted pretrainer or ECGClassifier
        A model with an ``input_contract_``.
    fs : float
        Sampling rate of the records in Hz, from 1 to 100000.
    lead_names : sequence of str or None, default=None
        Names of the records' leads in the order of their axis 1. None: the
        records already have the model's leads in its order. A lead of the
        model that the records lack is refused, or for a model that takes
        records with missing leads, given as zeros with a warning naming it.
    units : {"V", "mV", "uV", "µV", "nV"}, default="mV"
        Unit of the records' samples.
    crop : {"start", "center", "end"} or None, default="start"
        Which part of a longer record is kept, and where a shorter one is
        padded (``"start"``: keep the start, pad at the end). None leaves
        the length as it is.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
    """
    from sklearn.utils.validation import check_is_fitted


    check_is_fitted(model)
    owner = type(model).__name__
    contract = contract_of(model)
    check_fs(fs)
    if units not in UNIT_FACTORS:
        raise ValueError(f"units must be one of {', '.join(UNIT_FACTORS)}; got {units!r}.")
    if crop not in ("start", "center", "end", None):
        raise ValueError(f"crop must be 'start', 'center', 'end' or None; got {crop!r}.")
    if contract.fs is None:
        raise ValueError(
            f"This {owner} does not know the sampling rate it was trained on (it was fitted "
            "without fs=... or saved by an older release), so records cannot be brought to "
            "it; resample them yourself with sklearn_ecg.preprocessing.Resample."
        )
    steps = []
    if lead_names is not None:
        user = [lead_names] if isinstance(lead_names, str) else list(lead_names)
        if not user or not all(isinstance(n, str) for n in user):
            raise ValueError(f"lead_names must be a non-empty list of lead names; got {lead_names!r}.")
        if contract.lead_names is not None:
            matched, missing = match_leads(contract.lead_names, user, owner,
                                            takes_missing_leads(model))
            if missing:
                warnings.warn(
                    f"The records lack lead(s) {', '.join(missing)} of the {owner}'s "
                    f"{len(contract.lead_names)}; they are given to it as zeros (it was "
                    "pretrained with lead masking to take such records).",
                    UserWarning,
                    stacklevel=3,
                )
                present = [m for m in contract.lead_names if m not in missing]
                steps.append(SelectLeads(present, lead_names=matched))
                steps.append(LeadLayout(leads=present, layout=list(contract.lead_names)))
            else:
                steps.append(SelectLeads(list(contract.lead_names), lead_names=matched))
        elif contract.n_leads is not None and len(user) != contract.n_leads:
            raise ValueError(
                f"The records have {len(user)} lead(s) but {owner} was trained on "
                f"{contract.n_leads} whose names it does not know; pass records with its leads "
                "in its order."
            )
    if units != "mV":
        steps.append(ConvertUnits(units=units, target_units="mV"))
    if float(fs) != contract.fs:
        steps.append(Resample(fs=fs, target_fs=contract.fs))
    if crop is not None and contract.n_timepoints is not None:
        steps.append(PadOrCrop(contract.n_timepoints, mode=crop))
    if not steps:
        steps.append(("passthrough", "passthrough"))
        return Pipeline(steps)
    return Pipeline([(type(s).__name__.lower(), s) for s in steps])


class InputContractMixin:
    """``input_pipeline`` for the models that carry an ``input_contract_``, and its persistence.

    Placed before :class:`~sklearn_ecg._persistence.PretrainedMixin` among a
    model's bases: its fitted-state hooks add the optional ``"input"`` entry
    of ``config.json`` to those of the class.
    """

    def _get_fitted_state(self):
        sections, module = super()._get_fitted_state()
        contract = getattr(self, "input_contract_", None)
        if contract is not None:
            # What the model was trained on (optional: older folders lack it).
            sections["input"] = contract.to_dict()
        return sections, module

    @classmethod
    def _check_fitted_state(cls, config, fitted, path):
        fitted = super()._check_fitted_state(config, fitted, path)
        try:
            contract = validate_contract(InputContract.from_dict(config.get("input")),
                                         n_leads=fitted.get("n_leads_"),
                                         n_timepoints=fitted.get("n_timepoints_"))
        except ValueError as exc:
            raise PretrainedModelError(f"{path}: has an invalid 'input' entry: {exc}") from exc
        return {**fitted, "input_contract_": contract}

    def input_pipeline(self, *, fs, lead_names=None, units="mV", crop="start"):
        """Steps that bring records of another rate, lead order, unit or length to this model.

        See :func:`sklearn_ecg.input_contract.input_pipeline`.

        Parameters
        ----------
        fs : float
            Sampling rate of the records in Hz.
        lead_names : sequence of str or None, default=None
            Names of the records' leads, in order; None: the model's leads.
        units : {"V", "mV", "uV", "µV", "nV"}, default="mV"
            Unit of the records' samples.
        crop : {"start", "center", "end"} or None, default="start"
            Part of a longer record kept (and side padded); None keeps the length.

        Returns
        -------
        pipeline : sklearn.pipeline.Pipeline
            Stateless steps, usable before the model without fitting.
        """
        return input_pipeline(self, fs=fs, lead_names=lead_names, units=units, crop=crop)
