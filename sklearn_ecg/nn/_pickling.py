"""Pickling networks that hold weight-norm parametrizations.

torch refuses to pickle a module with parametrizations (it asks for
``state_dict``), so estimators holding one could not be pickled, copied or
saved with joblib. A network with this mixin pickles as its constructor's
arguments and its state dict and is rebuilt from them.
"""

__all__ = ["PicklesByStateDict"]


class PicklesByStateDict:
    """Pickle as ``(constructor arguments, state dict, training flag)``.

    The class stores its constructor's keyword arguments in ``_init_kwargs``.
    """

    def __getstate__(self):
        return {"init_kwargs": dict(self._init_kwargs), "state_dict": self.state_dict(),
                "training": self.training}

    def __setstate__(self, state):
        type(self).__init__(self, **state["init_kwargs"])
        self.load_state_dict(state["state_dict"], assign=True)
        self.train(state["training"])
