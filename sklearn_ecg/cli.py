"""The ``sklearn-ecg`` command: pretrain, embed, zero-shot and info on folders of records.

Records are read with the package's loaders (a PTB-XL folder in the official
layout, or any folder of WFDB records, CinC Challenge ``.mat``/``.hea``
pairs included) and brought to a model through its input contract
(:meth:`~sklearn_ecg.LCDPretrainer.input_pipeline`): the same steps a Python
user runs, so the command and the API give the same figures. A mistake in
the input (a missing folder, no records, an unknown model, leads the model
lacks) ends with a one-line error and exit status 1; usage errors exit
with status 2, as argparse does.

Run ``sklearn-ecg --help`` or ``python -m sklearn_ecg.cli --help``.
"""

import argparse
import ast
import contextlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from . import pretrained
from ._class_descriptions import check_class_descriptions
from ._persistence import PretrainedModelError, load_pretrained
from .datasets import load_ptbxl, load_wfdb
from .datasets._io import read_header
from .datasets._wfdb import record_paths
from .foundation import foundation_models, load_foundation_model
from .foundation._table import classes_of
from .foundation._table import entry as foundation_entry
from .foundation._table import input_contract as foundation_contract
from .input_contract import contract_of, lead_subset_note
from .lcd import LCDPretrainer
from .leadwise import LeadwiseEmbedder
from .mets import METSPretrainer
from .preprocessing import SelectLeads
from .zero_shot import ZeroShotECGClassifier

PROG = "sklearn-ecg"

EXAMPLES = """\
examples:
  sklearn-ecg info lcd-ptbxl
  sklearn-ecg embed lcd-ptbxl records/ --out embeddings.npy
  sklearn-ecg embed mets-ptbxl records/ --out embeddings.parquet --device cuda
  sklearn-ecg embed lcd-ptbxl holter/ --leads MLII V5 --units uV --out emb.csv --leadwise
  sklearn-ecg embed ecgfounder-12lead records/ --checkpoint 12_lead_ECGFounder.pth --out emb.npy
  sklearn-ecg zero-shot mets-ptbxl records/ --classes "atrial fibrillation" "sinus rhythm" \\
      --out scores.csv
  sklearn-ecg pretrain lcd ptbxl/ --out my-lcd --max-epochs 50 --leads II III V1 V2 V3 V4 V5 V6
  sklearn-ecg pretrain mets records/ --reports reports.csv --out my-mets
"""

# Records embedded per step of the progress bar.
_CHUNK = 256


class UserError(Exception):
    """A mistake in the command's input, reported in one line."""


# -- reading records -------------------------------------------------------------


def _is_ptbxl(folder):
    return (folder / "ptbxl_database.csv").is_file()


def _readable_records(paths, names, on_error, skipped):
    """The records whose header can be read; a corrupt one is refused or, with ``on_error="skip"``, left out.

    Left-out records are appended to ``skipped`` as ``(record, reason)``.
    """
    keep_paths, keep_names = [], []
    for path, name in zip(paths, names):
        fields = _record_line(path)
        if len(fields) == 2 and fields[1].isdigit():
            # A record line without rate: the rate check below asks for --fs.
            keep_paths.append(path)
            keep_names.append(name)
            continue
        try:
            read_header(path)
        except (ValueError, FileNotFoundError) as exc:
            if on_error != "skip":
                raise UserError(
                    f"record {name!r}: {exc}. Repair or remove it, or pass --on-error skip to "
                    "leave out the records that cannot be read") from None
            skipped.append((name, " ".join(str(exc).split())))
            continue
        keep_paths.append(path)
        keep_names.append(name)
    return keep_paths, keep_names


def _record_line(path):
    """The fields of the first line of the header of the record at ``path`` (without comments)."""
    text = path.with_name(path.name + ".hea").read_text(encoding="latin-1")
    return next((ln.split("#")[0].split() for ln in text.splitlines()
                 if ln.split("#")[0].strip()), [])


