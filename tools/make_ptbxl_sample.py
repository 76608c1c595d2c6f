"""Write the PTB-XL sample shipped in ``sklearn_ecg/datasets/data`` from a PTB-XL folder.

The package reads the sample with :func:`sklearn_ecg.datasets.load_ptbxl_sample`; this
script is how its files were made, and the test suite checks that it still makes the
same files. Run from the repository's root::

    python tools/make_ptbxl_sample.py PATH/TO/PTB-XL [--dest sklearn_ecg/datasets/data]

``PATH/TO/PTB-XL`` is a folder in the official layout (``ptbxl_database.csv``,
``scp_statements.csv``, ``records100/``).
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_ecg.datasets._common import resolve_leads
from sklearn_ecg.datasets._ptbxl import _headers, _read_tables
from sklearn_ecg.preprocessing._leads import STANDARD_LEADS

DEFAULT_DEST = Path(__file__).resolve().parents[1] / "sklearn_ecg" / "datasets" / "data"
SIGNALS = "ptbxl_sample_signals.npz"
DATABASE = "ptbxl_sample_database.csv"
STATEMENTS = "scp_statements.csv"
# PTB-XL stores signals at 1000 digital units per mV with baseline 0, so int16
# keeps them losslessly; the build checks that every header says so.
GAIN = 1000.0


def make_ptbxl_sample(source, dest=DEFAULT_DEST, n_records=500):
    """Write the sample's three files from a PTB-XL folder.

    Parameters
    ----------
    source : str or path-like
        A PTB-XL folder in the official layout with 100 Hz records.
    dest : str or path-like
        Folder to write ``ptbxl_sample_signals.npz`` (int16, lossless),
        ``ptbxl_sample_database.csv`` and ``scp_statements.csv`` to.
    n_records : int, default=500
        The first ``n_records`` rows of the database, by ``ecg_id``, are kept.
    """
    source, dest = Path(source), Path(dest)
    db, _ = _read_tables(source)
    db = db.sort_values("ecg_id").head(n_records).reset_index(drop=True)
    db["_root"] = str(source)
    headers = _headers(db, 100)
    _, index = resolve_leads(headers, STANDARD_LEADS)
    signals = np.empty((len(headers), len(STANDARD_LEADS), headers[0].n_samples), np.int16)
    for i, h in enumerate(headers):
        if set(h.gain) != {GAIN} or set(h.baseline) != {0} or set(h.fmt) != {"16"}:
            raise ValueError(f"{h.hea}: expected format 16, gain {GAIN:g} and baseline 0")
        dat = h.path.with_name(h.file_name[0])
        digital = np.fromfile(dat, dtype="<i2").reshape(h.n_samples, h.n_sig).T
        signals[i] = digital[index[i]]
    dest.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest / SIGNALS, signals=signals, ecg_id=db["ecg_id"].to_numpy())
    raw = pd.read_csv(source / "ptbxl_database.csv")
    raw = raw.set_index("ecg_id").loc[db["ecg_id"]].reset_index()
    raw.to_csv(dest / DATABASE, index=False)
    shutil.copyfile(source / STATEMENTS, dest / STATEMENTS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a PTB-XL folder in the official layout")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help="where to write the sample (default: the package's data folder)")
    parser.add_argument("--n-records", type=int, default=500)
    args = parser.parse_args(argv)
    make_ptbxl_sample(args.source, args.dest, args.n_records)


if __name__ == "__main__":
    main()
