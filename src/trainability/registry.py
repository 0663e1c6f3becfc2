"""Named, parameterised components: the one mechanism behind every registry in the suite.

A *spec* is the string a user writes in config.yaml or on the command line:

    "tanh"                         -> name "tanh", no arguments
    "leaky_relu:0.2"               -> name "leaky_relu", positional argument 0.2
    "variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal"
                                   -> keyword arguments

Values are parsed as YAML scalars, so "0.2" is a float, "3" an int and "fan_in" a string;
anything Python reads as a number ("1e-5", which YAML 1.1 leaves a string) is a number, and a
number that is not finite ("inf", ".nan", "1.0e400") is an error. A registry maps a name to a
factory; `Registry.build(spec)` calls the factory with the parsed arguments. Adding a
component is one `@REGISTRY.register("name")` line.

Numbers are spelled one way (`format_value`: 1 and 1.0 are "1", 0.00001 is "1e-05"), so that
components' names, and with them the grid's networks, have one spelling each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import yaml

T = TypeVar("T")


@dataclass(frozen=True)
class Spec:
    """A parsed component spec: `name:positional,...,key=value,...`."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        parts = [format_value(a) for a in self.args]
        parts += [f"{k}={format_value(v)}" for k, v in self.kwargs]
        return self.name + (":" + ",".join(parts) if parts else "")


def format_value(value: Any) -> str:
    """The one spelling of an argument: integral numbers without a fraction (2, 2.0 -> "2"),
    other floats as Python's shortest round-trip repr (0.00001 -> "1e-05"), else str()."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _parse_scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:  # YAML 1.1 reads "1e-5", "inf" and "nan" as strings; Python reads numbers
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_spec(spec: str | Spec) -> Spec:
    """Parse `name[:arg,...,key=value,...]` into a `Spec`.

    Raises ValueError (one line) when the text is empty or malformed.
    """
    if isinstance(spec, Spec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"expected a component name such as 'tanh' or 'leaky_relu:0.2', got {spec!r}"
        )
    name, _, rest = spec.strip().partition(":")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if rest:
        for token in rest.split(","):
            key, eq, value = token.partition("=")
            try:
                parsed = _parse_scalar((value if eq else token).strip())
            except ValueError as error:
                raise ValueError(f"in {spec!r}: {error}") from None
            if eq:
                kwargs[key.strip()] = parsed
            elif kwargs:
                raise ValueError(
                    f"in {spec!r}: positional argument {token!r} follows a key=value one"
                )
            else:
                args.append(parsed)
    return Spec(name.strip(), tuple(args), tuple(kwargs.items()))


class Registry(Generic[T]):
    """Maps names to factories; `build(spec)` turns a spec string into a component."""

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def unregister(self, name: str) -> None:
        """Remove `name` (a test's or a plugin's temporary component); KeyError if absent."""
        del self._factories[name]

    def registered(self) -> list[str]:
        """The names in the order they were registered."""
        return list(self._factories)

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered under `name` (ValueError naming the valid ones)."""
        if name not in self._factories:
            raise ValueError(
                f"unknown {self.kind} {name!r}; valid names: {', '.join(self.names())}"
            )
        return self._factories[name]

    def __contains__(self, name: str) -> bool:
        return parse_spec(name).name in self._factories

    def validate(self, spec: str | Spec) -> Spec:
        """Parse `spec`, check its name and arguments, return the parsed spec."""
        self.build(spec)
        return parse_spec(spec)

    def build(self, spec: str | Spec) -> T:
        parsed = parse_spec(spec)
        factory = self.factory(parsed.name)
        try:
            return factory(*parsed.args, **dict(parsed.kwargs))
        except TypeError as error:
            raise ValueError(f"bad arguments for {self.kind} {str(parsed)!r}: {error}") from None