def _header_rates(paths):
    """The sampling rate stated by each header's record line, None where it states none."""
    rates = []
    for path in paths:
        line = _record_line(path)
        rates.append(float(line[2].split("/")[0].split("(")[0]) if len(line) > 2 else None)
    return rates


def load_folder(folder, *, fs=None, lead_names=None, length_at=None, ptbxl_rate=100,
                folds=None, length=None, verbose=1, on_error="raise", skipped=None):
    """Records of ``folder``: ``(X, record names, rate in Hz, lead names, PTB-XL reports or None)``.

    ``fs`` states the rate of records whose headers give none (WFDB's
    default, 250 Hz, is then a guess the command refuses to make).
    ``lead_names`` renames the records' leads, in order. ``length_at`` is
    ``(samples, rate)``: records of different lengths are cropped or padded
    to that duration; ``length`` crops or pads every record to that many
    samples as it is read. A WFDB record whose header cannot be read is
    refused, or with ``on_error="skip"`` left out and appended to the list
    ``skipped`` as ``(record, reason)``.
    """

    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of records")
    reports = None
    if _is_ptbxl(folder):
        if fs is not None and fs != ptbxl_rate:
            raise UserError(f"PTB-XL's headers give the rate ({ptbxl_rate} Hz); drop --fs")
        data = load_ptbxl(folder, sampling_rate=ptbxl_rate, folds=folds, verbose=verbose)
        names = [str(i) for i in data.ecg_id]
        reports = list(data.report)
        rate = data.fs
    else:
        try:
            paths, names = record_paths(folder)
        except FileNotFoundError:
            raise UserError(f"{folder}: no WFDB records (.hea files) found") from None
        if not paths:
            raise UserError(f"{folder}: no WFDB records (.hea files) found")
        paths, names = _readable_records(paths, names, on_error,
                                         skipped if skipped is not None else [])
        if not paths:
            raise UserError(f"{folder}: no readable WFDB records (every header is corrupt)")
        stated = _header_rates(paths)
        missing = [n for n, r in zip(names, stated) if r is None]
        if missing and fs is None:
            raise UserError(
                f"the header of record {missing[0]!r} gives no sampling rate: pass --fs RATE")
        known = {r for r in stated if r is not None}
        if fs is not None and known - {float(fs)}:
            raise UserError(
                f"the headers give {', '.join(f'{r:g}' for r in sorted(known))} Hz but --fs is "
                f"{fs:g}; --fs is only for records whose headers give no rate")
        headers_rate = {r if r is not None else 250.0 for r in stated}
        if length_at is not None and len(headers_rate) == 1:

            lengths = {read_header(p).n_samples for p in paths}
            if len(lengths) > 1:
                samples, model_fs = length_at
                rate = float(fs) if fs is not None else headers_rate.pop()
                length = round(samples * rate / model_fs)
        loader_fs = None
        if len(headers_rate) > 1:
            # Records at several rates are resampled as they are read (the
            # loader calls the same code as Resample) to the model's rate.
            if length_at is None:
                raise UserError("the records have different sampling rates; pretrain on one rate")
            loader_fs, length = length_at[1], length_at[0]
        leads = None
        try:
            data = load_wfdb(paths, fs=loader_fs, length=length, leads=leads, verbose=verbose)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        rate = float(fs) if fs is not None and loader_fs is None else data.fs
    X = data.X
    names_out = list(data.lead_names)
    if lead_names is not None:
        if len(lead_names) != X.shape[1]:
            raise UserError(
                f"--leads names {len(lead_names)} lead(s) but the records have {X.shape[1]} "
                f"({', '.join(names_out)})")
        names_out = list(lead_names)
    if len(X) == 0:
        raise UserError(f"{folder}: no records")
    return X, list(names), float(rate), names_out, reports


# -- the model --------------------------------------------------------------------


