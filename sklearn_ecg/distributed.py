"""Beyond one process: data-parallel pretraining and embedding at scale.

Data-parallel pretraining
-------------------------
A pretrainer whose ``fit`` runs inside an initialised :mod:`torch.distributed`
process group of more than one process (e.g. a script launched with
``torchrun --nproc-per-node=4 train.py``, which calls
``torch.distributed.init_process_group()``) trains data-parallel with torch's
own :class:`~torch.nn.parallel.DistributedDataParallel`; nothing changes in
the estimator's parameters or in the script beyond initialising the group.
Outside a process group (or in a group of one) the fit is the single-process
one, unchanged.

* Every process passes the same records (e.g. the same ``numpy.memmap``);
  each epoch, one permutation of them, drawn from the fit's seed identically
  on every process, is cut into *global* batches of ``batch_size × world
  size`` records and every process reads its own ``batch_size`` slice of each.
  ``batch_size`` is therefore the per-process batch size, the one that must
  fit in a device's memory; the global batch grows with the processes.
* The losses mean what they mean in one process over the global batch: LCD's
  decorrelation matrix and the batch-norm statistics of its projections are
  all-reduced, METS's contrastive logits compare every record with every
  report of the global batch (embeddings all-gathered with their gradients),
  and every BatchNorm layer of the networks normalises with the statistics of
  the global batch (torch's ``SyncBatchNorm`` refuses CPU tensors, so the
  layers compute them with the differentiable collectives of
  ``sklearn_ecg.nn.collectives``; their
  running statistics are thereby identical on every process).
* The per-batch lead pair of LCD and the EMA target are identical on every
  process; the random views differ (each process draws its own). Gradients are
  averaged by ``DistributedDataParallel``; every process takes the same
  optimizer step and ends with the same weights.
* The logged losses are averaged over the processes at every step, so the
  history (and any callback that reads it, such as early stopping) agrees
  across processes; skorch's ``DistributedHistory`` would instead merge each
  process's *local* batch losses, which for LCD's intra- and inter-lead terms
  are not the global batch's loss.

Embedding at scale
------------------
``transform`` reads a ``numpy.memmap`` (of any float dtype, read-only or not)
one batch at a time; :func:`transform_dask` embeds a dask array block by block
on a dask cluster, the fitted model shipped to the workers by pickling.
"""

import contextlib
import os
import warnings

import numpy as np
import torch
from torch import nn

from .nn.collectives import global_batch_norm

__all__ = ["transform_dask", "world"]

# The process group of the data-parallel fit under way in this process, if any.
_ACTIVE_GROUP = None


