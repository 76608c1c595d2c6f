"""What every pretrainer shares: validation, seeding, device, the skorch net's
life cycle, batched transform, tags and feature names.

A pretrainer is a plain scikit-learn transformer. ``fit`` builds a skorch
:class:`~skorch.NeuralNet` around a torch module that knows its own
self-supervised loss, trains it, and keeps it as ``net_``; ``transform`` runs
the module's encoder alone. Keeping every tensor inside ``net_`` lets skorch's
pickling map a model trained on CUDA onto a machine without it.
"""

import contextlib
import numbers
import sys

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.utils import TeeGenerator
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._validation import check_ecg_array


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


def _seed_from(random_state):
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**63)
    # None or a RandomState: draw the torch seed from it, as scikit-learn does.
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def torch_seed(random_state, device):
    """Seed torch for the duration of a block and restore the caller's RNG after.

    Inside the block the global torch generators (CPU, and the CUDA device in
    use) are seeded from ``random_state``; on exit they are put back as they
    were, so fitting never changes the random stream of the caller.
    """
    dev = torch.device(device)
    cuda_devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        seed = _seed_from(random_state)
        torch.manual_seed(seed)
        yield seed


def zero_denormals(tensors):
    """Set the denormal entries of CPU float tensors to zero, in place.

    Parameters that stop receiving gradient, and Adam's moving averages of
    them, decay geometrically into the denormal range after a few hundred
    steps; x86 CPUs compute on denormals up to a hundred times more slowly (a
    METS fit went from 14 s to 140 s per epoch). Flushing them changes no
    result that matters: they are below 1.2e-38.
    """
    for t in tensors:
        if torch.is_tensor(t) and t.is_floating_point() and t.device.type == "cpu" and t.numel():
            t.masked_fill_(t.abs() < torch.finfo(t.dtype).tiny, 0.0)


class _ZeroDenormals(Callback):
    """After each epoch on the CPU, zero denormal weights, buffers and optimizer state."""

    def on_epoch_end(self, net, **kwargs):
        if torch.device(net.device).type != "cpu":
            return
        module = net.module_
        state = [v for s in net.optimizer_.state.values() for v in s.values()]
        with torch.no_grad():
            zero_denormals([*module.parameters(), *module.buffers(), *state])


class _RecordDataset(torch.utils.data.Dataset):
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


def _batch_as_is(batch):
    return batch


