"""Reproduce the pretrained models shipped in ``sklearn_ecg/pretrained/``.

Both are pretrained on the 2,331 PTB-XL records of folds 1-8 of the PTB-XL
folders given (records 1-500 and 1,978 more records of folds 1-8, at 100 Hz);
folds 9-10 are never seen, so they stay the test of every published figure::

    python benchmarks/make_pretrained.py lcd --ptbxl path/to/ptbxl500 path/to/ptbxl-more
    python benchmarks/make_pretrained.py mets --ptbxl path/to/ptbxl500 path/to/ptbxl-more

``lcd-ptbxl``: :class:`~sklearn_ecg.LCDPretrainer` on leads II, III, V1-V6,
10 s at 100 Hz, batch 64, 100 epochs, seed 0, other settings the defaults
(float32 weights). ``mets-ptbxl``: :class:`~sklearn_ecg.METSPretrainer` on all
12 leads with the reports, initial temperature 0.2, lead masking 0.5, the
ECG-only alignment of each lead-masked record with its full record (weight
0.25), the epochs and the learning-rate schedule chosen on folds 7-8 after pretraining
on folds 1-6 (``benchmarks/bench_mets_statements.py``), seed 0 (float16
weights, to keep the wheel small). A CPU fit is deterministic: on the same kind of CPU and the
same library versions the script writes the same weights. ``--from-joblib``
saves a model fitted earlier with the same settings (e.g. by
``benchmarks/bench_quality.py --save``) instead of training again. The model
card's quality section for ``mets-ptbxl`` is
``--quality benchmarks/mets-ptbxl-card-quality.md``.
"""

import argparse
import json
import time
from pathlib import Path

import joblib
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

import sklearn_ecg
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg.datasets import load_ptbxl
from sklearn_ecg.input_contract import record_contract

