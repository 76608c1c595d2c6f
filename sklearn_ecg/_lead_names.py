"""The package's one table of lead names, and how names are matched.

At the bottom of the package: input validation, the preprocessing steps and
the dataset loaders all name and match leads with these functions, so a name
that one of them understands is understood by all.
"""

#: The standard 12-lead order (PTB-XL, CinC 2021, most WFDB databases).
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# Other spellings of the standard leads, after case folding: the Roman
# numerals written with a "D" (European notation) and with "lead" in front.
_ALIASES = {
    "di": "i",
    "dii": "ii",
    "diii": "iii",
    "d1": "i",
    "d2": "ii",
    "d3": "iii",
    "lead i": "i",
    "lead ii": "ii",
    "lead iii": "iii",
}


_STANDARD_BY_KEY = {name.casefold(): name for name in STANDARD_LEADS}


def canonical_lead(name):
    """The standard spelling of a lead name.

    The 12 standard leads are recognised whatever their case and in their
    other spellings (``"AVR"`` is ``"aVR"``; ``"DII"``, ``"D2"`` and
    ``"lead II"`` are ``"II"``; ``"lead V1"`` is ``"V1"``). Other names
    (``"MLII"``) come back with surrounding whitespace removed and inner runs
    of it made single spaces.

    Examples
    --------
    >>> from sklearn_ecg._lead_names import canonical_lead
    >>> canonical_lead("AVR"), canonical_lead("DII"), canonical_lead(" MLII ")
    ('aVR', 'II', 'MLII')
    >>> canonical_lead("lead V1"), canonical_lead("Lead aVR"), canonical_lead("lead MLII")
    ('V1', 'aVR', 'MLII')
    """
    text = " ".join(str(name).split())
    key = text.casefold()
    for prefix in ("lead ", "lead-", "lead_"):
        # "lead V1", "Lead aVR": the word "lead" in front of any lead's name.
        rest = key[len(prefix):].strip() if key.startswith(prefix) else None
        if rest and (rest in _STANDARD_BY_KEY or rest in _ALIASES or rest in _OTHER_LEAD_NAMES):
            key = rest
            text = text[len(prefix):].strip()
            break
    return _STANDARD_BY_KEY.get(_ALIASES.get(key, key), text)


def lead_key(name):
    """What two names of the same lead share: the canonical spelling, case-folded."""
    return canonical_lead(name).casefold()


def repeated_leads(names):
    """The names in ``names`` that name a lead named more than once there, sorted.

    Examples
    --------
    >>> from sklearn_ecg._lead_names import repeated_leads
    >>> repeated_leads(["II", "DII", "V1"]), repeated_leads(["I", "II"])
    (['DII', 'II'], [])
    """
    keys = [lead_key(n) for n in names]
    return sorted({n for n, k in zip(names, keys) if keys.count(k) > 1})


# Leads of other systems that name what they are (Holter and monitoring
# leads, Frank's orthogonal leads, the right-sided and posterior chest leads).
_OTHER_LEAD_NAMES = frozenset(
    name.casefold()
    for name in ("MLI", "MLII", "MLIII", "X", "Y", "Z", "V3R", "V4R", "V5R", "V7", "V8",
                 "V9", "CM5", "CC5", "ML5", "V1'", "V2'", "V3'", "V4'", "V5'", "V6'")
)


def is_lead_name(name):
    """Whether ``name`` is the name of an ECG lead (standard or one of the common others).

    Examples
    --------
    >>> from sklearn_ecg._lead_names import is_lead_name
    >>> is_lead_name("avr"), is_lead_name("MLII"), is_lead_name("x0")
    (True, True, False)
    """
    key = lead_key(name)
    return key in _STANDARD_BY_KEY or key in _OTHER_LEAD_NAMES