def world():
    """``(rank, world_size)`` of the initialised process group, or None.

    None when :mod:`torch.distributed` is unavailable, not initialised, or
    holds a single process: the estimators then train in one process.

    Examples
    --------
    >>> from sklearn_ecg.distributed import world
    >>> world() is None
    True
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    size = torch.distributed.get_world_size()
    if size < 2:
        return None
    return torch.distributed.get_rank(), size


def active_group():
    """The process group of the data-parallel fit under way, or None (one process)."""
    return _ACTIVE_GROUP


class _GlobalBatchNorm(nn.BatchNorm1d):
    """A BatchNorm1d that, during a data-parallel fit, uses global batch statistics.

    Layers are switched to this class for the duration of the fit only
    (their parameters and buffers stay the same objects), so a fitted model
    holds plain ``BatchNorm1d`` layers.
    """

    def forward(self, x):
        group = _ACTIVE_GROUP
        if group is None or not self.training:
            return super().forward(x)
        y, mean, var, n = global_batch_norm(x, group, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (
                    1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                )
                # Running variance is unbiased, as in torch's BatchNorm.
                unbiased = var * (n / (n - 1).clamp_min(1.0))
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        if self.affine:
            shape = [1, -1] + [1] * (x.dim() - 2)
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y.to(x.dtype)


@contextlib.contextmanager
def _global_batch_norms(module):
    layers = [m for m in module.modules() if type(m) is nn.BatchNorm1d]
    for m in layers:
        m.__class__ = _GlobalBatchNorm
    try:
        yield
    finally:
        for m in layers:
            m.__class__ = nn.BatchNorm1d


# -- the data-parallel fit ------------------------------------------------------


class _GlobalBatchSampler(torch.utils.data.Sampler):
    """This process's slice of every global batch of one shuffled epoch.

    The epoch's order is the one a single process shuffling with the same
    generator draws (:class:`~torch.utils.data.RandomSampler`), cut into
    global batches of ``batch_size * world_size`` records: a one-process fit
    with that batch size sees the same global batches. A last, partial global
    batch is padded with records from the start of the order to a multiple of
    the world size, and left out when it holds a single record (BatchNorm
    cannot normalise it).
    """

    def __init__(self, n_records, batch_size, rank, world_size, generator):
        self.n_records = n_records
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self.generator = generator

    def _slices(self):
        size = self.batch_size * self.world_size
        full, rest = divmod(self.n_records, size)
        slices = [(k * size, size) for k in range(full)]
        if rest >= 2:
            slices.append((full * size, rest))
        return slices

    def __len__(self):
        return len(self._slices())

    def __iter__(self):
        # Run the sampler to its end: it draws from the generator once more
        # there, and the next epoch must start where a one-process fit's does.
        order = np.asarray(
            list(torch.utils.data.RandomSampler(range(self.n_records), generator=self.generator)),
            dtype=np.int64,
        )
        for start, size in self._slices():
            batch = order[start : start + size]
            per_rank = -(-size // self.world_size)
            if per_rank * self.world_size > size:
                batch = np.concatenate([batch, order[: per_rank * self.world_size - size]])
            yield batch[self.rank * per_rank : (self.rank + 1) * per_rank].tolist()


class _TrainingLoss(nn.Module):
    """The module's ``training_loss`` as a ``forward``, for DistributedDataParallel."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x, y, view_generator=None, pair_generator=None, group=None):
        return self.module.training_loss(
            x, y, view_generator=view_generator, pair_generator=pair_generator, group=group
        )


def local_device(device):
    """The device of this process: ``cuda`` becomes ``cuda:LOCAL_RANK`` in a process group."""
    dev = torch.device(device)
    if world() is None or dev.type != "cuda" or dev.index is not None:
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", torch.distributed.get_rank()))
    return f"cuda:{local_rank % torch.cuda.device_count()}"


def same_seed(seed, device="cpu"):
    """``seed`` of the first process, on every process of the group (unchanged in one process).

    ``device`` is this process's training device (NCCL broadcasts GPU tensors only).
    """
    if world() is None:
        return seed
    box = torch.tensor([seed], dtype=torch.int64)
    if torch.distributed.get_backend() == "nccl":
        box = box.to(device)
    torch.distributed.broadcast(box, src=0)
    return int(box.item())


def rank_seed(seed):
    """A seed of this process's own (e.g. its random views); ``seed`` in one process."""
    place = world()
    if place is None:
        return seed
    rank, size = place
    state = np.random.SeedSequence([seed, rank, size]).generate_state(1, dtype=np.uint64)
    return int(state[0]) % (2**63)


