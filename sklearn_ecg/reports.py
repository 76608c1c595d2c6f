"""Cleaning and translating PTB-XL's machine-generated ECG reports.

About 70 % of PTB-XL's reports are German machine statements
("sinusrhythmus normales ekg"), about 1 % Swedish, the rest English. METS embeds the
reports with a frozen language model; for an English model to place a German report
next to the English report of the same finding, the German and Swedish statements are
translated first. The machine statements use a small, fixed vocabulary (rhythms, axis,
blocks, infarcts, hypertrophy, ST-T changes, ...) plus some free-text remarks, so a
phrase table of ECG German and Swedish does the job without a translation model:

>>> from sklearn_ecg.reports import translate_ptbxl_report
>>> translate_ptbxl_report("sinusrhythmus linkstyp sonst normales ekg")
'sinus rhythm left axis otherwise normal ecg'

Cleaning (:func:`clean_ptbxl_report`, applied by the translators) lower-cases the text
and **drops**:

- the machine's version stamp and status ``"4.46 unbestätigter bericht"``
  ("unconfirmed report", also truncated), which says nothing about the ECG;
- everything from ``"edit:"`` or ``"consensus label derived from"`` on: these are
  annotators' label edits (SCP codes such as ``"norm 100, (asmi 50)"``); keeping them
  would leak the labels into the text;
- six-digit and longer numbers (dates such as ``"ekg 910218"``, record numbers);
- the ``"ó"``/``"½"`` debris of broken character encodings, extra whitespace.

It keeps everything else, including lead names (``"v2-5"``), rates and ``"2:1"``. It
also repairs the encoding damage seen in PTB-XL (``"#bergang"`` for ``"übergang"``,
``"á"`` for ``"ß"``) and spells umlauts as ``ae``/``oe``/``ue`` (and ``å`` as ``aa``),
so ``"veränderung"`` and ``"veraenderung"`` are the same word.
"""

import re
import unicodedata

import numpy as np

from ._tables import read_mapping

__all__ = [
    "clean_ptbxl_report",
    "translate_ptbxl_report",
    "translate_reports",
    "translation_coverage",
    "PHRASES",
]

# German and Swedish ECG phrases -> English, from the package data table
# ``data/report_phrases.tsv`` (columns section, phrase, english). Keys are written
# naturally; they go through the same spelling normalisation as the reports.
# Multi-word phrases come before their words (longest match wins), so word order and
# idioms are kept where it matters; single words make the table work for statements
# not seen here. English words that are also German ("normal", "in", "block", "t")
# are deliberately absent so English reports pass unchanged.
PHRASES = read_mapping("report_phrases.tsv", "phrase", "english")

# Adjective stems (German and Swedish) whose inflected forms all mean the same
# English word: "inferiorer", "inferiore", "inferioren", "inferiorere", ... The
# endings are matched generically so forms that do not occur in the shared sample are
# translated too. From ``data/report_adjective_stems.tsv``.
_ADJECTIVE_STEMS = read_mapping("report_adjective_stems.tsv", "stem", "english")
# German endings -e, -er, -es, -en, -em, comparative -ere; Swedish -a, -t.
_ADJECTIVE_ENDINGS = r"(?:ere|er|es|en|em|e|a|t|al|ale|ales|aler|alen)?"

_FOLD = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "å": "aa", "æ": "ae", "ø": "oe"}
)
# Characters left by PTB-XL's broken encodings: "á" is cp437's "ß", "#bergang" lost
# its "Ü", and "ó"/"½" replace characters that cannot be recovered.
_MOJIBAKE = [
    (re.compile(r"#bergang"), "übergang"),
    (re.compile(r"(?<=[a-z])á(?=[a-z])"), "ß"),
    (re.compile(r"ó½|½"), ""),
]
# No word boundary before "consensus": PTB-XL glues it to the last word at times.
_CUT_FROM = re.compile(r"(?:\bedit\s*:|consensus label derived from|label derived from).*$")
_TRAILER = "unbestaetigter bericht"
_VERSION = re.compile(r"\b4\.46\b")
_LONG_NUMBER = re.compile(r"\b\d{6,}\b")
_AV_BLOCK = re.compile(
    r"(?<![a-z0-9])a-?v[- ]?block\s*(?:(iii|ii|i)\b|([123])\s*\.?)\s*(?:\.?\s*grades)?"
)
_AV_DEGREE = {"i": "first", "ii": "second", "iii": "third", "1": "first", "2": "second",
              "3": "third"}


def _normalise_spelling(text):
    """Lower-case, repair encoding damage and spell umlauts as ae/oe/ue."""
    text = unicodedata.normalize("NFC", text).lower()
    for pattern, repl in _MOJIBAKE:
        text = pattern.sub(repl, text)
    text = text.translate(_FOLD)
    # Any other accent (é, ó, ...) is dropped; the reports are plain ASCII otherwise.
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _check_text(text, what="report"):
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a string, got {type(text).__name__} ({text!r}). Replace "
            "missing reports (NaN/None) by '' first, e.g. df['report'].fillna('')."
        )


