"""pytest-wide settings: notebooks (executed by tests/test_notebooks.py) run in their quick mode."""

import os

os.environ.setdefault("NVMESIM_QUICK", "1")
