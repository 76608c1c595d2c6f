"""Process state that training touches, kept inside the work that needs it.

Nothing here changes the caller's process for longer than one ``fit`` or
``transform``: the floating-point denormal mode is set for the duration of our
own work and restored after, and randomness comes from generators owned by
each fit rather than from torch's global generators.
"""

import contextlib
import numbers
import threading

import numpy as np
import torch
from sklearn.utils import check_random_state

# Building a module draws its initial weights from torch's global generator
# (``nn.Linear`` and friends take no generator). Fits in several threads must
# not interleave those draws, so construction holds this lock while the global
# generator is forked and seeded.
_GLOBAL_RNG_LOCK = threading.Lock()


def seed_from(random_state):
    """A 63-bit seed from ``random_state`` (an int, a RandomState, or None)."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**63)
    # None or a RandomState: draw the seed from it, as scikit-learn does.
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def child_seeds(seed, n):
    """``n`` independent seeds derived from one (numpy's SeedSequence)."""
    state = np.random.SeedSequence(seed).generate_state(n, dtype=np.uint64)
    return [int(s) % (2**63) for s in state]


def make_generator(seed, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    return torch.Generator(device=torch.device(device)).manual_seed(int(seed))


@contextlib.contextmanager
def seeded_construction(seed, device="cpu"):
    """Build modules whose initial weights depend on ``seed`` alone.

    Holds a process-wide lock, forks torch's global generators (CPU, and the
    CUDA device in use), seeds them, and restores them on exit: concurrent
    fits draw the same weights as sequential ones and the caller's random
    stream is left as it was.
    """
    dev = torch.device(device)
    cuda_devices = [dev.index or 0] if dev.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(int(seed))
        yield


def denormals_flushed():
    """Whether the calling thread flushes denormal floats to zero."""
    # 1e-40 is a float32 denormal: it survives a multiplication by one unless
    # the CPU flushes denormals (FTZ/DAZ) on this thread.
    return bool((torch.tensor([1e-40]) * torch.tensor([1.0])).item() == 0.0)


@contextlib.contextmanager
def flush_denormals():
    """Flush denormal floats to zero on this thread for the duration of a block.

    x86 CPUs compute on denormals up to a hundred times more slowly; late in
    training, decayed activations and gradients reach that range. The mode is
    a per-thread CPU flag: it is set on the thread that runs the block (where
    torch runs every operation too small to be split across threads) and put
    back as it was on exit, so the caller's own arithmetic (``float("1e-310")``,
    numpy's subnormals) is never affected. Weights and optimizer state, the
    values that stay denormal from step to step, are zeroed after every CPU
    step as well (:func:`zero_denormals`), which covers torch's worker threads.
    """
    before = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def zero_denormals(tensors):
    """Set the denormal entries of CPU float tensors to zero, in place.

    Parameters that stop receiving gradient, and Adam's moving averages of
    them, decay geometrically into the denormal range after a few hundred
    steps, and every later step then computes on denormals (a METS fit went
    from 14 s to 140 s per epoch). Flushing them changes no result that
    matters: they are below 1.2e-38.
    """
    for t in tensors:
        if torch.is_tensor(t) and t.is_floating_point() and t.device.type == "cpu" and t.numel():
            t.masked_fill_(t.abs() < torch.finfo(t.dtype).tiny, 0.0)


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string.

    ``"auto"`` (or None) picks CUDA when it is available, else the CPU.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "use device='cpu' or device='auto'."
        )
    return str(dev)