def clean_ptbxl_report(text):
    """Lower-case a PTB-XL report and drop what is not about the ECG.

    See the module docstring for what is dropped and why.

    Parameters
    ----------
    text : str
        One report, as in the ``report`` column of ``ptbxl_database.csv``.

    Returns
    -------
    cleaned : str
        The report in lower case, umlauts spelled ``ae``/``oe``/``ue``, without the
        machine's version stamp and status, label edits, dates, and extra whitespace.

    Examples
    --------
    >>> from sklearn_ecg.reports import clean_ptbxl_report
    >>> clean_ptbxl_report("Sinusrhythmus Linkstyp 4.46   unbestÄtigter bericht "
    ...                    "Edit: NORM 100, (NORM 100)")
    'sinusrhythmus linkstyp'
    """
    _check_text(text)
    text = _normalise_spelling(text)
    text = _CUT_FROM.sub(" ", text)
    # The status "unbestätigter bericht" follows the version stamp, often truncated
    # ("unbestae", "unbestaetigter ber"); a bare "unbest" elsewhere means "undetermined".
    match = _VERSION.search(text)
    if match is not None:
        rest = " ".join(text[match.end():].split())
        if _TRAILER.startswith(rest):
            text = text[: match.start()]
    text = text.replace(_TRAILER, " ")
    text = _VERSION.sub(" ", text)
    text = _LONG_NUMBER.sub(" ", text)
    return " ".join(text.split())


def _build_pattern():
    keys = {}
    for german, english in PHRASES.items():
        keys[_normalise_spelling(german)] = english
    alternatives = [re.escape(k) for k in sorted(keys, key=len, reverse=True)]
    stems = {_normalise_spelling(s): e for s, e in _ADJECTIVE_STEMS.items()}
    stem_group = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
    pattern = re.compile(
        r"(?<![a-z0-9])(?:(?P<phrase>" + "|".join(alternatives) + r")"
        r"|(?P<stem>" + stem_group + r")" + _ADJECTIVE_ENDINGS + r"|(?P<word>[a-z]+))"
        r"(?![a-z0-9])"
    )
    return pattern, keys, stems


_PATTERN, _PHRASE_MAP, _STEM_MAP = _build_pattern()
# Pieces a German compound may be split into (only words of the table, so English
# words are never split).
_WORDS = {k: v for k, v in _PHRASE_MAP.items() if re.fullmatch(r"[a-z]{4,}", k)}


def _translate_compound(word):
    """Translate an unknown compound such as "vorderwandischaemie" from its parts."""
    for cut in range(len(word) - 4, 3, -1):
        head, tail = word[:cut], word[cut:]
        # German compounds join with a linking "s" ("leitungs-stoerung").
        for left in (head, head[:-1] if head.endswith("s") else None):
            if left and left in _WORDS and tail in _WORDS:
                return f"{_WORDS[left]} {_WORDS[tail]}"
    return word


def _replace(match):
    if match.group("phrase") is not None:
        return _PHRASE_MAP[match.group("phrase")]
    if match.group("stem") is not None:
        return _STEM_MAP[match.group("stem")]
    return _translate_compound(match.group("word"))


def _replace_av_block(match):
    degree = _AV_DEGREE[match.group(1) or match.group(2)]
    return f"{degree} degree av block "


def translate_ptbxl_report(text):
    """Clean a PTB-XL report and translate its German or Swedish phrases to English.

    The report is cleaned with :func:`clean_ptbxl_report`, then every German or
    Swedish ECG phrase of :data:`PHRASES` is replaced by its English equivalent,
    longest phrases first and at word boundaries, in a single pass (an English
    translation is never translated again). Inflected adjectives ("inferiorer",
    "anteroseptalen") are matched by their stem, and unknown German compounds made of
    two known words ("vorderwandischaemie") are translated piece by piece. English
    text and unknown words are left as they are.

    Parameters
    ----------
    text : str
        One report.

    Returns
    -------
    translated : str
        The cleaned report, in English as far as the phrase table reaches.

    Examples
    --------
    >>> from sklearn_ecg.reports import translate_ptbxl_report
    >>> translate_ptbxl_report("sinusrhythmus normales ekg")
    'sinus rhythm normal ecg'
    >>> translate_ptbxl_report("vorhofflimmern ueberdrehter linkstyp qrs(t) abnorm    "
    ...                        "inferiorer infarkt     wahrscheinlich alt "
    ...                        "4.46       unbestÄtigter bericht")
    'atrial fibrillation left axis deviation abnormal qrs(t) inferior infarction probably old'
    >>> translate_ptbxl_report("sinus rhythm. left axis deviation.")
    'sinus rhythm. left axis deviation.'
    """
    text = _AV_BLOCK.sub(_replace_av_block, clean_ptbxl_report(text))
    return " ".join(_PATTERN.sub(_replace, text).split())


