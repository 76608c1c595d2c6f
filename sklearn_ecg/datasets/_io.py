"""Low-level WFDB reading: headers, signal files and units.

Headers are parsed here rather than with :func:`wfdb.rdheader` because the
latter costs about 3 ms per record, which dominates loading PTB-XL (21,799
records). Anything this parser does not understand is handed to ``wfdb``.
"""

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Factor that turns a value in the header's unit into millivolts.
_UNIT_TO_MV = {"": 1.0, "mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}

# WFDB writes this digital value for a missing sample in format 16 files.
_FMT16_MISSING = -32768

_FMT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN_RE = re.compile(r"^([-+]?[\d.]+(?:[eE][-+]?\d+)?)(?:\(([-+]?\d+)\))?(?:/(.*))?$")


class _Unparsed(Exception):
    """The fast parser gave up: let wfdb read the header."""


@dataclass
class Header:
    """What the loaders need from a WFDB header."""

    path: Path  # record path without extension
    fs: float
    n_samples: int
    sig_name: list
    fmt: list
    file_name: list
    byte_offset: list
    gain: list
    baseline: list
    units: list
    samps_per_frame: list
    skew: list
    comments: list = field(default_factory=list)

    @property
    def name(self):
        return self.path.name

    @property
    def hea(self):
        return self.path.with_name(self.path.name + ".hea")

    @property
    def n_sig(self):
        return len(self.sig_name)


def _parse_header_text(path, text):
    lines = text.splitlines()
    comments = [ln.lstrip("#").strip() for ln in lines if ln.lstrip().startswith("#")]
    lines = [ln.split("#")[0].strip() for ln in lines]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ValueError("the file is empty")
    rec = lines[0].split()
    if "/" in rec[0] or len(rec) < 2:
        raise _Unparsed
    n_sig = int(rec[1])
    fs = 250.0
    if len(rec) > 2:
        fs = float(rec[2].split("/")[0].split("(")[0])
    if len(rec) < 4:
        raise _Unparsed  # length only known from the signal file
    n_samples = int(rec[3])
    if len(lines) - 1 < n_sig:
        raise ValueError(f"it declares {n_sig} signals but describes only {len(lines) - 1}")
    out = {k: [] for k in ("sig_name", "fmt", "file_name", "byte_offset", "gain",
                           "baseline", "units", "samps_per_frame", "skew")}
    for i, line in enumerate(lines[1:n_sig + 1]):
        parts = line.split(maxsplit=8)
        if len(parts) < 2:
            raise ValueError(f"signal line {i + 1} is incomplete: {line!r}")
        m = _FMT_RE.match(parts[1])
        if m is None:
            raise ValueError(f"signal line {i + 1} has an invalid format field {parts[1]!r}")
        adc_zero = int(parts[4]) if len(parts) > 4 else 0
        gain, baseline, units = 200.0, adc_zero, "mV"
        if len(parts) > 2:
            g = _GAIN_RE.match(parts[2])
            if g is None:
                raise ValueError(f"signal line {i + 1} has an invalid gain field {parts[2]!r}")
            gain = float(g.group(1)) or 200.0
            if g.group(2) is not None:
                baseline = int(g.group(2))
            if g.group(3) is not None:
                units = g.group(3)
        out["file_name"].append(parts[0])
        out["fmt"].append(m.group(1))
        out["samps_per_frame"].append(int(m.group(2) or 1))
        out["skew"].append(int(m.group(3) or 0))
        out["byte_offset"].append(int(m.group(4) or 0))
        out["gain"].append(gain)
        out["baseline"].append(baseline)
        out["units"].append(units)
        out["sig_name"].append(parts[8].strip() if len(parts) > 8 else f"ch{i}")
    return Header(path=path, fs=fs, n_samples=n_samples, comments=comments, **out)


def _header_from_wfdb(path):
    import wfdb

    h = wfdb.rdheader(str(path))
    if getattr(h, "seg_name", None):
        raise ValueError("multi-segment records are not supported")
    n = h.n_sig
    return Header(
        path=path, fs=float(h.fs), n_samples=int(h.sig_len),
        sig_name=list(h.sig_name), fmt=list(h.fmt), file_name=list(h.file_name),
        byte_offset=[int(b or 0) for b in h.byte_offset],
        gain=[float(g) or 200.0 for g in h.adc_gain], baseline=[int(b) for b in h.baseline],
        units=[u or "mV" for u in h.units],
        samps_per_frame=[int(s or 1) for s in (h.samps_per_frame or [1] * n)],
        skew=[int(s or 0) for s in (h.skew or [0] * n)], comments=list(h.comments or []),
    )


def read_header(path):
    """Read the header of the record at ``path`` (without extension).

    Raises a ``FileNotFoundError`` or ``ValueError`` that names the file.
    """
    path = Path(path)
    if path.suffix == ".hea":
        path = path.with_suffix("")
    hea = path.with_name(path.name + ".hea")
    if not hea.is_file():
        raise FileNotFoundError(f"record {path.name!r}: header file {hea} not found")
    try:
        text = hea.read_text(encoding="latin-1")
        try:
            header = _parse_header_text(path, text)
        except _Unparsed:
            header = _header_from_wfdb(path)
    except Exception as exc:
        raise ValueError(f"corrupt or truncated header file {hea}: {exc}") from exc
    if header.n_sig == 0 or header.n_samples <= 0 or header.fs <= 0:
        raise ValueError(
            f"corrupt or truncated header file {hea}: it declares {header.n_sig} signals, "
            f"{header.n_samples} samples at {header.fs} Hz"
        )
    for name, unit in zip(header.sig_name, header.units):
        if unit.strip().lower() not in _UNIT_TO_MV:
            raise ValueError(
                f"header file {hea}: lead {name!r} is in unit {unit!r}, which is not a "
                f"voltage; only mV, uV and V signals can be loaded as ECG"
            )
    return header


def _unit_factors(header):
    return np.array([_UNIT_TO_MV[u.strip().lower()] for u in header.units])


# Bytes per sample of the WFDB formats whose file size follows from the header alone.
_BYTES_PER_SAMPLE = {"8": 1, "80": 1, "16": 2, "61": 2, "160": 2, "212": 1.5, "24": 3, "32": 4}


def check_signal_size(header):
    """Refuse a record whose header declares more samples than its signal file holds.

    Only single-file records in one of the formats of ``_BYTES_PER_SAMPLE``
    are checked (a file size is one ``stat``); others are checked when read.
    """
    fmt = header.fmt[0]
    # A challenge .mat file wraps its samples in a MATLAB container: checked when read.
    if (header.file_name[0].endswith(".mat") or fmt not in _BYTES_PER_SAMPLE
            or not _is_simple(header, fmt)):
        return
    dat = header.path.with_name(header.file_name[0])
    try:
        size = dat.stat().st_size - header.byte_offset[0]
    except OSError:
        return  # a missing file has its own error where it is read
    per_frame = _BYTES_PER_SAMPLE[fmt] * header.n_sig
    held = int(max(size, 0) // per_frame)
    if held < header.n_samples:
        raise ValueError(
            f"record {header.name!r}: its header {header.hea} declares {header.n_samples} "
            f"samples of {header.n_sig} leads, but its signal file {dat} holds {held} "
            f"samples ({size} bytes of format {fmt}): {dat.name} is truncated or its header "
            f"is wrong. Download the record again, or set the sample count (the fourth field "
            f"of the header's first line) to {held}."
        )


def _read_fmt16(header):
    dat = header.path.with_name(header.file_name[0])
    if not dat.is_file():
        raise FileNotFoundError(f"record {header.name!r}: signal file {dat} not found")
    check_signal_size(header)
    count = header.n_sig * header.n_samples
    digital = np.fromfile(dat, dtype="<i2", count=count, offset=header.byte_offset[0])
    return digital.reshape(header.n_samples, header.n_sig).T


def _read_mat(header):
    import scipy.io

    mat = header.path.with_name(header.file_name[0])
    if not mat.is_file():
        raise FileNotFoundError(f"record {header.name!r}: signal file {mat} not found")
    try:
        val = scipy.io.loadmat(str(mat))["val"]
    except Exception as exc:
        raise ValueError(f"corrupt signal file {mat}: {exc}") from exc
    if val.ndim != 2 or val.shape[0] != header.n_sig or val.shape[1] < header.n_samples:
        raise ValueError(
            f"signal file {mat} holds an array of shape {val.shape}, but its header "
            f"{header.hea.name} declares {header.n_sig} leads x {header.n_samples} samples: "
            f"the file is truncated or its header is wrong. Download the record again, or "
            f"correct the header."
        )
    if val.shape[1] > header.n_samples:
        warnings.warn(
            f"record {header.name!r}: its header {header.hea.name} declares {header.n_samples} "
            f"samples but its signal file {mat.name} holds {val.shape[1]}; only the first "
            f"{header.n_samples} are read. If the header is wrong, set the sample count (the "
            f"fourth field of its first line) to {val.shape[1]}.",
            UserWarning,
            stacklevel=2,
        )
    return val[:, : header.n_samples]


def _is_simple(header, fmt):
    return (
        all(f == fmt for f in header.fmt)
        and len(set(header.file_name)) == 1
        and len(set(header.byte_offset)) == 1
        and all(s == 1 for s in header.samps_per_frame)
        and all(s == 0 for s in header.skew)
    )


def read_signal(header):
    """Read a record's signal as float64 ``(n_leads, n_samples)`` in mV.

    Missing samples are NaN. Format 16 files and challenge ``.mat`` files are
    read directly with numpy / scipy; other formats go through ``wfdb``.
    """
    factors = _unit_factors(header)
    if header.file_name[0].endswith(".mat") and len(set(header.file_name)) == 1:
        digital = _read_mat(header)
    elif _is_simple(header, "16"):
        digital = _read_fmt16(header)
    else:
        digital = None
    if digital is not None:
        gain = np.asarray(header.gain)[:, None]
        base = np.asarray(header.baseline, dtype=float)[:, None]
        signal = (digital - base) / gain
        missing = digital == _FMT16_MISSING
        if missing.any():
            signal[missing] = np.nan
        return signal * factors[:, None]
    return _read_with_wfdb(header) * factors[:, None]


def _read_with_wfdb(header):
    import wfdb

    for fname in set(header.file_name):
        if not header.path.with_name(fname).is_file():
            raise FileNotFoundError(
                f"record {header.name!r}: signal file {header.path.with_name(fname)} not found"
            )
    try:
        rec = wfdb.rdrecord(str(header.path), physical=True, smooth_frames=True)
    except Exception as exc:
        raise ValueError(
            f"corrupt or truncated signal file(s) {sorted(set(header.file_name))} of record "
            f"{header.path}: {exc}"
        ) from exc
    signal = np.asarray(rec.p_signal, dtype=float)
    if signal.shape != (header.n_samples, header.n_sig):
        raise ValueError(
            f"record {header.path}: the signal file holds {signal.shape[0]} samples x "
            f"{signal.shape[1]} leads, the header declares {header.n_samples} x {header.n_sig}"
        )
    return signal.T
