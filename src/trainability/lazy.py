"""Modules imported on first use, so that planning and argument checking never load torch.

Snakemake evaluates the workflow before it runs any job (and, on Slurm, once more inside
every job), and the command line checks its arguments before it trains. Both need the
registries (names, arguments, canonical spellings, maxout pieces, figure names) but none of
torch's code, and loading torch costs about 3 s of CPU per process. Modules that planning
imports therefore reach torch through `lazy_import("torch")`, a stand-in that imports the
module the first time one of its attributes is read; `tests/test_startup.py` checks that
planning imports no torch.

Why not the standard library's `importlib.util.LazyLoader`: it puts the unloaded module in
`sys.modules`, and libraries that look there to see whether torch is in use (SciPy's array
API support does, on import) then load it. The stand-in stays out of `sys.modules`, so torch
is loaded exactly when our own code first needs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`; reading an attribute imports the module (once)."""

    def __init__(self, name: str) -> None:
        self.__name = name

    def __getattr__(self, attribute: str) -> Any:
        module: ModuleType = importlib.import_module(self.__name)  # cached in sys.modules
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazily imported module {self.__name!r}>"


def lazy_import(name: str) -> Any:
    """A stand-in for module `name` (e.g. "torch"), imported when first used.

    Reach submodules through it (`torch.nn.functional.gelu`), never with `from ... import`,
    which would import them at once.
    """
    return LazyModule(name)
