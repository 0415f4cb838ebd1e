"""pytest-wide settings: notebooks (collected with --nbmake) run in their quick mode."""

import os

os.environ.setdefault("NVMESIM_QUICK", "1")
