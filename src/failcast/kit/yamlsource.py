"""Validate YAML documents against pydantic models with errors that name the line and the key.

YAML is parsed twice: once into plain data and once into the node tree (`yaml.compose`), whose
marks give the line of every mapping key and sequence item. A pydantic error location such as
`("services", 2, "depends_on", 0, "target")` is matched against those marks; when the exact
location does not exist in the file (a missing key) the nearest enclosing one is used.

A validator that knows a more precise location than pydantic reports raises
`PydanticCustomError` with `field_loc` (a tuple, relative to the validated model) in its ctx.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from failcast.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """One thing wrong with a YAML document, located by line (1-based) and key path."""

    line: int
    column: int
    field: str
    msg: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "field": self.field, "msg": self.msg}

    def __str__(self) -> str:
        where = f"line {self.line}"
        return f"{where}: {self.field}: {self.msg}" if self.field else f"{where}: {self.msg}"


class YamlConfigError(ValidationFailed):
    """A YAML document that failed to parse or validate; `detail` lists every problem."""

    def __init__(self, source: str, problems: Sequence[YamlProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__([p.as_dict() for p in self.problems])

    def __str__(self) -> str:
        lines = [f"{self.source}: {p}" for p in self.problems]
        return "\n".join(lines)


def custom_error(field_loc: Loc, message: str) -> PydanticCustomError:
    """An error raised from a model validator that still points at one field in the file."""
    return PydanticCustomError(
        "invalid_value", "{message}", {"message": message, "field_loc": field_loc}
    )


class MarkIndex:
    """Line and column of every key and item in a composed YAML document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._marks: dict[Loc, tuple[int, int]] = {}
        self.duplicates: list[tuple[Loc, int, int]] = []
        if root is not None:
            self._marks[()] = _position(root)
            self._walk(root, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*loc, key)
                if key in seen:
                    self.duplicates.append((child, *_position(key_node)))
                seen.add(key)
                self._marks.setdefault(child, _position(key_node))
                self._walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                self._marks[child] = _position(item)
                self._walk(item, child)

    def locate(self, loc: Loc) -> tuple[int, int]:
        """Position of `loc`, or of its longest prefix present in the document."""
        found = self._marks.get((), (1, 1))
        path: Loc = ()
        for part in loc:
            # A mapping key that YAML read as a number (a tier `1:`) is indexed by its text.
            # Parts absent from the file (union tags, a missing key) are stepped over.
            for candidate in (part, str(part)):
                position = self._marks.get((*path, candidate))
                if position is not None:
                    path, found = (*path, candidate), position
                    break
        return found


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _field_name(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _clean(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def parse_documents(text: str, source: str) -> list[tuple[Any, MarkIndex]]:
    """Every document in `text` with its mark index; syntax errors become `YamlConfigError`."""
    try:
        data = list(yaml.safe_load_all(text))
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"not valid YAML: {exc.problem or exc.context or 'syntax error'}"
        raise YamlConfigError(source, [YamlProblem(line, column, "", msg)]) from None
    except yaml.YAMLError as exc:
        raise YamlConfigError(source, [YamlProblem(1, 1, "", f"not valid YAML: {exc}")]) from None
    documents: list[tuple[Any, MarkIndex]] = []
    for value, node in zip(data, nodes, strict=True):
        index = MarkIndex(node)
        if index.duplicates:
            problems = [
                YamlProblem(line, column, _field_name(loc), "duplicate key")
                for loc, line, column in index.duplicates
            ]
            raise YamlConfigError(source, problems)
        documents.append((value, index))
    return documents


def problems_from_validation(
    exc: ValidationError, marks: MarkIndex, prefix: Loc = ()
) -> list[YamlProblem]:
    """Map pydantic errors to file positions; `prefix` is where the model sits in the file."""
    problems: list[YamlProblem] = []
    for error in exc.errors(include_url=False):
        # pydantic marks a bad dict key with a trailing "[key]"; the key itself is the place.
        loc: Loc = (*prefix, *(part for part in error["loc"] if part != "[key]"))
        ctx = error.get("ctx") or {}
        field_loc = ctx.get("field_loc")
        if isinstance(field_loc, tuple):
            loc = (*loc, *field_loc)
        line, column = marks.locate(loc)
        problems.append(YamlProblem(line, column, _field_name(loc), _clean(str(error["msg"]))))
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def validate_yaml(
    model: type[M],
    text: str,
    source: str = "<yaml>",
    *,
    context: dict[str, Any] | None = None,
    require_mapping: bool = True,
) -> M:
    """Parse one YAML document and validate it as `model`, or raise `YamlConfigError`."""
    documents = parse_documents(text, source)
    if len(documents) != 1:
        msg = f"expected exactly one YAML document, found {len(documents)}"
        raise YamlConfigError(source, [YamlProblem(1, 1, "", msg)])
    data, marks = documents[0]
    return validate_document(
        model, data, marks, source, context=context, require_mapping=require_mapping
    )


def validate_document(
    model: type[M],
    data: Any,
    marks: MarkIndex,
    source: str,
    *,
    prefix: Loc = (),
    context: dict[str, Any] | None = None,
    require_mapping: bool = True,
) -> M:
    """Validate already-parsed data, reporting problems at their lines in the file."""
    if require_mapping and not isinstance(data, dict):
        line, column = marks.locate(prefix)
        msg = "expected a mapping of keys to values"
        raise YamlConfigError(source, [YamlProblem(line, column, _field_name(prefix), msg)])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise YamlConfigError(source, problems_from_validation(exc, marks, prefix)) from None


def problem_at(marks: MarkIndex, loc: Loc, msg: str) -> YamlProblem:
    """A problem found after validation (such as a dependency cycle), located in the file."""
    line, column = marks.locate(loc)
    return YamlProblem(line, column, _field_name(loc), msg)
