"""YAML configuration files validated by a pydantic model, with errors that
name the file and line: ``file:line: path.to.field: message``.

Shared by the rules file and the on-call file. The loader drops YAML 1.1's
base-60 integers, so that ``handoff: 10:00`` stays the string ``"10:00"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
Lines = dict[tuple[Any, ...], int]


class YamlFileError(ValueError):
    """An invalid file; ``errors`` are ``"file:line: path: message"`` strings."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class ItemError(ValueError):
    """A validation error about one part of a value, ``at`` a path below it, so
    that the error names that part's line rather than the whole field's."""

    def __init__(self, message: str, at: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.at = at


class _Loader(yaml.SafeLoader):
    pass


_INT = "tag:yaml.org,2002:int"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _INT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)


def _to_python(loader: _Loader, node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            result[key] = _to_python(loader, value_node, (*path, key), lines)
            # An error about a key (unknown, or a bad block value) names the key's line.
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _line_for(loc: tuple[Any, ...], lines: Lines) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _yaml_error(source: str, exc: yaml.YAMLError) -> list[str]:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc)
    return [f"{source}:{line}: invalid YAML: {problem}"]


def validation_messages(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """``(location, message)`` of each error, the location extended into list items."""
    found = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, ItemError):
            loc = (*loc, *cause.at)
        found.append((loc, err["msg"].removeprefix("Value error, ")))
    return found


def parse_yaml(
    model: type[ModelT], text: str, source: str, *, what: str, error: type[YamlFileError]
) -> ModelT:
    """Parse and validate ``text``; ``error`` carries each problem with its line."""
    return parse_yaml_lines(model, text, source, what=what, error=error)[0]


def parse_yaml_lines(
    model: type[ModelT], text: str, source: str, *, what: str, error: type[YamlFileError]
) -> tuple[ModelT, Lines]:
    """:func:`parse_yaml`, with the line of each path (``("routes", 0, "policy")``),
    for checks that come after validation and must name a line too."""
    loader = _Loader(text)
    lines: Lines = {}
    try:
        node = loader.get_single_node()
        data = {} if node is None else _to_python(loader, node, (), lines)
    except yaml.YAMLError as exc:  # syntax, a bad merge key, an unhashable key
        raise error(_yaml_error(source, exc)) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise error([f"{source}:{lines.get((), 1)}: the {what} must be a mapping"])
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        errors = []
        for loc, message in validation_messages(exc):
            where = ".".join(str(part) for part in loc) or "(top level)"
            errors.append(f"{source}:{_line_for(loc, lines)}: {where}: {message}")
        raise error(errors) from exc


def load_yaml(model: type[ModelT], path: Path, *, what: str, error: type[YamlFileError]) -> ModelT:
    return load_yaml_lines(model, path, what=what, error=error)[0]


def load_yaml_lines(
    model: type[ModelT], path: Path, *, what: str, error: type[YamlFileError]
) -> tuple[ModelT, Lines]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error([f"{path}: cannot read the {what}: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise error([f"{path}:{line}: the {what} is not valid UTF-8"]) from exc
    return parse_yaml_lines(model, text, str(path), what=what, error=error)