def load_model(name, device, checkpoint=None, text_model=None):

    if name in foundation_models():
        if checkpoint is None:
            raise UserError(
                f"{name} is a foundation model whose weights are not shipped: pass --checkpoint "
                f"FILE (or a Hugging Face Hub id); get them from {foundation_models()[name]['weights']}")
        params = {}
        if text_model is not None:
            if "estimator" not in foundation_models()[name]:
                raise UserError(f"--text-model is for the models with a text side (MERL), not {name}")
            params["text_model"] = text_model
        return load_foundation_model(name, checkpoint, device=device, **params)
    if text_model is not None:
        raise UserError("--text-model is for the foundation models with a text side (MERL)")
    if checkpoint is not None:
        raise UserError(f"--checkpoint is for the foundation models ({', '.join(foundation_models())})")
    path = Path(name)
    if not path.is_dir() and name not in pretrained.list_pretrained() and "/" not in name:
        raise UserError(
            f"unknown model {name!r}: not a folder and not a shipped model "
            f"({', '.join(pretrained.list_pretrained())})")
    return load_pretrained(name, device=device)


def _prepare(model, X, rate, lead_names, units):
    try:
        return model.input_pipeline(fs=rate, lead_names=lead_names, units=units)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _in_chunks(n, desc, verbose):
    from tqdm.auto import tqdm

    bar = tqdm(total=n, desc=desc, unit="record", file=sys.stderr, disable=not verbose)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        yield start, stop
        bar.update(stop - start)
    bar.close()


def embed_records(model, prep, X, *, verbose=1, encode=None):
    """Embed ``X`` through ``prep`` then ``encode`` (``model.transform``), a chunk at a time.

    The checks of the records (amplitude, flat leads) warn on the first
    chunk only.
    """
    encode = encode or model.transform
    out = None
    for start, stop in _in_chunks(len(X), "Embedding", verbose):
        with warnings.catch_warnings():
            if start:
                warnings.simplefilter("ignore", UserWarning)
            emb = encode(prep.transform(X[start:stop]))
        if out is None:
            out = np.empty((len(X), emb.shape[1]), dtype=emb.dtype)
        out[start:stop] = emb
    return out


# -- writing ---------------------------------------------------------------------


def write_table(path, records, columns, values):
    import pandas as pd

    frame = pd.DataFrame(values, columns=columns)
    frame.insert(0, "record", records)
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            frame.to_parquet(path, index=False)
        except ImportError as exc:
            raise UserError(f"writing Parquet needs pyarrow ({exc}); use .csv or .npy") from None
    else:
        frame.to_csv(path, index=False)


def names_path(out):
    out = Path(out)
    return out.with_name(out.stem + ".names.txt")


def write_embeddings(out, records, columns, emb):
    out = Path(out)
    if out.suffix == ".npy":
        np.save(out, emb)
        names_path(out).write_text("\n".join(records) + "\n", encoding="utf-8")
        return [out, names_path(out)]
    if out.suffix in (".csv", ".parquet"):
        write_table(out, records, columns, emb)
        return [out]
    raise UserError(f"--out {out}: use a .npy, .csv or .parquet file")


# -- commands --------------------------------------------------------------------


def _foundation_info(name):
    spec = foundation_entry(name)
    contract = foundation_contract(spec, spec["input"]["lead_names"])
    steps = ", ".join(f"{cls}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
                      for cls, params in spec["preprocessing"])
    head = spec.get("head")
    lines = [
        f"model: {name}",
        f"foundation model: {spec['summary']}",
        "input contract:",
        *("  " + line for line in contract.describe().splitlines()),
    ]
    if spec["input"].get("any_single_lead"):
        lines.append("  any single lead, chosen by name (lead_names=...)")
    lines += [
        f"preprocessing inside the model: {steps}",
        f"embedding: {spec['embedding']['dim']} features ({spec['embedding']['what']})",
    ]
    if head:
        lines.append(f"classes: {len(classes_of(spec))} statements (FoundationClassifier)")
    lines += [
        f"licence of the code: {spec['licence']['code']}",
        f"licence of the weights: {spec['licence']['weights']}",
        f"weights: {spec['weights']} (pass them with --checkpoint)",
        f"reference: {spec['reference']}",
    ]
    print("\n".join(lines))
    return 0


