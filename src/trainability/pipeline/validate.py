"""The workflow's config checked before anything is planned, each failure in one line.

Snakemake's own `validate` prints the whole schema and config (hundreds of lines) for one
misspelled key, and YAML silently keeps the last of two equal keys. `checked_config` instead
raises `ConfigError` with one line that names the key and says what it may be: a key given
twice in a config file, a key the schema does not know (with the nearest valid name), a value
of the wrong type or outside its allowed values, or a number that is not finite. The
workflow (workflow/rules/common.smk) prints that line and stops; Snakemake's `validate` then
only fills in the schema's defaults.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from trainability.config_files import load_yaml
from trainability.data.catalog import DATASETS
from trainability.pipeline.settings import normalize
from trainability.train.config import ConfigError


def checked_config(config: dict[str, Any], config_files: Iterable[str | Path],
                   schema_path: str | Path) -> dict[str, Any]:
    """`config` normalized (see settings.normalize) once every check passed; ConfigError
    (one line) otherwise."""
    for path in dict.fromkeys(str(p) for p in config_files):
        try:
            load_yaml(path)
        except ValueError as error:  # DuplicateKeyError
            raise ConfigError(str(error)) from None
        except (OSError, yaml.YAMLError):
            pass  # Snakemake itself read it, or reports why it cannot
    config = normalize(dict(config))
    schema = with_registry_names(yaml.safe_load(Path(schema_path).read_text()))
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(schema_message(error))
    check_finite(config)
    return with_defaults(config, schema)


#: Registries whose names a schema value may be required to be one of, by the keyword
#: `x-one-of-registry: <registry>` (so that the schema never lists them a second time).
REGISTRIES = {"datasets": lambda: list(DATASETS)}


def with_registry_names(schema: Any) -> Any:
    """`schema` with `enum` set to the registry's names wherever `x-one-of-registry` asks."""
    if isinstance(schema, dict):
        schema = {k: with_registry_names(v) for k, v in schema.items()}
        if "x-one-of-registry" in schema:
            schema["enum"] = REGISTRIES[schema["x-one-of-registry"]]()
        return schema
    if isinstance(schema, list):
        return [with_registry_names(item) for item in schema]
    return schema


def with_defaults(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`config` with the `default` of every top-level property it lacks (what Snakemake's
    `validate(..., set_default=True)` does for the keys of this schema)."""
    defaults = {key: spec["default"] for key, spec in schema.get("properties", {}).items()
                if "default" in spec and key not in config}
    return {**config, **defaults}


def key_path(path: Iterable[Any]) -> str:
    """("presets", "quick", "lr_grid", 0) -> "presets.quick.lr_grid[0]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def schema_message(error: jsonschema.ValidationError) -> str:
    """One line for a schema violation: the key, what it may be, what it was."""
    where = key_path(error.absolute_path)
    schema, instance = error.schema, error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        extra = sorted(set(instance) - set(known))
        key = extra[0] if extra else "?"
        inside = "" if where == "(top level)" else f" under {where}"
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        if not known:  # a mapping of names (studies, presets): its entries' keys
            return f"config key {key!r}{inside} is not allowed: {error.message}"
        return (f"config key {key!r}{inside} is not a setting; {hint}valid keys: "
                f"{', '.join(known)}")
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config key {where} must be one of {allowed}; got {instance!r}"
    if error.validator == "type":
        kinds = error.validator_value
        kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
        return f"config key {where} must be of type {kinds}; got {instance!r}"
    if error.validator == "required":
        return f"config key {where}: {error.message}"
    return f"config key {where}: {' '.join(error.message.split())}"


def check_finite(value: Any, path: tuple = ()) -> None:
    """ConfigError naming the first number in `value` (nested lists and mappings) that is
    infinite or NaN: a learning rate of inf would train and write a result."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_finite(item, (*path, index))
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key {key_path(path)} must be a finite number; got {value}")