def translate_reports(texts):
    """Clean and translate many PTB-XL reports (see :func:`translate_ptbxl_report`).

    Each distinct report is translated once.

    Parameters
    ----------
    texts : iterable of str
        Reports, e.g. the ``report`` column of ``ptbxl_database.csv``.

    Returns
    -------
    translated : list of str
        One translated report per input report, in the same order.

    Examples
    --------
    >>> from sklearn_ecg.reports import translate_reports
    >>> translate_reports(["linksschenkelblock", "sinus rhythm. normal ecg."])
    ['left bundle branch block', 'sinus rhythm. normal ecg.']
    """
    if isinstance(texts, str):
        raise TypeError(
            "texts must be a list of reports, got a single string; use "
            "translate_ptbxl_report for one report or wrap it in a list."
        )
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise ValueError(f"texts must be one-dimensional, got shape {texts.shape}.")
    texts = list(texts)
    done = {}
    out = []
    for i, text in enumerate(texts):
        _check_text(text, what=f"texts[{i}]")
        if text not in done:
            done[text] = translate_ptbxl_report(text)
        out.append(done[text])
    return out


_LEAD_NAMES = {"i", "ii", "iii", "avr", "avl", "avf"}


def translation_coverage(texts, english_words):
    """How much of the non-English vocabulary of reports the phrase table translates.

    Every word of the cleaned reports is counted once per occurrence as
    *translated* (part of a phrase, an inflected adjective or a compound of
    :data:`PHRASES`, or of an AV-block statement), *English* (left as it is and
    in ``english_words``), or *untranslated* (left as it is and not in
    ``english_words``): what reaches an English language model as noise.
    Coverage is the translated share of the words that are not English.
    Numbers and lead names (``v1``, ``avf``) are not words here. German words
    that are also English words (``"in"``, ``"normal"``) count as English.

    Parameters
    ----------
    texts : iterable of str
        Reports, e.g. the ``report`` column of ``ptbxl_database.csv``.
    english_words : iterable of str
        The English vocabulary, in lower case (e.g. the whole-word tokens of the
        language model's vocabulary plus the English side of the phrase table).

    Returns
    -------
    coverage : dict
        ``token_coverage`` and ``type_coverage`` (floats in [0, 1]),
        ``translated_tokens``, ``untranslated_tokens``, ``english_tokens``,
        ``translated_types``, ``untranslated_types`` (ints) and
        ``untranslated`` (a :class:`collections.Counter` of the untranslated
        words).

    Examples
    --------
    >>> from sklearn_ecg.reports import translation_coverage
    >>> out = translation_coverage(["sinusrhythmus normal ekg", "sinus rhythm. qwertz"],
    ...                            english_words={"sinus", "rhythm", "normal"})
    >>> out["translated_tokens"], out["untranslated_tokens"], out["english_tokens"]
    (2, 1, 3)
    >>> round(out["token_coverage"], 3), dict(out["untranslated"])
    (0.667, {'qwertz': 1})
    """
    from collections import Counter

    if isinstance(texts, str):
        raise TypeError("texts must be a list of reports, got a single string.")
    if isinstance(english_words, str):
        raise TypeError("english_words must be a collection of words, got a single string.")
    english = {str(w).lower() for w in english_words}
    translated, untranslated, n_english = Counter(), Counter(), 0
    for i, text in enumerate(texts):
        _check_text(text, what=f"texts[{i}]")
        cleaned = clean_ptbxl_report(text)
        for match in _AV_BLOCK.finditer(cleaned):
            translated.update(re.findall(r"[a-z]+", match.group(0)))
        cleaned = _AV_BLOCK.sub(" ", cleaned)
        for match in _PATTERN.finditer(cleaned):
            word = match.group("word")
            if word in _LEAD_NAMES:
                continue
            if word is not None and _translate_compound(word) == word:
                if word in english:
                    n_english += 1
                else:
                    untranslated[word] += 1
            else:
                translated.update(re.findall(r"[a-z]+", match.group(0)))
    n_translated, n_left = sum(translated.values()), sum(untranslated.values())
    types_translated = set(translated) - english
    types_left = set(untranslated)
    return {
        "token_coverage": n_translated / max(n_translated + n_left, 1),
        "type_coverage": len(types_translated) / max(len(types_translated | types_left), 1),
        "translated_tokens": n_translated,
        "untranslated_tokens": n_left,
        "english_tokens": n_english,
        "translated_types": len(types_translated),
        "untranslated_types": len(types_left),
        "untranslated": untranslated,
    }