class _EpochProgressBar(Callback):
    """One tqdm bar over the epochs of a fit, showing the training loss."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=type(net.module_).__name__, unit="epoch", file=sys.stderr)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}", refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_


class PretrainingNet(NeuralNet):
    """skorch net for a module that computes its own self-supervised loss.

    The module implements ``training_loss(X, y) -> (loss, terms)`` (``terms`` a
    dict of named scalar tensors, logged to the history as ``<name>_loss``),
    ``after_optimizer_step()`` (e.g. an EMA update) and ``forward(X)`` (the
    embedding). ``y`` is whatever per-record integer the pretrainer passes
    (e.g. the index of a record's report); it is never a class label.

    Mixed precision (``amp=True``) applies on CUDA only: autocast in the
    forward pass and a gradient scaler, created per fit and dropped after it
    so that a pickled model holds no CUDA state outside the module.
    """

    def __init__(self, module, *args, amp=False, loss_terms=(), **kwargs):
        super().__init__(module, *args, **kwargs)
        self.amp = amp
        self.loss_terms = loss_terms

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        callbacks.insert(-1, ("zero_denormals", _ZeroDenormals()))
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

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.grad_scaler_ = None

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        non_blocking = torch.device(self.device).type == "cuda"
        Xi = Xi.to(self.device, non_blocking=non_blocking)
        yi = yi.to(self.device, non_blocking=non_blocking)
        with torch.autocast(torch.device(self.device).type, enabled=self._amp_enabled()):
            loss, terms = self.module_.training_loss(Xi, yi)
        loss = loss.float()
        if not torch.isfinite(loss):
            epoch = len(self.history)
            raise FloatingPointError(
                f"The training loss became {loss.item()} at epoch {epoch}; training diverged. "
                "Lower the learning rate (lr=...), or check the input scale (e.g. standardise "
                "the records)."
            )
        scaler = getattr(self, "grad_scaler_", None)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        for name, value in terms.items():
            self.history.record_batch(f"{name}_loss", value.item())
        return {"loss": loss.detach(), "y_pred": None}

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
        return step

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            loss, _ = self.module_.training_loss(Xi.to(self.device), yi.to(self.device))
        return {"loss": loss.float(), "y_pred": None}


class BasePretrainer(TransformerMixin, BaseEstimator):
    """Shared machinery of the self-supervised pretrainers (not public).

    Subclasses implement ``_build_module(n_leads, n_timepoints, **context)``
    (``context``: what ``_train`` was given besides the records, e.g. METS's
    table of report embeddings) returning a module with the interface of :class:`PretrainingNet`, and
    ``_embed_batch(module, X)`` mapping a float32 batch ``(B, leads, T)`` on the
    device to embeddings ``(B, n_features)``; they set ``_loss_terms`` and
    ``_min_length`` (the shortest record the encoder accepts).
    """

    _loss_terms = ()
    _min_length = None
    _optimizer_kwargs = ()

    # -- fitting ----------------------------------------------------------

    def _check_params(self):
        # max_epochs=0 gives the untrained (randomly initialised) encoder, a baseline.
        for name, lowest in (("max_epochs", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < lowest:
                raise ValueError(f"{name} must be an integer >= {lowest}; got {value!r}.")
        if not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number; got {self.lr!r}.")

    def _as_records(self, X):
        """2-D input is single-lead records: add the lead axis (a view, no copy)."""
        return X[:, None, :] if X.ndim == 2 else X

    def _validate_X(self, X, *, reset):
        X = check_ecg_array(self, X, reset=reset, min_length=self._min_length)
        return self._as_records(X)

    def _callbacks(self):
        callbacks = []
        if self.verbose:
            callbacks.append(("progress_bar", _EpochProgressBar()))
        # skorch names the user's callbacks (and makes duplicate names unique).
        callbacks.extend(self.callbacks or [])
        return callbacks

    def _make_net(self, X, device, n_records, context):
        module = self._build_module(X.shape[1], X.shape[2], **context)
        batch_size = min(self.batch_size, n_records)
        optimizer_kwargs = {
            f"optimizer__{name}": getattr(self, name) for name in self._optimizer_kwargs
        }
        return PretrainingNet(
            module,
            criterion=torch.nn.Identity,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            train_split=None,
            device=device,
            amp=self.amp,
            loss_terms=self._loss_terms,
            callbacks=self._callbacks(),
            # PrintLog's table only from verbose=2 on; verbose=1 shows a progress bar.
            verbose=int(self.verbose >= 2),
            iterator_train__shuffle=True,
            # BatchNorm cannot normalise a batch of one record: drop such a tail.
            iterator_train__drop_last=(n_records % batch_size == 1),
            iterator_train__collate_fn=_batch_as_is,
            iterator_train__pin_memory=torch.device(device).type == "cuda",
            **optimizer_kwargs,
        )

    def _fit(self, X, targets=None):
        """Validate, then (continue to) train the net on ``X``; returns self."""
        return self._train(self._validate_for_fit(X), targets)

    def _continuing(self):
        return bool(self.warm_start) and hasattr(self, "net_")

    def _validate_for_fit(self, X):
        """Check the parameters and ``X``; the records as float32 ``(n, leads, T)``."""
        self._check_params()
        return self._validate_X(X, reset=not self._continuing())

    def _train(self, X, targets=None, **context):
        """(Continue to) train the net on validated records ``X``; returns self.

        ``context`` goes to ``_build_module`` when a new net is built.
        """
        continuing = self._continuing()
        device = resolve_device(self.device)
        with torch_seed(self.random_state, device):
            if continuing:
                self.net_.set_params(device=device)
                self.net_.module_.to(device)
                self.net_.partial_fit(_RecordDataset(X, targets), None)
            else:
                self.net_ = self._make_net(X, device, len(X), context)
                self.net_.fit(_RecordDataset(X, targets), None)
        self.n_leads_ = X.shape[1]
        self.n_timepoints_ = X.shape[2]
        self.history_ = self.net_.history
        return self

    # -- transforming -----------------------------------------------------

    def _embed(self, X, embed_batch=None):
        """Embed validated records ``(n, leads, T)`` batch by batch.

        ``embed_batch(module, x)`` maps a batch on the device to embeddings;
        it defaults to the pretrainer's ``_embed_batch``.
        """
        embed_batch = embed_batch or self._embed_batch
        module = self.net_.module_
        device = self.net_.device
        batch_size = self.batch_size
        was_training = module.training
        module.eval()
        out = None
        try:
            with torch.inference_mode():
                for start in range(0, len(X), batch_size):
                    chunk = np.ascontiguousarray(X[start : start + batch_size])
                    if not chunk.flags.writeable:  # a read-only memmap
                        chunk = chunk.copy()
                    xb = torch.from_numpy(chunk)
                    emb = embed_batch(module, xb.to(device)).float().cpu().numpy()
                    if out is None:
                        out = np.empty((len(X), emb.shape[1]), dtype=np.float32)
                    out[start : start + len(emb)] = emb
        finally:
            module.train(was_training)
        return out

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
        X = check_ecg_array(self, X, reset=False, min_records=1, min_length=self._min_length)
        return self._embed(self._as_records(X))

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
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.requires_fit = True
        try:
            on_cuda = torch.device(resolve_device(self.device)).type == "cuda"
        except ValueError:
            on_cuda = False
        # cuDNN's kernels are not bitwise reproducible from run to run.
        tags.non_deterministic = on_cuda
        return tags
