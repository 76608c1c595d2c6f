"""Reports as sentences: the text unit of METS's sentence-level training.

A machine report strings several findings together ("atrial fibrillation.
left axis deviation. non-specific st-t wave changes."); embedded whole, the
rhythm finding is one phrase among many. Split into sentences, every finding
can be the text of a training step on its own.
"""

import re

import numpy as np

# A sentence ends at ".", "!", "?" or ";" followed by white space or the end,
# so that "v2,3" or "0.45 s" do not end one.
_BOUNDARY = re.compile(r"[.!?;]+(?=\s|$)")
_ONLY_MARKS = re.compile(r"^[\W_]*$")


def split_report(text):
    """The sentences of one report, without their final marks, in order.

    Repeated sentences are kept once; a report without sentence marks is one
    sentence; pieces without a letter or digit (a lone ``"!"``) are dropped.

    Parameters
    ----------
    text : str
        One (translated) report.

    Returns
    -------
    sentences : list of str
        At least one sentence: a report with nothing but marks is kept whole
        (stripped), so that every record keeps a text.

    Examples
    --------
    >>> from sklearn_ecg._report_sentences import split_report
    >>> split_report("atrial fibrillation. st depression in v5,6. t waves are low.")
    ['atrial fibrillation', 'st depression in v5,6', 't waves are low']
    >>> split_report("sinus rhythm normal ecg")
    ['sinus rhythm normal ecg']
    """
    if not isinstance(text, str):
        raise TypeError(f"a report must be a str, got {type(text).__name__} ({text!r}).")
    pieces = [" ".join(p.split()) for p in _BOUNDARY.split(text)]
    sentences = []
    for piece in pieces:
        if piece and not _ONLY_MARKS.match(piece) and piece not in sentences:
            sentences.append(piece)
    return sentences or [" ".join(text.split())]


def sentence_table(reports, template="{report}"):
    """Distinct sentences of many reports and, per report, the rows of its own.

    Parameters
    ----------
    reports : sequence of str
        One report per record.
    template : str, default="{report}"
        Applied to every sentence (``{report}`` is the sentence).

    Returns
    -------
    texts : list of str
        The distinct templated sentences, in order of first appearance.
    index : ndarray of int64, shape (n_reports, max_sentences)
        Row ``i`` lists the positions in ``texts`` of report ``i``'s
        sentences, padded with -1.
    counts : ndarray of int64, shape (n_reports,)
        Sentences of each report (at least 1).

    Examples
    --------
    >>> from sklearn_ecg._report_sentences import sentence_table
    >>> texts, index, counts = sentence_table(["a. b.", "b. c", "a"])
    >>> texts
    ['a', 'b', 'c']
    >>> index.tolist(), counts.tolist()
    ([[0, 1], [1, 2], [0, -1]], [2, 2, 1])
    """
    position = {}
    per_report = []
    for report in reports:
        rows = []
        for sentence in split_report(report):
            text = template.format(report=sentence)
            rows.append(position.setdefault(text, len(position)))
        per_report.append(list(dict.fromkeys(rows)))
    counts = np.array([len(r) for r in per_report], dtype=np.int64)
    index = np.full((len(per_report), int(counts.max(initial=1))), -1, dtype=np.int64)
    for i, rows in enumerate(per_report):
        index[i, : len(rows)] = rows
    return list(position), index, counts
