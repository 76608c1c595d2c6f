"""Parameter constraints shared by the estimators of the package.

The estimators declare ``_parameter_constraints`` and wrap ``fit`` in
:func:`sklearn.base._fit_context`, as scikit-learn's own estimators do (e.g.
``sklearn.neural_network``); scikit-learn then validates every parameter and
``check_param_validation`` tests them. ``_fit_context`` and the constraint
classes are private to scikit-learn: the tested range is pinned in
``pyproject.toml``.

scikit-learn accepts only its own constraint classes, so the ones below that
are no interval derive from :class:`HasMethods` and replace its test.
"""


import inspect
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval


class CustomConstraint(HasMethods):
    """Base of the constraints below: no methods required, own test and description."""

    def __init__(self):
        super().__init__([])

class StrictInterval(Interval):
    """:class:`~sklearn.utils._param_validation.Interval` that refuses booleans.

    ``True`` is an ``Integral`` and a ``Real`` in Python, but ``max_epochs=True``
    or ``lr=True`` is a mistake, not a number.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


#: A positive finite number: a frequency, a rate, a duration or a factor.
POSITIVE = StrictInterval(numbers.Real, 0, None, closed="neither")


class OptimizerClass(CustomConstraint):
    """A :class:`torch.optim.Optimizer` subclass (the class, not an instance or a name)."""

    def is_satisfied_by(self, val):
        return inspect.isclass(val) and issubclass(val, torch.optim.Optimizer)

    def __str__(self):
        return "a torch.optim.Optimizer subclass such as torch.optim.Adam (the class, not a string)"


class FractionRange(CustomConstraint):
    """A pair ``(low, high)`` of real numbers with ``low_min < low <= high <= 1``.

    Parameters
    ----------
    open_zero : bool
        Whether ``low`` must be strictly positive (a kept fraction) rather
        than non-negative (a zeroed fraction).
    """

    def __init__(self, open_zero):
        super().__init__()
        self.open_zero = open_zero

    def is_satisfied_by(self, val):
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            return False
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in val):
            return False
        low, high = val
        above = low > 0 if self.open_zero else low >= 0
        return bool(above and low <= high <= 1)

    def __str__(self):
        low = "0 < low" if self.open_zero else "0 <= low"
        return f"a pair (low, high) of fractions with {low} <= high <= 1"


class TorchDevice(CustomConstraint):
    """A device string or a :class:`torch.device` (checked further in ``fit``)."""

    def is_satisfied_by(self, val):
        return isinstance(val, (str, torch.device))

    def __str__(self):
        return "'auto', a torch device string such as 'cpu' or 'cuda:0', or a torch.device"