def cmd_info(args):

    if args.model in foundation_models():
        return _foundation_info(args.model)
    model = load_model(args.model, "cpu")
    contract = contract_of(model)
    lines = [
        f"model: {args.model}",
        f"class: {type(model).__name__}",
        f"epochs trained: {len(model.history_)}",
        "input contract:",
        *("  " + line for line in contract.describe().splitlines()),
    ]
    if getattr(model, "classes_", None) is not None:
        lines.append(f"classes: {', '.join(map(str, model.classes_))}")
    folder = _model_folder(args.model)
    card = folder / "README.md" if folder is not None else None
    if card is not None and card.is_file():
        text = card.read_text(encoding="utf-8")
        if text.startswith("---"):
            text = text.split("---", 2)[-1]
        lines += ["", "model card:", text.strip()]
    print("\n".join(lines))
    return 0


def _model_folder(name):

    path = Path(name)
    if path.is_dir():
        return path
    if name in pretrained.list_pretrained():
        return pretrained.pretrained_path(name)
    return None


_OUT_SUFFIXES = (".npy", ".csv", ".parquet")


def _skipped_path(out):
    return Path(out).with_name(Path(out).name + ".skipped.csv")


def _check_out(path, overwrite=False, skipping=False):
    """The ``--out`` file: a .npy, .csv or .parquet in an existing folder, not replaced without ``overwrite``.

    The files written beside it (``FILE.names.txt``, and ``FILE.skipped.csv``
    when ``skipping``) follow the same rule.
    """
    path = Path(path)
    if path.suffix not in _OUT_SUFFIXES:
        raise UserError(f"--out {path}: use a .npy, .csv or .parquet file")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: folder {path.parent} does not exist")
    written = [path, names_path(path)] if path.suffix == ".npy" else [path]
    if skipping:
        written.append(_skipped_path(path))
    existing = [p for p in written if p.exists() or p.is_symlink()]
    if existing and not overwrite:
        raise UserError(f"--out {path}: {existing[0]} exists; pass --overwrite to replace it")
    if any(p.is_dir() for p in existing):
        raise UserError(f"--out {path}: {existing[0]} is a folder")
    return path


def _report_skipped(out, skipped):
    """List the records left out by ``--on-error skip`` on stderr and, for an ``--out`` file, in ``OUT.skipped.csv``."""
    if not skipped:
        return
    import pandas as pd

    for record, reason in skipped:
        print(f"{PROG}: skipped record {record}: {reason}", file=sys.stderr)
    if out is not None:
        listing = _skipped_path(out)
        pd.DataFrame(skipped, columns=["record", "reason"]).to_csv(listing, index=False)
        print(f"wrote {listing}", file=sys.stderr)


def cmd_embed(args):
    out = _check_out(args.out, args.overwrite, args.on_error == "skip")
    model = load_model(args.model, args.device, args.checkpoint)
    contract = model.input_contract_
    length_at = (contract.n_timepoints, contract.fs) if contract.fs and contract.n_timepoints else None
    skipped = []
    X, records, rate, lead_names, _ = load_folder(
        args.folder, fs=args.fs, lead_names=args.leads, length_at=length_at,
        verbose=int(not args.quiet), on_error=args.on_error, skipped=skipped)
    encode, columns = None, None
    if args.leadwise:

        if not isinstance(model, LCDPretrainer):
            raise UserError(f"--leadwise needs an LCD model; {args.model} is a {type(model).__name__}")
        # Every lead of the records, through LCD's single-lead encoder: only
        # the rate, unit and length are brought to the model.
        prep = _prepare(model, X, rate, None, args.units)
        embedder = LeadwiseEmbedder(model, lead_names=lead_names)
        try:
            embedder.fit(prep.transform(X[:1]))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        encode, columns = embedder.transform, embedder.get_feature_names_out()
    else:
        prep = _prepare(model, X, rate, lead_names, args.units)
        columns = model.get_feature_names_out()
    emb = embed_records(model, prep, X, verbose=not args.quiet, encode=encode)
    columns = [str(c) for c in columns]
    for path in write_embeddings(out, records, columns, emb):
        print(f"wrote {path}", file=sys.stderr)
    _report_skipped(out, skipped)
    return 0


