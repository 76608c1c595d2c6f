"""What every pretrainer shares: validation, seeding, device, the skorch net's
life cycle, batched transform, tags and feature names.

A pretrainer is a plain scikit-learn transformer. ``fit`` builds a skorch
:class:`~skorch.NeuralNet` around a torch module that knows its own
self-supervised loss, trains it, and keeps it as ``net_``; ``transform`` runs
the module's encoder alone. Keeping every tensor inside ``net_`` lets skorch's
pickling map a model trained on CUDA onto a machine without it.
"""

import contextlib
import copy
import inspect
import signal
import sys
import threading
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.helper import predefined_split
from skorch.utils import TeeGenerator
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from . import distributed as _distributed
from ._encoder import ARCHITECTURES, EncoderContract
from ._persistence import PretrainedMixin
from .input_contract import INPUT_PARAMETER_CONSTRAINTS, InputContractMixin, check_input, record_contract
from ._param_validation import OptimizerClass, StrictInterval, TorchDevice
from ._runtime import (
    child_seeds,
    flush_denormals,
    make_generator,
    resolve_device,
    seed_from,
    seeded_construction,
    zero_denormals,
)
from ._validation import check_ecg_array
from .nn.forward import ForwardModule, check_output
from .nn.inference import folded_copy


class UnpicklesOlderParams:
    """An estimator pickled before one of today's parameters existed gets that parameter's default.

    The default is what such a model was fitted with, so ``get_params``,
    ``clone``, the methods and a refit work instead of failing on the missing
    attribute.
    """

    def __setstate__(self, state):
        super().__setstate__(state)
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not param.empty and name not in self.__dict__:
                setattr(self, name, param.default)


class SharesFittedPretrainerMixin(UnpicklesOlderParams):
    """For estimators built on a fitted pretrainer given as their ``pretrainer`` parameter.

    The pretrainer is only read, so :func:`sklearn.base.clone` keeps a fitted
    one (as :class:`~sklearn.frozen.FrozenEstimator` does) instead of
    returning an unfitted copy that cross-validation could not use; anything
    else (None, a name, an unfitted estimator) is cloned as usual.
    """

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        pretrainer = params.pop("pretrainer")
        try:
            check_is_fitted(pretrainer)
        except (NotFittedError, TypeError):
            pretrainer = clone(pretrainer, safe=False)
        return type(self)(pretrainer=pretrainer, **{k: clone(v, safe=False) for k, v in params.items()})


class RecordDataset(torch.utils.data.Dataset):
    """Records (and optional per-record integer targets) fetched a batch at a time.

    ``__getitems__`` lets the DataLoader fetch a whole batch with one fancy
    index instead of one Python call and one copy per record; it also reads
    only the needed rows of a ``numpy.memmap``.
    """

    def __init__(self, X, targets=None):
        self.X = X
        self.targets = targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        indices = np.asarray(indices)
        Xb = torch.from_numpy(np.ascontiguousarray(self.X[indices], dtype=np.float32))
        if self.targets is None:
            yb = torch.zeros(len(indices), dtype=torch.long)
        else:
            yb = torch.from_numpy(np.asarray(self.targets[indices], dtype=np.int64))
        return Xb, yb


def batch_as_is(batch):
    return batch


class _EpochProgressBar(Callback):
    """One tqdm bar over the epochs of a fit, showing the training loss.

    Parameters
    ----------
    desc : str
        Label of the bar: the name of the estimator being fitted.
    """

    def __init__(self, desc):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", file=sys.stderr)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}", refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_


@contextlib.contextmanager
def _sigint_recorded():
    """Record a Ctrl+C (SIGINT) while the block runs; yields a list that is then non-empty.

    Python raises KeyboardInterrupt for Ctrl+C, and skorch's EarlyStopping
    raises it too to stop a training: the signal tells them apart. Signal
    handlers exist in the main thread only; elsewhere no Ctrl+C arrives and
    nothing is installed.
    """
    seen = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        seen.append(signum)
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def _warn_unexplained_stop(net):
    """Warn that a callback ended the training by raising KeyboardInterrupt, unless it is an early stop.

    skorch's ``EarlyStopping`` (and the package's own patience) raise
    ``KeyboardInterrupt`` once their patience is spent; that stop is
    expected and silent. Any other callback raising it also ends the
    training, and the fit returns the network trained so far: said here.
    """
    for _, callback in getattr(net, "callbacks_", ()):
        patience, misses = getattr(callback, "patience", None), getattr(callback, "misses_", None)
        if isinstance(patience, int) and isinstance(misses, int) and misses >= patience:
            return
    epochs = len(net.history)
    warnings.warn(
        f"A callback raised KeyboardInterrupt at epoch {epochs} of {net.max_epochs}: the training "
        "stopped there (skorch callbacks stop a training this way) and the model is the one "
        "trained so far. Raise another exception from the callback to abort the fit instead.",
        UserWarning,
        stacklevel=4,
    )


def _monitor_training_loss(callback):
    """A copy of ``callback`` that monitors the training loss instead of a validation score.

    Pretraining holds out no validation data, so skorch's ``EarlyStopping()``
    and ``Checkpoint()``, which monitor ``valid_loss`` by default, would fail
    at the first epoch; their copies monitor ``train_loss`` (and
    ``train_loss_best``). The user's own object is left as it was.
    """
    monitor = getattr(callback, "monitor", None)
    if not (isinstance(monitor, str) and monitor.startswith("valid_")):
        return callback
    callback = copy.deepcopy(callback)
    callback.monitor = "train_" + monitor[len("valid_"):]
    return callback