def begin_fit(net, n_records):
    """Wrap ``net``'s module for a data-parallel fit; None outside a process group.

    Returns a callable with the signature of the module's ``training_loss``
    that runs it through :class:`~torch.nn.parallel.DistributedDataParallel`.
    """
    global _ACTIVE_GROUP
    place = world()
    if place is None:
        return None
    if _ACTIVE_GROUP is not None:
        raise RuntimeError("Only one data-parallel fit can run at a time in a process.")
    rank, size = place
    dev = torch.device(net.device)
    counts = torch.tensor([n_records, -n_records], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        counts = counts.to(dev)
    torch.distributed.all_reduce(counts, op=torch.distributed.ReduceOp.MAX)
    if counts[0].item() != n_records or -counts[1].item() != n_records:
        raise ValueError(
            f"Process {rank} of {size} was given {n_records} records, but the processes of a "
            "data-parallel fit must all be given the same records (each trains on its own "
            "share of them): pass every process the same X, e.g. the same numpy.memmap."
        )
    if n_records < 2 * size:
        raise ValueError(
            f"A data-parallel fit over {size} processes needs at least {2 * size} records; got "
            f"{n_records}."
        )
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(_global_batch_norms(net.module_))
        _ACTIVE_GROUP = torch.distributed.group.WORLD
        stack.callback(_deactivate)
        with warnings.catch_warnings():
            # Its suggested successor still syncs the buffers at construction.
            warnings.filterwarnings("ignore", "`broadcast_buffers` is deprecated", FutureWarning)
            ddp = nn.parallel.DistributedDataParallel(
                _TrainingLoss(net.module_),
                device_ids=[dev.index] if dev.type == "cuda" else None,
                # Global BatchNorm keeps the buffers identical on every process.
                broadcast_buffers=False,
            )
    except BaseException:
        stack.close()
        raise
    return _DataParallelFit(ddp, stack)


class _DataParallelFit:
    """The wrapped module of a data-parallel fit and what undoes the fit's changes.

    Not a module itself: skorch keeps torch modules set on a net after its
    initialisation as parts of the net, and this one must not outlive the fit.
    """

    def __init__(self, ddp, exit_stack):
        self.ddp = ddp
        self.exit_stack = exit_stack

    def __call__(self, *args, **kwargs):
        return self.ddp(*args, **kwargs)


def _deactivate():
    global _ACTIVE_GROUP
    _ACTIVE_GROUP = None


def end_fit(fit):
    """Undo :func:`begin_fit`: plain BatchNorm layers, no active group."""
    if fit is not None:
        fit.exit_stack.close()


def mean_over_ranks(loss, terms):
    """The loss and its terms averaged over the processes (detached), for the history."""
    values = torch.stack([loss.detach().float(), *(t.detach().float() for t in terms.values())])
    torch.distributed.all_reduce(values)
    values = values / torch.distributed.get_world_size()
    return values[0], dict(zip(terms, values[1:]))


def batch_sampler(net, dataset):
    """The sampler of this process's share of each global batch of ``dataset``."""
    rank, size = world()
    return _GlobalBatchSampler(len(dataset), net.batch_size, rank, size, net.shuffle_generator_)


# -- embedding at scale ---------------------------------------------------------


def _transform_block(block, estimator):
    return estimator.transform(block)


def transform_dask(estimator, X):
    """Embed a dask array of records block by block, e.g. on a dask cluster.

    Each block of records is embedded by ``estimator.transform`` on a worker;
    the fitted estimator reaches the workers by pickling (once per worker with
    ``dask.distributed``). The records are rechunked, if needed, so that every
    block holds whole records.

    Parameters
    ----------
    estimator : fitted pretrainer
        E.g. a fitted :class:`~sklearn_ecg.LCDPretrainer` or
        :class:`~sklearn_ecg.METSPretrainer`.
    X : dask.array.Array of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
        The records, chunked along the first axis.

    Returns
    -------
    embeddings : dask.array.Array of shape (n_records, n_features_out)
        Lazy float32 embeddings; ``.compute()`` them, or store them with
        ``dask.array.to_zarr`` when they do not fit in memory either.

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn_ecg import LCDPretrainer
    >>> from sklearn_ecg.datasets import load_ptbxl_sample
    >>> from sklearn_ecg.distributed import transform_dask
    >>> X = load_ptbxl_sample().X[:48, :2, :500]
    >>> lcd = LCDPretrainer(max_epochs=1, batch_size=16, random_state=0).fit(X)
    >>> Z = transform_dask(lcd, da.from_array(X, chunks=(16, 2, 500)))
    >>> Z.chunks
    ((16, 16, 16), (128,))
    >>> bool(abs(Z.compute() - lcd.transform(X)).max() < 1e-5)
    True
    """
    import dask.array as da
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if not isinstance(X, da.Array):
        raise TypeError(
            f"transform_dask expects a dask array; got {type(X).__name__}. Wrap a NumPy array or "
            "memmap with dask.array.from_array(X, chunks=(n, *X.shape[1:]))."
        )
    if X.ndim not in (2, 3):
        raise ValueError(
            "transform_dask expects records of shape (n_records, n_leads, n_timepoints) or "
            f"(n_records, n_timepoints); got a {X.ndim}-D dask array of shape {X.shape}."
        )
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    n_out = len(estimator.get_feature_names_out())
    if X.ndim == 3:
        return X.map_blocks(
            _transform_block, estimator, drop_axis=2, chunks=(X.chunks[0], (n_out,)),
            dtype=np.float32, meta=np.empty((0, 0), dtype=np.float32),
        )
    return X.map_blocks(
        _transform_block, estimator, chunks=(X.chunks[0], (n_out,)), dtype=np.float32,
        meta=np.empty((0, 0), dtype=np.float32),
    )

