"""Named, parameterised components: the one mechanism behind every registry in the suite.

A *spec* is the string a user writes in config.yaml or on the command line:

    "tanh"                         -> name "tanh", no arguments
    "leaky_relu:0.2"               -> name "leaky_relu", positional argument 0.2
    "variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal"
                                   -> keyword arguments

Values are parsed as YAML scalars, so "0.2" is a float, "3" an int and "fan_in" a string.
A registry maps a name to a factory; `Registry.build(spec)` calls the factory with the
parsed arguments. Adding a component is one `@REGISTRY.register("name")` line.
"""

from __future__ import annotations

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
        parts = [_format_value(a) for a in self.args]
        parts += [f"{k}={_format_value(v)}" for k, v in self.kwargs]
        return self.name + (":" + ",".join(parts) if parts else "")


def _format_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _parse_scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


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
            if eq:
                kwargs[key.strip()] = _parse_scalar(value.strip())
            elif kwargs:
                raise ValueError(
                    f"in {spec!r}: positional argument {token!r} follows a key=value one"
                )
            else:
                args.append(_parse_scalar(token.strip()))
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

    def __contains__(self, name: str) -> bool:
        return parse_spec(name).name in self._factories

    def validate(self, spec: str | Spec) -> Spec:
        """Parse `spec`, check its name and arguments, return the parsed spec."""
        self.build(spec)
        return parse_spec(spec)

    def build(self, spec: str | Spec) -> T:
        parsed = parse_spec(spec)
        factory = self._factories.get(parsed.name)
        if factory is None:
            raise ValueError(
                f"unknown {self.kind} {parsed.name!r}; valid names: {', '.join(self.names())}"
            )
        try:
            return factory(*parsed.args, **dict(parsed.kwargs))
        except TypeError as error:
            raise ValueError(f"bad arguments for {self.kind} {str(parsed)!r}: {error}") from None
