"""Reading YAML config files strictly: a key given twice in one mapping is an error.

YAML's loaders (PyYAML's, and so Snakemake's `configfile:`) keep the last of two equal keys
without a word: a second study named like the first silently replaces it. Written by hand
because PyYAML has no option to refuse duplicates; the loader below is its SafeLoader with
that one check added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DuplicateKeyError(ValueError):
    """A mapping names a key twice; the message gives the key and both line numbers."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with a repeated key."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base": overriding is its point
            continue
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKeyError(f"key {key!r} appears twice in one mapping (lines "
                                    f"{seen[key]} and {line}); keep one of them")
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _construct_mapping)


def load_yaml(path: str | Path) -> Any:
    """The YAML document in `path`, refusing repeated keys (DuplicateKeyError, whose message
    names the file). OSError and yaml.YAMLError pass through."""
    text = Path(path).read_text()
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except DuplicateKeyError as error:
        raise DuplicateKeyError(f"{path}: {error}") from None