def _unique_keys(pairs):
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise UserError(f"class(es) {', '.join(map(repr, dupes))} appear more than once")
    return dict(pairs)


def _class_descriptions(args):
    """The class names and their descriptions, checked as ``ZeroShotECGClassifier`` checks them."""
    if args.classes:
        classes = list(args.classes)
        try:
            _unique_keys([(c, c) for c in classes])
        except UserError as exc:
            raise UserError(f"--classes: {exc}") from None
        try:
            check_class_descriptions({c: c for c in classes}, "--classes")
        except ValueError as exc:
            raise UserError(str(exc)) from None
        return classes, None
    path = Path(args.descriptions)
    if not path.is_file():
        raise UserError(f"--descriptions {path}: no such file")
    if path.suffix == ".json":
        try:
            table = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
        except ValueError as exc:
            raise UserError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(table, dict):
            raise UserError(f"{path}: a JSON object of class -> description(s) is expected")
    else:
        import pandas as pd

        import csv

        if not path.read_text(encoding="utf-8", errors="replace").strip():
            raise UserError(f"{path} is empty; write a class,description header and one row "
                            "per description")
        try:
            frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
        except (ValueError, csv.Error) as exc:
            raise UserError(f"{path}: not a CSV/TSV table of class,description ({exc})") from None
        if list(frame.columns[:2]) != ["class", "description"]:
            raise UserError(f"{path}: the columns must be 'class' and 'description'")
        table = {}
        for label, text in zip(frame["class"], frame["description"]):
            table.setdefault("" if pd.isna(label) else label, []).append(
                "" if pd.isna(text) else text)
    try:
        check_class_descriptions(table, str(path))
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    return list(table), table


def cmd_zero_shot(args):
    out = _check_out(args.out, args.overwrite, args.on_error == "skip")
    classes, table = _class_descriptions(args)
    model = load_model(args.model, args.device, args.checkpoint, args.text_model)
    if not hasattr(model, "encode_text"):
        raise UserError(f"{args.model} is a {type(model).__name__}; zero-shot needs a METS or MERL model")
    contract = model.input_contract_
    length_at = (contract.n_timepoints, contract.fs) if contract.fs and contract.n_timepoints else None
    skipped = []
    X, records, rate, lead_names, _ = load_folder(
        args.folder, fs=args.fs, lead_names=args.leads, length_at=length_at,
        verbose=int(not args.quiet), on_error=args.on_error, skipped=skipped)
    prep = _prepare(model, X, rate, lead_names, args.units)
    layout = dict(prep.steps).get("leadlayout")
    if layout is not None:
        # Zero-filled leads change the scores: say so once, with what it costs.
        print(lead_subset_note(model, layout.leads, PROG), file=sys.stderr)
    clf = zero_shot_classifier(model, classes, table, prep.transform(X[:1]),
                               scoring="relative" if args.relative else "similarity",
                               template=args.template)
    scores = embed_records(model, prep, X, verbose=not args.quiet, encode=clf.decision_function)
    for path in write_embeddings(out, records, [str(c) for c in classes], scores):
        print(f"wrote {path}", file=sys.stderr)
    _report_skipped(out, skipped)
    return 0


def zero_shot_classifier(model, classes, table, X_one, scoring="similarity", template=None):
    """A ZeroShotECGClassifier with the given classes, in their order (scores are cosines)."""

    kwargs = {} if table is None else {"class_descriptions": table}
    if template:
        kwargs["template"] = list(template)
    if table is None:
        kwargs["class_descriptions"] = {c: c for c in classes}
    indicator = np.zeros((len(X_one), len(classes)), dtype=int)
    return ZeroShotECGClassifier(model, class_names=classes, scoring=scoring,
                                 **kwargs).fit(X_one, indicator)