LEADS = ["II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]
SHIPPED = Path(sklearn_ecg.__file__).resolve().parent / "pretrained"

SETTINGS = {
    "lcd": dict(name="lcd-ptbxl", leads=LEADS, dtype="float32",
                params=dict(max_epochs=100, batch_size=64, random_state=0)),
    "mets": dict(name="mets-ptbxl", leads=None, dtype="float16", cosine=True,
                 params=dict(max_epochs=20, temperature=0.2, lead_masking=0.5, ecg_alignment=0.25,
                             random_state=0)),
}

COSINE = ", callbacks=[LRScheduler(policy=CosineAnnealingLR, T_max=max_epochs)]"

CARD = """# {name}

{what}

- **Training data**: the 2,331 records of folds 1-8 of PTB-XL v1.0.3
  (records 1-500 and 1,978 more records of folds 1-8),
  100 Hz, 10 s, in mV{leads_text}. No labels were used. Folds 9-10 were never
  seen.
- **Settings**: `{cls}({params})`{schedule}, on the CPU; fit time {seconds:.0f} s on a
  2-core x86-64 CPU.
- **Command**: `python benchmarks/make_pretrained.py {method} --ptbxl <ptbxl500> <ptbxl-more>`,
  where `<ptbxl500>` is a folder of PTB-XL records 1-500 and `<ptbxl-more>` a folder of
  the 1,978 further records of folds 1-8 used here (ecg_id above 500, 100 Hz), both in
  PTB-XL's official layout; every command of this card takes the same two folders.
- **Weights**: {dtype}.
- **Licence**: the weights derive from PTB-XL (Wagner et al., Scientific Data
  7, 154, 2020; PhysioNet, Goldberger et al., Circulation 101(23), 2000),
  licensed CC BY 4.0; keep this attribution when you share them. The code is
  BSD 3-Clause.

{quality}
"""

WHAT = {
    "lcd": ("A generic single-lead 1-D VGG16 encoder (64-d per lead) pretrained by "
            "Lead Correlation and Decorrelation (Liu et al., Applied Soft Computing 2025). "
            "It embeds any lead: `LCDPretrainer.from_pretrained(\"lcd-ptbxl\")` embeds the "
            "8 leads it was trained on, `LeadwiseEmbedder()` any other lead set."),
    "mets": ("A ResNet1d-18 ECG encoder over 12 leads aligned with the frozen "
             "all-MiniLM-L6-v2 text model through the (translated) machine reports "
             "(Li et al., MIDL 2023), for zero-shot classification with "
             "`ZeroShotECGClassifier`."),
}


def contract_section(contract, name):
    """The model card's section on the input the model expects."""
    leads = ", ".join(contract.lead_names)
    return f"""
## Input

What the model was trained on, saved in `config.json` under `"input"` and
printed by `sklearn-ecg info {name}`: {contract.fs:g} Hz, {contract.n_timepoints}
samples ({contract.duration:g} s), leads {leads} in this order, in
{contract.units}, no z-scoring (records are embedded in their units; the
typical robust peak-to-peak amplitude of a training lead is
{contract.amplitude:.2f} {contract.units}). Bring other records to it with
`model.input_pipeline(fs=..., lead_names=[...])` or `sklearn-ecg embed`.
"""


def write_contract(folder, train):
    """Write the contract of the training records into a saved model's folder."""
    config_path = Path(folder) / "config.json"
    config = json.loads(config_path.read_text())

    class _Given:
        fs = train.fs
        lead_names = train.lead_names

    contract = record_contract(_Given, train.X, standardize=config["params"]["standardize"])
    config["params"].update(fs=train.fs, lead_names=list(contract.lead_names))
    config["input"] = contract.to_dict()
    config_path.write_text(json.dumps(config, indent=2, allow_nan=True) + "\n")
    card_path = Path(folder) / "README.md"
    card = card_path.read_text()
    card = card.split("\n## Input\n")[0].rstrip("\n") + "\n"
    name = Path(folder).name
    card_path.write_text(card + contract_section(contract, name))
    return contract


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(SETTINGS))
    parser.add_argument("--ptbxl", nargs="+", required=True)
    parser.add_argument("--from-joblib", help="save this fitted model instead of training")
    parser.add_argument("--quality", help="JSON or Markdown file whose text goes into the model card")
    parser.add_argument("--out", help=f"folder to write (default: {SHIPPED}/<name>)")
    parser.add_argument("--contract-only", action="store_true",
                        help="only write the input contract of the training records into the "
                             "existing folder's config.json and model card (weights unchanged)")
    args = parser.parse_args(argv)

    spec = SETTINGS[args.method]
    cls = LCDPretrainer if args.method == "lcd" else METSPretrainer
    train = load_ptbxl(args.ptbxl, folds=range(1, 9), leads=spec["leads"], verbose=1)
    if args.contract_only:
        out = Path(args.out) if args.out else SHIPPED / spec["name"]
        write_contract(out, train)
        print(f"wrote the input contract into {out}")
        return
    if args.from_joblib:
        est = joblib.load(args.from_joblib)
        expected = {k: v for k, v in spec["params"].items()}
        actual = {k: est.get_params()[k] for k in expected}
        if actual != expected or not isinstance(est, cls):
            raise SystemExit(f"{args.from_joblib} was fitted with {actual}, not {expected}.")
        seconds = float(sum(est.history_[:, "dur"]))
        if getattr(est, "input_contract_", None) is None:
            est.set_params(fs=train.fs, lead_names=train.lead_names)
            est.input_contract_ = record_contract(est, train.X, standardize=est.standardize)
    else:
        callbacks = None
        if spec.get("cosine"):
            # The learning rate decays to 0 along a half cosine over the epochs.
            callbacks = [LRScheduler(policy=CosineAnnealingLR, T_max=spec["params"]["max_epochs"])]
        est = cls(verbose=1, fs=train.fs, lead_names=train.lead_names, callbacks=callbacks,
                  **spec["params"])
        start = time.perf_counter()
        if args.method == "lcd":
            est.fit(train.X)
        else:
            est.fit(train.X, reports=train.report)
        seconds = time.perf_counter() - start
    quality = ""
    if args.quality:
        text = Path(args.quality).read_text()
        quality = text if not args.quality.endswith(".json") else "```\n" + json.dumps(
            json.loads(text), indent=1) + "\n```"
    card = CARD.format(
        name=spec["name"], what=WHAT[args.method], cls=cls.__name__, method=args.method,
        params=", ".join(f"{k}={v!r}" for k, v in spec["params"].items())
        + (COSINE if spec.get("cosine") else ""), seconds=seconds,
        schedule=" (the learning rate decays to 0 along a half cosine)" if spec.get("cosine") else "",
        dtype=spec["dtype"], quality=quality + contract_section(est.input_contract_, spec["name"]),
        leads_text=f", leads {', '.join(spec['leads'])}" if spec["leads"] else ", 12 leads",
    )
    out = Path(args.out) if args.out else SHIPPED / spec["name"]
    est.save_pretrained(out, overwrite=True, dtype=spec["dtype"], model_card=card)
    print(f"wrote {out} ({sum(f.stat().st_size for f in out.iterdir()) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
