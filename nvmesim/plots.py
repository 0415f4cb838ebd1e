"""Import shim: the figure functions live in :mod:`nvmesim.output.plots`."""

from .output.plots import *  # noqa: F401,F403
from .output.plots import __all__  # noqa: F401
