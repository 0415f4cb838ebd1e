"""``python -m nvmesim``: the ``nvmesim`` command."""

from .cli import app

app(prog_name="nvmesim")
