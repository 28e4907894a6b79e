"""Names to classes: how ``"sigmoid"``, ``"mse"`` or ``"adam"`` become objects, in one place.

Each kind of part (activation, loss, optimizer, layer) has one :class:`Registry`, filled at the end of
its module from the classes themselves: a class's ``name`` and ``aliases`` are its keys. Everything
that lists the choices (the CLI's ``--loss`` help, error messages, the docs) reads ``registry.names()``,
so a class added to its module's registry appears everywhere at once. Nothing else in glassnet looks
a part up by its name string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from glassnet.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """The classes of one kind, by canonical ``name`` and by each of their ``aliases``."""

    def __init__(self, kind: str, classes: Iterable[type[T]]) -> None:
        self.kind = kind
        self.by_name: dict[str, type[T]] = {}
        for cls in classes:
            self.add(cls)

    def add(self, cls: type[T]) -> type[T]:
        """Register ``cls`` under its ``name`` and ``aliases`` (usable as a class decorator)."""
        named: Any = cls
        for key in (named.name, *getattr(named, "aliases", ())):
            self.by_name[str(key).lower()] = cls
        return cls

    def names(self) -> list[str]:
        """The canonical names, in registration order (what the CLI offers)."""
        seen: list[str] = []
        for cls in self.by_name.values():
            name = getattr(cls, "name")  # noqa: B009  (every registered class has one; T does not say so)
            if name not in seen:
                seen.append(name)
        return seen

    def classes(self) -> list[type[T]]:
        """Each registered class once, in registration order (what the tests iterate over)."""
        return list(dict.fromkeys(self.by_name.values()))

    def __contains__(self, name: object) -> bool:
        return str(name).lower() in self.by_name

    def __getitem__(self, name: str) -> type[T]:
        return self.lookup(name)

    def __iter__(self) -> Any:
        return iter(self.by_name)

    def keys(self) -> Any:
        return self.by_name.keys()

    def lookup(self, name: object) -> type[T]:
        """The class called ``name``; :class:`~glassnet.errors.ConfigError` naming the closest valid name if none."""
        key = str(name).lower()
        if key not in self.by_name:
            raise unknown_name(self.kind, name, self.by_name)
        return self.by_name[key]

    def from_config(self, config: dict[str, Any]) -> T:
        """Rebuild a part from its ``config()`` (``{"name": ..., **settings}``), as save/load and checkpoints do."""
        cls: Any = self.lookup(config["name"])
        if hasattr(cls, "from_config"):
            return cls.from_config(config)  # type: ignore[no-any-return]
        return cls(**{k: v for k, v in config.items() if k != "name"})  # type: ignore[no-any-return]