class PretrainingNet(NeuralNet):
    """skorch net for a module that computes its own self-supervised loss.

    The module implements ``training_loss(X, y, view_generator=...,
    pair_generator=..., group=...) -> (loss, terms)`` (``terms`` a dict of named scalar
    tensors, logged to the history as ``<name>_loss``; the generators are the
    fit's own sources of randomness, one on the training device and one on
    the CPU), ``after_optimizer_step()`` (e.g. an EMA update) and
    ``forward(X)`` (the embedding). ``y`` is whatever per-record integer the
    pretrainer passes (e.g. the index of a record's report); it is never a
    class label.

    Parameters
    ----------
    amp : bool
        Mixed precision on CUDA only: autocast in the forward pass and a
        gradient scaler, created per fit and dropped after it so that a
        pickled model holds no CUDA state outside the module.
    loss_terms : tuple of str
        Names of the loss terms to average per epoch into the history.
    seed : int or None
        Seeds the fit's generators: batch shuffling, views and lead pairs.
        They exist only while training, so the caller's global generators
        are never used nor changed.

    Notes
    -----
    Ctrl+C (``KeyboardInterrupt``) stops the training and propagates, where
    skorch's default swallows it and returns a half-trained model.

    Inside an initialised process group of several processes the net trains
    data-parallel (:mod:`sklearn_ecg.distributed`): the module runs under
    ``DistributedDataParallel`` for the duration of the fit, each process
    reads its share of every global batch, and the logged losses are the
    processes' mean.
    """

    def __init__(self, module, *args, amp=False, loss_terms=(), seed=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.amp = amp
        self.loss_terms = loss_terms
        self.seed = seed

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        # The loss terms are averaged per epoch like skorch's train_loss.
        for term in self.loss_terms:
            callbacks.insert(
                -1, (f"{term}_loss", PassthroughScoring(name=f"{term}_loss", on_train=True))
            )
        return callbacks

    def _amp_enabled(self):
        return bool(self.amp) and torch.device(self.device).type == "cuda"

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.grad_scaler_ = torch.amp.GradScaler("cuda") if self._amp_enabled() else None
        shuffle_seed, view_seed, pair_seed = child_seeds(seed_from(self.seed), 3)
        self.shuffle_generator_ = make_generator(shuffle_seed)
        # In a data-parallel fit each process draws views of its own records;
        # the shuffling and the lead pairs stay identical on every process.
        self.view_generator_ = make_generator(_distributed.rank_seed(view_seed), self.device)
        self.pair_generator_ = make_generator(pair_seed)
        self.valid_generator_ = make_generator(child_seeds(pair_seed, 1)[0])
        self._data_parallel = _distributed.begin_fit(self, len(X)) if X is not None else None

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        _distributed.end_fit(getattr(self, "_data_parallel", None))
        self._data_parallel = None
        self.grad_scaler_ = None
        self.shuffle_generator_ = self.view_generator_ = self.pair_generator_ = None
        self.valid_generator_ = None

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            with _sigint_recorded() as ctrl_c:
                try:
                    self.fit_loop(X, y, **fit_params)
                except KeyboardInterrupt:
                    # skorch's EarlyStopping (and callbacks like it) stop the
                    # training by raising KeyboardInterrupt: that ends the
                    # loop. A real Ctrl+C propagates.
                    if ctrl_c:
                        raise
                    _warn_unexplained_stop(self)
        finally:
            # Callbacks close what they opened (progress bars, files) on
            # every way out, Ctrl+C and errors included, which then propagate.
            self.notify("on_train_end", X=X, y=y)
        return self

    def get_iterator(self, dataset, training=False):
        if training and getattr(self, "_data_parallel", None) is not None:
            kwargs = self.get_params_for("iterator_train")
            for key in ("batch_size", "shuffle", "drop_last", "sampler"):
                kwargs.pop(key, None)
            return self.iterator_train(
                dataset,
                batch_sampler=_distributed.batch_sampler(self, dataset),
                generator=self.shuffle_generator_,
                **kwargs,
            )
        generator = getattr(self, "shuffle_generator_" if training else "valid_generator_", None)
        if generator is None:
            return super().get_iterator(dataset, training=training)
        # Every DataLoader draws a seed when it starts iterating, from the
        # global generator unless it is given one: the fit's own, here.
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        kwargs["generator"] = generator
        return (self.iterator_train if training else self.iterator_valid)(dataset, **kwargs)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        non_blocking = torch.device(self.device).type == "cuda"
        Xi = Xi.to(self.device, non_blocking=non_blocking)
        yi = yi.to(self.device, non_blocking=non_blocking)
        data_parallel = getattr(self, "_data_parallel", None)
        training_loss = self.module_.training_loss if data_parallel is None else data_parallel
        with torch.autocast(torch.device(self.device).type, enabled=self._amp_enabled()):
            loss, terms = training_loss(
                Xi, yi, view_generator=self.view_generator_, pair_generator=self.pair_generator_,
                group=_distributed.active_group(),
            )
        loss = loss.float()
        logged = loss
        if data_parallel is not None:
            # Every process logs (and checks) the same values.
            logged, terms = _distributed.mean_over_ranks(loss, terms)
        if not torch.isfinite(logged):
            epoch = len(self.history)
            raise FloatingPointError(
                f"The training loss became {logged.item()} at epoch {epoch}; training diverged. "
                "Lower the learning rate (lr=...), or check the input scale (e.g. standardise "
                "the records)."
            )
        scaler = getattr(self, "grad_scaler_", None)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        for name, value in terms.items():
            self.history.record_batch(f"{name}_loss", value.item())
        return {"loss": logged.detach(), "y_pred": None}

    def train_step(self, batch, **fit_params):
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is not None:
            # Callbacks such as gradient clipping must see unscaled gradients.
            scaler.unscale_(self.optimizer_)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        if scaler is not None:
            scaler.step(self.optimizer_)
            scaler.update()
        else:
            self.optimizer_.step()
        self.module_.after_optimizer_step()
        if torch.device(self.device).type == "cpu":
            # Denormal weights and optimizer state would slow every later
            # step on x86, on every worker thread; zeroing them is exact
            # enough (< 1.2e-38) and cheap next to a step.
            state = [v for s in self.optimizer_.state.values() for v in s.values()]
            with torch.no_grad():
                zero_denormals([*self.module_.parameters(), *self.module_.buffers(), *state])
        return step


# Fitted module -> (weights' identity and versions, its inference copy).
_INFERENCE_COPIES = weakref.WeakKeyDictionary()


# Learnable weights of a healthy network stay within a few units; Adam with a
# learning rate far too large pushes them by about lr per step. Far beyond
# this bound the network is diverging even while its values are still finite.
_MAX_WEIGHT = 1e4


class LoadOnlyNet(PretrainingNet):
    """The net of a model that comes trained and is never trained by its own ``fit``.

    It builds no optimizer: the first one of a process imports torch's
    compiler, which costs most of the time of loading a small model.
    """

    def initialize_optimizer(self, *args, **kwargs):
        self.optimizer_ = None
        return self


def check_trained_weights(module, name):
    """Refuse the weights of a diverged training: NaN or infinite tensors, or huge weights.

    Parameters and buffers must be finite; parameters must stay below
    ``_MAX_WEIGHT`` in magnitude (BatchNorm's running statistics follow the
    input's scale, so buffers are not bounded).
    """
    bad = [n for n, t in [*module.named_parameters(), *module.named_buffers()]
           if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise FloatingPointError(
            f"{name}: training diverged; after the last optimizer step {len(bad)} weight "
            f"tensor(s) hold NaN or infinity (e.g. {bad[0]!r}). Lower the learning rate "
            "(lr=...), or check the input scale (e.g. standardise the records). The estimator "
            "was left as it was before this fit."
        )
    with torch.no_grad():
        sizes = {n: float(t.detach().abs().max()) for n, t in module.named_parameters()
                 if t.is_floating_point() and t.numel()}
    huge = [n for n, v in sizes.items() if v > _MAX_WEIGHT]
    if huge:
        raise FloatingPointError(
            f"{name}: training diverged; {len(huge)} weight tensor(s) reached magnitudes above "
            f"{_MAX_WEIGHT:g} (e.g. {huge[0]!r}: {sizes[huge[0]]:.3g}). Lower the learning rate "
            "(lr=...), or check the input scale (e.g. standardise the records). The estimator "
            "was left as it was before this fit."
        )


# A healthy training never ends an epoch with a loss this many times (plus one)
# the size of its first batch's loss; BatchNorm's running variances above
# _MAX_RUNNING_VAR (a standard deviation of 1e6 mV) and outputs above
# _MAX_OUTPUT only come from activations that exploded.
_LOSS_GROWTH = 100.0
_MAX_RUNNING_VAR = 1e12
_MAX_OUTPUT = 1e8
# Outputs this large (logits whose softmax is exactly 0 or 1 in float32) that
# are the same for every record: the network collapsed onto one answer.
_SATURATED = 100.0
_DIVERGED_HINT = ("Lower the learning rate (lr=...), or check the input scale (e.g. standardise "
                  "the records). The estimator was left as it was before this fit.")


def _distinct_records(records):
    """Whether the records differ in more than scale and offset (which may rightly give one output)."""
    flat = np.asarray(records, dtype=np.float64).reshape(len(records), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.abs(flat).max(axis=1, keepdims=True)
    flat = np.round(np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 0), 4)
    return len(np.unique(flat, axis=0)) > 1


def judge_divergence(name, module, history, start, outputs, inputs):
    """Refuse a training judged by what diverged; raises ``FloatingPointError`` naming it.

    ``history`` is the net's history and ``start`` the index of this fit's
    first epoch in it; ``outputs`` are the trained network's outputs of the
    training records ``inputs``. Diverged: the last epoch's training loss
    grew more than 100-fold from this fit's first batch, BatchNorm running
    statistics are non-finite or exploded (variance above 1e12), the outputs
    are non-finite or above 1e8, or they collapsed (every one of several
    distinct records gives the same saturated outputs, above 100).
    """
    rows = list(history)[start:]
    first = next((b["train_loss"] for row in rows for b in row.get("batches", ())
                  if "train_loss" in b), None)
    last = rows[-1].get("train_loss") if rows else None
    if first is not None and last is not None and np.isfinite(first):
        if not np.isfinite(last) or last > first + _LOSS_GROWTH * max(abs(first), 1.0):
            raise FloatingPointError(
                f"{name}: training diverged; the training loss went from {first:.3g} (first "
                f"batch) to {last:.3g} (last epoch). {_DIVERGED_HINT}")
    for key, buf in module.named_buffers():
        if key.endswith(("running_var", "running_mean")) and buf.is_floating_point() and buf.numel():
            size = float(buf.detach().abs().max())
            limit = _MAX_RUNNING_VAR if key.endswith("running_var") else _MAX_RUNNING_VAR ** 0.5
            if not np.isfinite(size) or size > limit:
                raise FloatingPointError(
                    f"{name}: training diverged; the BatchNorm statistic {key!r} reached "
                    f"{size:.3g}. {_DIVERGED_HINT}")
    outputs = np.asarray(outputs)
    if not np.isfinite(outputs).all() or (outputs.size and np.abs(outputs).max() > _MAX_OUTPUT):
        raise FloatingPointError(
            f"{name}: training diverged; the trained network gives NaN, infinite or exploding "
            f"(above {_MAX_OUTPUT:g}) outputs for its own training records. {_DIVERGED_HINT}")
    if len(outputs) >= 2 and outputs.size:
        spread = float(outputs.std(axis=0).max())
        scale = float(np.abs(outputs).max())
        # Only outputs that look collapsed are compared with their records
        # (a float64 copy of a batch): a healthy fit pays nothing for this.
        if scale > _SATURATED and spread <= 1e-6 * scale and _distinct_records(inputs[: len(outputs)]):
            raise FloatingPointError(
                f"{name}: training diverged; the trained network gives the same saturated "
                f"outputs (up to {scale:.3g}) for every one of {len(outputs)} different training "
                f"records (collapsed). "
                f"{_DIVERGED_HINT}")


def run_batches(module, X, batch_size, device, batch_fn):
    """``batch_fn(module, batch)`` over validated records ``X`` ``(n, leads, T)``, batch by batch.

    Each batch is read (from a memmap), cast to float32 and moved to
    ``device``; the module runs in eval mode (restored after) under
    ``torch.inference_mode``. Returns the float32 outputs ``(n, k)``.
    """
    was_training = module.training
    module.eval()
    out = None
    try:
        with torch.inference_mode(), flush_denormals():
            for start in range(0, len(X), batch_size):
                chunk = np.ascontiguousarray(X[start : start + batch_size], dtype=np.float32)
                if not chunk.flags.writeable:  # a read-only memmap
                    chunk = chunk.copy()
                emb = batch_fn(module, torch.from_numpy(chunk).to(device)).float().cpu().numpy()
                if out is None:
                    out = np.empty((len(X), emb.shape[1]), dtype=np.float32)
                out[start : start + len(emb)] = emb
    finally:
        module.train(was_training)
    return out


#: The constraints of the settings that every net estimator shares, declared
#: once (the pretrainers and ECGClassifier add their own).
NET_PARAMETER_CONSTRAINTS = {
    # max_epochs=0 is a fit that trains nothing: the untrained network (randomly
    # initialised, or as imported), a baseline, for every estimator alike.
    "max_epochs": [StrictInterval(Integral, 0, None, closed="left")],
    # Every network has BatchNorm layers, which cannot normalise a batch of one
    # record in training (a pretrainer's projector never, an encoder not once
    # its pooling leaves one sample); a last batch of one is dropped, so
    # batch_size=1 would train on nothing.
    "batch_size": [StrictInterval(Integral, 2, None, closed="left")],
    "lr": [StrictInterval(Real, 0, None, closed="neither")],
    "optimizer": [OptimizerClass()],
    "weight_decay": [StrictInterval(Real, 0, None, closed="left")],
    "device": [TorchDevice(), None],
    "amp": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [list, None],
    "warm_start": ["boolean"],
    **INPUT_PARAMETER_CONSTRAINTS,
}


class FitPlan:
    """What the checks of one fit found, for the fit template of :class:`NetEstimator`.

    Parameters
    ----------
    X : ndarray of shape (n_records, n_leads, n_timepoints)
        The validated records to train on.
    targets : ndarray or None
        Per-record training targets (class indices, indicators, report rows).
    standardize : str or None
        The z-scoring recorded in ``input_contract_``.
    inherit : estimator or None
        An estimator whose ``input_contract_`` fills what the fit does not know.
    groups : array-like or None
        Groups of the records, for a validation split.
    context : dict
        Keyword arguments of ``_module_spec`` and ``_fit_context_for``.
    fitted : dict
        Fitted attributes of the subclass, assigned with the generic ones.
    shape : tuple of (int, int) or None
        Leads and samples per record of the network; None: those of ``X``
        (a model that only loads may be fitted without records).
    """

    def __init__(self, X, targets=None, *, standardize=None, inherit=None, groups=None, context=None,
                 fitted=None, shape=None):
        self.X = X
        self.n_leads, self.n_timepoints = (X.shape[1:] if shape is None else shape)
        self.targets = targets
        self.standardize = standardize
        self.inherit = inherit
        self.groups = groups
        self.context = dict(context or {})
        self.fitted = dict(fitted or {})


class NetEstimator(UnpicklesOlderParams):
    """What every estimator of the package that trains a network shares (not public).

    It composes a skorch net inside ``fit`` and keeps it as ``net_``. Here:
    the one fit of every net estimator (:meth:`_fit_net`), building the net,
    the per-fit seeds, warm start, the progress bar, the check that a
    training did not diverge, batched inference, the one place where the
    fitted state is assigned (:meth:`_set_fitted`) and the tags.
    :class:`BasePretrainer` adds pretraining and ``transform``;
    :class:`~sklearn_ecg.ECGClassifier` the head, the validation split and
    ``predict``.

    The fit template calls these hooks, in this order (see
    ``docs/architecture.rst``):

    - ``_check_params()``: checks between parameters;
    - ``_validate_for_fit(X, continuing)``: the records ``(n, leads, T)`` and
      the :class:`SeenInput` to assign (None to keep the fitted one);
    - ``_fit_plan(X, y, continuing=..., **fit_params)``: checks of the
      targets and other fit inputs; returns a :class:`FitPlan`;
    - ``_fit_contract(plan)``: the ``input_contract_`` of the fit (by
      default, of the records; a model that only loads gives its own);
    - ``_fit_datasets(plan, seeds)``: the training and validation datasets
      (``seeds`` maps the names of ``_fit_seeds`` to this fit's seeds; both
      None for a model that only loads);
    - ``_module_spec(plan.n_leads, plan.n_timepoints, **plan.context)``: the module
      of a new fit, a class and its keyword arguments or an instance (with
      None), built under the ``"init"`` seed; a warm start continues a copy
      of ``net_`` instead (``_warm_net``);
    - ``_fit_context_for(module, **plan.context)``: a context manager around
      the training, handing the module what one fit needs;
    - ``_fitted_attributes(net, plan)``: the subclass's fitted attributes.

    Subclasses also implement ``_outputs(X, net)``: the outputs of validated
    records by ``net`` (embeddings, logits), which the divergence probe
    reads; ``_callbacks(has_validation)``: the callbacks of one fit; and may
    set ``_net_class`` (the skorch net), ``_optimizer_kwargs`` (their
    parameters passed on to the optimizer), ``_trains_in_fit`` (False: the
    module comes trained, ``fit`` runs no epoch) and override
    ``_net_settings()`` (further settings of the net) and
    ``_group_settings()`` (per parameter group learning rates).
    """

    # What the divergence probe calls the outputs, in its message.
    _output_name = "outputs"
    _net_class = PretrainingNet
    # Estimator parameters handed to the optimizer under the same name.
    _optimizer_kwargs = ()
    # The seeds drawn from random_state by every fit, by name and in order.
    _fit_seeds = ("init", "train")
    # False for a module that comes trained (e.g. from a checkpoint): fit trains nothing.
    _trains_in_fit = True

    # -- the fit template -----------------------------------------------------

    def _fit_net(self, X, y=None, **fit_params):
        """The fit of every net estimator: check, build or continue a net, train it, assign the state.

        A failed fit (an error, a divergence, Ctrl+C) leaves the estimator
        exactly as it was: the net is trained on the side (a copy of ``net_``
        for a warm start) and the fitted attributes are assigned only at the
        end, by :meth:`_set_fitted`.
        """
        self._check_params()
        continuing = self._continuing()
        X, seen = self._validate_for_fit(X, continuing)
        plan = self._fit_plan(X, y, continuing=continuing, **fit_params)
        # Refuses lead names that do not fit X before any training.
        contract = self._fit_contract(plan)
        device, seeds = self._fit_device_and_seeds(len(self._fit_seeds))
        seeds = dict(zip(self._fit_seeds, seeds))
        train, valid = self._fit_datasets(plan, seeds)
        n_records = None if train is None else len(train)
        callbacks = self._callbacks(valid is not None)
        if continuing:
            net = self._warm_net(device, n_records, callbacks)
        else:
            with seeded_construction(seeds["init"], device):
                module, module_kwargs = self._module_spec(plan.n_leads, plan.n_timepoints, **plan.context)
                net = self._build_net(module, module_kwargs, device=device, n_records=n_records,
                                      callbacks=callbacks)
                net.initialize()
        net.seed = seeds["train"]
        net.train_split = None if valid is None else predefined_split(valid)
        if self._trains_in_fit:
            self._train_net(net, train, plan.X, self._fit_context_for(net.module_, **plan.context))
        self._set_fitted(net, seen=seen, n_leads_=int(plan.n_leads), n_timepoints_=plan.n_timepoints,
                         input_contract_=contract, **self._fitted_attributes(net, plan))
        return self

    def _fit_contract(self, plan):
        """The ``input_contract_`` of this fit: by default, of the records it was given."""
        return record_contract(self, plan.X, standardize=plan.standardize, inherit=plan.inherit)

    def _fit_plan(self, X, y=None, *, continuing):
        """Check the fit's other inputs against ``X``; returns the :class:`FitPlan`."""
        return FitPlan(X, y)

    def _fit_datasets(self, plan, seeds):
        """The training dataset and the validation one (None: no validation; both None: a
        model that only loads)."""
        return RecordDataset(plan.X, plan.targets), None

    def _fit_context_for(self, module, **context):
        """Hand ``module`` what one fit needs beyond the records (nothing by default)."""
        return contextlib.nullcontext()

    def _fitted_attributes(self, net, plan):
        """The subclass's fitted attributes of a successful fit by ``net``."""
        return plan.fitted

    def _set_fitted(self, net, *, seen=None, **attributes):
        """Make the estimator fitted: the one place for fit, warm start, loading and imports.

        ``net`` holds the trained module and its history; ``seen`` (a
        :class:`SeenInput`, None to keep the fitted one) the input's feature
        count and names; ``attributes`` the fitted attributes by name. An
        unknown record length or input contract is None.
        """
        attributes.setdefault("n_timepoints_", None)
        attributes.setdefault("input_contract_", None)
        self.net_ = net
        self.history_ = net.history_
        if seen is not None:
            seen.assign(self)
        for name, value in attributes.items():
            setattr(self, name, value)

    def _set_fitted_state(self, fitted, net):
        """Persistence's hook: make a freshly built estimator fitted with loaded ``net`` and attributes."""
        self._set_fitted(net, **fitted)

    def _net_from_spec(self, module, module_kwargs, device, n_records):
        """An uninitialised net around ``module`` and its keyword arguments (loading, imports)."""
        return self._build_net(module, module_kwargs, device=device, n_records=n_records,
                               callbacks=self._callbacks(False))

    # -- building the net ---------------------------------------------------

    def _extra_net_settings(self):
        """The user's further skorch settings of the net (the pretrainers' ``net_params``); none here."""
        return {}

    def _net_settings(self):
        """Further keyword arguments of the skorch net (none by default)."""
        return {}

    def _build_net(self, module, module_kwargs=None, *, device, n_records, callbacks, seed=None):
        """An uninitialised skorch net around ``module`` (a module, or a class with ``module_kwargs``).

        ``n_records`` (None when unknown, e.g. for a loaded model) bounds the
        batch size and decides whether a last batch of one record is dropped.
        """
        batch_size = self.batch_size if n_records is None else min(self.batch_size, n_records)
        optimizer_kwargs = {
            f"optimizer__{name}": getattr(self, name) for name in self._optimizer_kwargs
        }
        extra = dict(self._extra_net_settings())
        callbacks = list(callbacks) + list(extra.pop("callbacks", None) or [])
        return self._net_class(
            # A class and its arguments rather than an instance where possible:
            # skorch pickles the module it builds (module_) on its own, and an
            # instance here would be stored a second time.
            module,
            **{f"module__{k}": v for k, v in (module_kwargs or {}).items()},
            criterion=torch.nn.Identity,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            train_split=None,
            device=device,
            amp=self.amp,
            callbacks=callbacks,
            seed=seed,
            # PrintLog's table only from verbose=2 on; verbose=1 shows a progress bar.
            verbose=int(self.verbose >= 2),
            iterator_train__shuffle=True,
            # BatchNorm cannot normalise a batch of one record: drop such a tail.
            iterator_train__drop_last=(n_records is not None and n_records % batch_size == 1),
            iterator_train__collate_fn=batch_as_is,
            iterator_train__pin_memory=torch.device(device).type == "cuda",
            **{**self._net_settings(), **optimizer_kwargs, **extra},
        )

    # -- seeds and warm start ---------------------------------------------------

    def _fit_device_and_seeds(self, n_seeds):
        """The training device and ``n_seeds`` seeds of one fit, derived from ``random_state``.

        In a process group: this process's GPU, and the first process's seed.
        The seeds feed generators owned by the fit, so the caller's global
        random state is neither used nor changed.
        """
        device = _distributed.local_device(resolve_device(self.device))
        seeds = child_seeds(_distributed.same_seed(seed_from(self.random_state), device), n_seeds)
        return device, seeds

    def _continuing(self):
        return bool(getattr(self, "warm_start", False)) and hasattr(self, "net_")

    def _group_settings(self, n_groups):
        """The optimizer settings of each of ``n_groups`` parameter groups, for a warm start.

        skorch puts the groups of ``optimizer__param_groups`` (of
        ``_net_settings``) first, with their own settings, then the rest.
        """
        settings = {"lr": self.lr, **{name: getattr(self, name) for name in self._optimizer_kwargs}}
        groups = self._net_settings().get("optimizer__param_groups") or []
        if groups and n_groups == len(groups) + 1:
            return [{**settings, **own} for _, own in groups] + [settings]
        return [settings] * n_groups

    def _warm_net(self, device, n_records, callbacks):
        """A deep copy of ``net_`` given this call's settings, to continue training.

        Training a copy keeps the fitted model intact if the fit fails. The
        optimizer keeps its state (Adam's moments): only the values of its
        parameter groups change.
        """
        net = copy.deepcopy(self.net_)
        net.set_params(device=device, max_epochs=self.max_epochs, callbacks=callbacks,
                       verbose=int(self.verbose >= 2))
        net.initialize_callbacks()
        net.module_.to(device)
        batch_size = min(self.batch_size, n_records)
        # Attributes, not set_params: skorch would re-create the optimizer.
        net.lr = self.lr
        net.batch_size = batch_size
        net.iterator_train__drop_last = n_records % batch_size == 1
        for name in self._optimizer_kwargs:
            setattr(net, f"optimizer__{name}", getattr(self, name))
        optimizer = getattr(net, "optimizer_", None)
        if optimizer is not None:
            for group, settings in zip(optimizer.param_groups, self._group_settings(len(optimizer.param_groups))):
                group.update((k, v) for k, v in settings.items() if k in group)
            groups = self._net_settings().get("optimizer__param_groups") or []
            if groups and len(optimizer.param_groups) != len(groups) + 1:
                # Settings of a parameter group of their own (e.g. the classifier's encoder_lr)
                # need that group: a new optimizer, whose state starts afresh.
                net.optimizer__param_groups = groups
                net.initialize_optimizer()
        return net

    def _train_net(self, net, dataset, X, context=contextlib.nullcontext()):
        """Train ``net`` on ``dataset`` (under ``context``), then refuse a diverged result."""
        start = len(net.history)
        with flush_denormals(), context:
            net.partial_fit(dataset, None)
        self._check_trained(net, X, start)
        return net

    # -- after training -----------------------------------------------------------

    def _progress_callbacks(self):
        """The progress bar over epochs, from ``verbose=1`` on."""
        if self.verbose:
            return [("progress_bar", _EpochProgressBar(type(self).__name__))]
        return []

    def _check_trained(self, net, X, start=0):
        """Refuse a diverged training: its weights, loss, statistics and outputs must be sane."""
        check_trained_weights(net.module_, type(self).__name__)
        # Finite weights can still be wildly off after a divergent last step
        # (BatchNorm statistics that no longer match): the outputs of one batch
        # of the training records must stay finite.
        probe = self._outputs(X[: min(len(X), 64)], net)
        if not np.isfinite(probe).all():
            raise FloatingPointError(
                f"{type(self).__name__}: training diverged; the trained network gives NaN or "
                f"infinite {self._output_name} of its own training records. Lower the learning "
                "rate (lr=...), or check the input scale (e.g. standardise the records). The "
                "estimator was left as it was before this fit."
            )
        judge_divergence(type(self).__name__, net.module_, net.history, start, probe, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        try:
            on_cuda = torch.device(resolve_device(self.device)).type == "cuda"
        except ValueError:
            on_cuda = False
        # cuDNN's kernels are not bitwise reproducible from run to run.
        tags.non_deterministic = on_cuda
        return tags


class BasePretrainer(NetEstimator, InputContractMixin, PretrainedMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the self-supervised pretrainers (not public).

    Subclasses implement ``_module_spec(n_leads, n_timepoints, **context)``
    returning the module class and its keyword arguments (``context``: the
    ``FitPlan``'s, e.g. METS's table of report embeddings), the module having
    the interface of :class:`PretrainingNet`; ``_embed_batch(module, X)``
    mapping a float32 batch ``(B, leads, T)`` on the device to embeddings
    ``(B, n_features)``; optionally ``_fit_plan`` and ``_fit_context_for``
    (the hooks of :meth:`NetEstimator._fit_net`); and they set
    ``_loss_terms`` and ``_architecture`` (the encoder's row of
    ``ARCHITECTURES``, which gives the shortest record it accepts).
    """

    _loss_terms = ()
    # The encoder's family in sklearn_ecg._encoder.ARCHITECTURES.
    _architecture = None

    @property
    def _min_length(self):
        """The shortest record the encoder accepts (from ``ARCHITECTURES``)."""
        return ARCHITECTURES[self._architecture].min_length
    # transform runs a copy of the networks with BatchNorm folded into the
    # convolutions: the same embeddings up to float rounding (relative 1e-6),
    # faster on the CPU. False embeds with the fitted module itself.
    _fold_batchnorm = True

    _parameter_constraints = {
        **NET_PARAMETER_CONSTRAINTS,
        "net_params": [dict, None],
    }

    # -- fitting ----------------------------------------------------------

    def _check_params(self):
        """Checks that no constraint can express (subclasses extend it)."""
        self._check_net_params()

    def _extra_net_settings(self):
        return self.net_params or {}

    def _reserved_net_params(self):
        """Keys of ``net_params`` that the estimator sets on its net itself."""
        return {"module", "criterion", "train_split", "max_epochs", "batch_size", "lr",
                "optimizer", "device", "callbacks", "seed", "amp", "loss_terms", "verbose",
                "warm_start", "optimizer__lr", "optimizer__params", *self._net_settings(),
                *(f"optimizer__{name}" for name in self._optimizer_kwargs),
                *(f"{it}__{key}" for it in ("iterator_train", "iterator_valid")
                  for key in ("batch_size", "shuffle", "drop_last", "collate_fn", "pin_memory",
                              "generator"))}

    def _check_net_params(self):
        """Refuse ``net_params`` keys that the estimator's own parameters set (or check)."""
        reserved = self._reserved_net_params()
        for key in self.net_params or {}:
            if not isinstance(key, str) or key in reserved or key.startswith("module__"):
                raise ValueError(
                    f"net_params has the key {key!r}, which the {type(self).__name__} sets itself; "
                    "pass such settings through the estimator's own parameters. net_params is for "
                    "skorch's other settings, e.g. {'iterator_train__num_workers': 2, "
                    "'optimizer__betas': (0.9, 0.99)}."
                )


    def _as_records(self, X):
        """2-D input is single-lead records: add the lead axis (a view, no copy)."""
        return X[:, None, :] if X.ndim == 2 else X

    def _validate_X(self, X, *, reset):
        """The records as ``(n, leads, T)``; in ``fit`` (``reset``), with the :class:`SeenInput`."""
        checked = check_ecg_array(self, X, reset=reset, min_length=self._min_length, cast_lazily=True)
        if reset:
            return self._as_records(checked[0]), checked[1]
        return self._as_records(checked)

    def _callbacks(self, has_validation=False):
        callbacks = self._progress_callbacks()
        # skorch names the user's callbacks (and makes duplicate names unique).
        callbacks.extend(_monitor_training_loss(cb) for cb in self.callbacks or [])
        return callbacks

    def _net_settings(self):
        return {"loss_terms": self._loss_terms}

    def _validate_for_fit(self, X, continuing):
        """The records as ``(n, leads, T)`` and the :class:`SeenInput` to assign after the fit
        (None when continuing a fit)."""
        if continuing:
            return self._validate_X(X, reset=False), None
        return self._validate_X(X, reset=True)

    def _fit_plan(self, X, y=None, *, continuing):
        return FitPlan(X, y, standardize=getattr(self, "standardize", None))

    # -- transforming -----------------------------------------------------

    def _embed(self, X, embed_batch=None, net=None, check=True):
        """Embed validated records ``(n, leads, T)`` batch by batch.

        ``embed_batch(module, x)`` maps a batch on the device to embeddings;
        it defaults to the pretrainer's ``_embed_batch``. ``net`` defaults to
        ``net_``; ``check`` refuses non-finite embeddings.
        """
        embed_batch = embed_batch or self._embed_batch
        # The folded inference copy belongs to net_; another net (the check
        # at the end of a fit) runs its own module.
        fold = self._fold_batchnorm and net is None
        net = self.net_ if net is None else net
        module = self._inference_module() if fold else net.module_
        out = run_batches(module, X, self.batch_size, net.device, embed_batch)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if len(bad) and check:
            shown = ", ".join(str(i) for i in bad[:10])
            raise ValueError(
                f"{type(self).__name__} gave NaN or infinite embeddings for {len(bad)} record(s) "
                f"(index {shown}{' ...' if len(bad) > 10 else ''}). Their values are probably far "
                "outside the scale the encoder was trained on (records in mV have magnitudes "
                "around 1): rescale them, or fit with standardize='record'."
            )
        return out

    _output_name = "embeddings"

    def _outputs(self, X, net):
        return self._embed(X, net=net, check=False)

    def _inference_module(self):
        """The fitted module with BatchNorm folded into the convolutions, for inference.

        Built on first use and kept, outside the estimator (so never
        pickled, and ``transform`` leaves the estimator as it was), while the
        fitted module lives and its weights are the ones it was built from (a
        new fit or an in-place change of a weight rebuilds it).
        """
        module = self.net_.module_
        tensors = [*module.parameters(), *module.buffers()]
        # Tensors count their in-place changes: a changed weight changes the key.
        key = (tuple(id(t) for t in tensors), tuple(t._version for t in tensors))
        cached = _INFERENCE_COPIES.get(module)
        if cached is None or cached[0] != key:
            cached = (key, folded_copy(module))
            _INFERENCE_COPIES[module] = cached
        return cached[1]

    def transform(self, X):
        """Embed ECG records with the pretrained encoder.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_timepoints) or (n_records, n_timepoints)
            Records with the lead count seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_records, n_features_out)
            The embeddings, float32.
        """
        check_is_fitted(self, "net_")
        X = check_ecg_array(
            self, X, reset=False, min_records=1, min_length=self._min_length, cast_lazily=True
        )
        X = self._as_records(X)
        check_input(self, X)
        return self._embed(X)

    def differentiable_forward(self, output="transform"):
        """The fitted module's embeddings as a differentiable torch module.

        The forward contract (:mod:`sklearn_ecg.nn.forward`): what
        ``transform`` computes, by the fitted module itself (not its
        BatchNorm-folded copy), with gradients.

        Parameters
        ----------
        output : {"transform"}, default="transform"
            The embeddings of ``transform``, ``(B, n_features_out)``.

        Returns
        -------
        forward : ForwardModule
        """
        check_output(output, ("transform",), type(self).__name__)
        check_is_fitted(self, "net_")
        return self._forward(output, self._embed_batch)

    def _forward(self, output, embed_batch):
        module = self.net_.module_
        return ForwardModule(lambda x: embed_batch(module, x), [module], n_leads=self.n_leads_,
                             min_length=self._min_length, output=output)

    # -- the encoder contract ---------------------------------------------

    @property
    def encoder_contract_(self):
        """The trained encoder and how to feed it (an ``EncoderContract``).

        What the estimators built on a pretrainer (``ECGClassifier``,
        ``LeadwiseEmbedder``) read from it.
        """
        check_is_fitted(self, "net_")
        module = self.net_.module_
        spec = ARCHITECTURES[self._architecture]
        return EncoderContract(
            encoder=module.encoder,
            per_lead=spec.per_lead,
            n_leads=int(self.n_leads_),
            min_length=spec.min_length,
            standardize=module.standardize,
            architecture=spec.name,
            width=self.net_.get_params_for("module").get("width", self.width),
            head=self._contract_head(module),
            batch_embedder=self._embed,
        )

    def _contract_head(self, module):
        """The projection after the encoder that ``transform`` applies, if any."""
        return None

    # -- feature names and tags -------------------------------------------

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "net_")
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._feature_names_out(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.requires_fit = True
        return tags
