"""One conversion from a domain object to its GraphQL type, instead of a hand-copied `.of()` per type.

`of(Type, obj)` fills every plain field of a Strawberry type from the attribute (or mapping key)
of the same name; fields computed by a resolver are left to it. A stored string becomes the
field's enum member (domain StrEnums are the enums the schema exposes, so the values are one list).
Give what the object does not hold, or holds under another name, as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar, cast

from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

T = TypeVar("T")
_MISSING = object()


def _enum_of(field_type: Any) -> type[Enum] | None:
    while isinstance(field_type, StrawberryOptional | StrawberryList):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryEnumDefinition):
        return cast("type[Enum]", field_type.wrapped_cls)
    return None


def _as(enum: type[Enum] | None, value: Any) -> Any:
    if enum is None or value is None or isinstance(value, enum):
        return value
    if isinstance(value, list | tuple):
        return [_as(enum, v) for v in value]
    return enum(value)


def of(cls: type[T], obj: Any, **given: Any) -> T:
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    for f in definition.fields:
        if f.base_resolver is not None:
            continue
        name = f.python_name
        if name in given:
            value = given[name]
        else:
            value = obj.get(name, _MISSING) if isinstance(obj, Mapping) else getattr(obj, name, _MISSING)
            if value is _MISSING:
                raise TypeError(f"{cls.__name__}.{name}: {type(obj).__name__} has no {name}; give it")
        values[name] = _as(_enum_of(f.type), value)
    return cls(**values)
