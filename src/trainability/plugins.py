"""Components from outside the package: modules that add datasets, activations, initializers,
tricks or figures to the registries when they are imported.

A plugin is any importable module that registers something (`@catalog.register` for a
dataset, `@ACTIVATIONS.register(...)`, `@INITIALIZERS.register(...)`, `@register` of
trainability.tricks.base for a trick, a figure's spec). Name it in
`$TRAINABILITY_PLUGINS` (comma-separated module names, found on PYTHONPATH), or declare it
from an installed package under the entry-point group `trainability.plugins`. The command line
and the workflow load them before they read a registry, and every job inherits the variable,
so one file and one variable add a component to the whole pipeline. Library users call
`load_plugins()` themselves.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os

PLUGINS_ENV = "TRAINABILITY_PLUGINS"
ENTRY_POINT_GROUP = "trainability.plugins"

_loaded: list[str] = []


def plugin_names() -> list[str]:
    """The plugin modules asked for: $TRAINABILITY_PLUGINS, then installed entry points."""
    names = [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    names += [ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
    return list(dict.fromkeys(names))


def load_plugins() -> list[str]:
    """Import every plugin module once; returns their names. ValueError (one line) names a
    module that cannot be imported."""
    for name in plugin_names():
        if name in _loaded:
            continue
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ValueError(f"plugin {name!r} (from ${PLUGINS_ENV} or the entry points "
                             f"{ENTRY_POINT_GROUP!r}) cannot be imported: {error}") from None
        _loaded.append(name)
    return list(_loaded)
