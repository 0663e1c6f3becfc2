"""The tricks, one unit per file, imported (so registered) in a fixed order.

That order is the order of parts in a canonical trick string (trainability.tricks.spec.
canonical), so a new unit is appended to UNITS, never inserted: inserting one would respell
existing tricks, and the trick strings name networks in configs and result tables. Figures
order tricks by family first (trainability.tricks.base.FAMILIES, see spec.figure_order). A
trick from outside the package registers itself from a plugin module instead
(trainability.plugins).
"""

import importlib

#: Unit modules, in registration order.
UNITS = ("batchnorm", "residual", "clipping", "dropout", "penalties", "optimizers",
         "early_stopping", "pretrain_dae", "fixup", "rezero")

for _unit in UNITS:
    importlib.import_module(f"{__name__}.{_unit}")