def _read_reports(path, records):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"--reports {path}: no such file")
    frame = pd.read_csv(path, dtype=str)
    if list(frame.columns[:2]) != ["record", "report"]:
        raise UserError(f"{path}: the columns must be 'record' and 'report'")
    table = dict(zip(frame["record"], frame["report"]))
    missing = [r for r in records if r not in table]
    if missing:
        raise UserError(f"{path} has no report for {len(missing)} record(s), e.g. {missing[0]!r}")
    return [table[r] for r in records]


def _parse_param(text):
    if "=" not in text:
        raise UserError(f"--param {text!r}: write NAME=VALUE")
    key, value = text.split("=", 1)
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a plain string
    return key.strip(), value


def cmd_pretrain(args):

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"--out {out} is not empty; pass --overwrite to replace it")
    skipped = []
    X, records, rate, lead_names, reports = load_folder(
        args.folder, fs=args.fs, folds=args.folds, length=args.length,
        verbose=int(not args.quiet), on_error=args.on_error, skipped=skipped)
    _report_skipped(None, skipped)
    if args.leads is not None:

        try:
            X = SelectLeads(args.leads, lead_names=lead_names).fit_transform(X)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        lead_names = list(args.leads)
    cls = LCDPretrainer if args.method == "lcd" else METSPretrainer
    params = dict(max_epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr,
                  random_state=args.random_state, device=args.device,
                  verbose=int(not args.quiet), fs=rate, lead_names=lead_names)
    params = {k: v for k, v in params.items() if v is not None}
    extra = [_parse_param(p) for p in args.param or []]
    keys = [k for k, _ in extra]
    for key in keys:
        if keys.count(key) > 1:
            raise UserError(f"--param {key} is given more than once; give it once")
        if key in params:
            option = {"fs": "--fs (or the headers)", "lead_names": "--leads (or the headers)",
                      "verbose": "-q", "random_state": "--random-state",
                      "max_epochs": "--max-epochs", "batch_size": "--batch-size"}.get(
                          key, f"--{key.replace('_', '-')}")
            raise UserError(f"--param {key}={dict(extra)[key]!r} conflicts with {option}, which "
                            f"sets {key}={params[key]!r}; set it in one place")
    params.update(extra)
    try:
        est = cls(**params)
    except TypeError as exc:
        raise UserError(f"{cls.__name__}: {exc}") from None
    fit_kwargs = {}
    if args.method == "mets":
        if args.reports is not None:
            reports = _read_reports(args.reports, records)
        if reports is None:
            raise UserError("METS learns from reports: pass --reports CSV (columns record,report)")
        fit_kwargs["reports"] = reports
    est.fit(X, **fit_kwargs)
    est.save_pretrained(out, overwrite=args.overwrite)
    print(f"wrote {out}", file=sys.stderr)
    return 0


# -- the parser -------------------------------------------------------------------


def _add_input_options(sub):
    sub.add_argument("--fs", type=float,
                     help="sampling rate in Hz, only for records whose headers give none")
    sub.add_argument("--leads", nargs="+", metavar="NAME",
                     help="names of the records' leads in order (default: from the headers)")
    sub.add_argument("--units", default="mV", choices=["V", "mV", "uV", "nV"],
                     help="unit of the samples as read (default: mV, which WFDB headers "
                          "are converted to)")


def _add_on_error(sub):
    sub.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                     help="a record whose header cannot be read stops the command (raise, the "
                          "default) or is left out (skip: listed with the reason on stderr "
                          "and, for an --out file, in OUT.skipped.csv)")


def _add_overwrite(sub):
    sub.add_argument("--overwrite", action="store_true", help="replace an existing --out file")


