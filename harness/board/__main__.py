"""``python -m harness.board``: see the package docstring."""
from ..errors import entry
from .cli import main

entry(main)()