def _add_common(sub, device=True):
    if device:
        sub.add_argument("--device", default="auto",
                         help="cpu, cuda, cuda:N or auto (default: auto)")
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Self-supervised ECG models on folders of records.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = subs.add_parser("pretrain", help="pretrain LCD or METS on a folder of records",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method", choices=["lcd", "mets"])
    p.add_argument("folder", help="a PTB-XL folder (official layout) or a folder of WFDB records")
    p.add_argument("--out", required=True, help="folder to write the model to")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--leads", nargs="+", metavar="NAME", help="leads to pretrain on, in order")
    p.add_argument("--fs", type=float,
                   help="sampling rate in Hz, only for records whose headers give none")
    p.add_argument("--folds", nargs="+", type=int, help="PTB-XL folds to use (default: all)")
    p.add_argument("--length", type=int,
                   help="crop (keeping the start) or zero-pad WFDB records to this many samples")
    p.add_argument("--reports", help="CSV of record,report (METS; PTB-XL's table otherwise)")
    _add_on_error(p)
    p.add_argument("--max-epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--random-state", type=int)
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="any other estimator parameter, e.g. --param width=0.25 (repeatable)")
    _add_common(p)
    p.set_defaults(func=cmd_pretrain)

    p = subs.add_parser("embed", help="embed a folder of records with a model",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a saved model folder, a shipped name (lcd-ptbxl, mets-ptbxl) "
                                 "or a foundation model (ecgfounder-12lead, ... with --checkpoint)")
    p.add_argument("folder", help="a PTB-XL folder or a folder of WFDB records")
    p.add_argument("--out", required=True,
                   help="FILE.npy (with FILE.names.txt of record names), FILE.csv or FILE.parquet")
    _add_overwrite(p)
    _add_on_error(p)
    p.add_argument("--checkpoint", metavar="FILE",
                   help="foundation models: the weights file (or a Hugging Face Hub id, "
                        "downloaded with huggingface_hub)")
    _add_input_options(p)
    p.add_argument("--leadwise", action="store_true",
                   help="LCD models: embed every lead of the records with the single-lead "
                        "encoder, whatever leads the model was pretrained on")
    _add_common(p)
    p.set_defaults(func=cmd_embed)

    p = subs.add_parser("zero-shot", help="score records against classes named in words (METS, MERL)",
                        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a METS model folder, mets-ptbxl, or merl-resnet18 / merl-vit-tiny "
                                 "with --checkpoint")
    p.add_argument("folder", help="a PTB-XL folder or a folder of WFDB records")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--classes", nargs="+", metavar="NAME", help="class names, used as descriptions")
    group.add_argument("--descriptions",
                       help="CSV/TSV with columns class,description (several rows per class "
                            "allowed) or a JSON object class -> description(s)")
    p.add_argument("--out", required=True,
                   help="cosine scores, one column per class: FILE.csv, FILE.parquet or FILE.npy "
                        "(with FILE.names.txt of record names)")
    _add_overwrite(p)
    _add_on_error(p)
    p.add_argument("--relative", action="store_true",
                   help="each score minus the record's mean over the classes "
                        "(ZeroShotECGClassifier(scoring='relative')), for classes such as "
                        "'normal' that mean the absence of the others")
    p.add_argument("--template", action="append", metavar="TEMPLATE",
                   help="prompt template, {} standing for a description (repeatable; default: "
                        "the package's two METS templates); MERL scores the description alone: "
                        "--template '{}'")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="MERL: its *_ckpt.pth (the whole model, with the text encoder)")
    p.add_argument("--text-model", metavar="NAME_OR_FOLDER",
                   help="MERL: the BERT's configuration and tokenizer, a folder or a Hugging Face "
                        "name in the local cache (default ncbi/MedCPT-Query-Encoder)")
    _add_input_options(p)
    _add_common(p)
    p.set_defaults(func=cmd_zero_shot)

    p = subs.add_parser("info", help="what a model was trained on: its input contract and card")
    p.add_argument("model", help="a saved model folder, a shipped name or a foundation model")
    p.set_defaults(func=cmd_info)
    return parser


@contextlib.contextmanager
def _one_line_warnings():
    """Show warnings as ``sklearn-ecg: warning: ...`` lines while the command runs."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def main(argv=None):
    """Run the command line; returns the exit status."""

    args = build_parser().parse_args(argv)
    try:
        with _one_line_warnings():
            return args.func(args)
    except (UserError, PretrainedModelError, FileNotFoundError, NotADirectoryError,
            FileExistsError, ValueError, ImportError) as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): nothing left to say.
        sys.stderr.close()
        return 141


if __name__ == "__main__":
    sys.exit(main())
