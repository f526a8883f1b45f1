"""SLO files: Failcast's own (`slos:`), and what the Sloth (sloth.py) and OpenSLO (openslo.py)
importers share. Every error names the line and the key in the imported file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from failcast.kit.yamlsource import (
    Loc,
    MarkIndex,
    YamlConfigError,
    YamlProblem,
    problem_at,
    problems_from_validation,
    validate_yaml,
)
from failcast.slo.schemas import (
    SloDefinition,
)

Fail = Callable[[Loc, str], YamlConfigError]
Located = tuple[SloDefinition, YamlProblem]


# ----------------------------------------------------------------------------- Sloth


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ----------------------------------------------------------------------------- OpenSLO


# ----------------------------------------------------------------------------- shared


def definition(body: dict[str, Any], marks: MarkIndex, loc: Loc, source: str) -> Located:
    try:
        return SloDefinition.model_validate(body), problem_at(marks, loc, "")
    except ValidationError as exc:
        # Failcast's own rules (names, objective) are reported at the imported SLO's position.
        raise YamlConfigError(source, problems_from_validation(exc, marks, loc)) from None


def unique(definitions: list[Located], source: str) -> list[SloDefinition]:
    seen: set[tuple[str, str]] = set()
    for definition, where in definitions:
        key = (definition.service, definition.name)
        if key in seen:
            msg = f"SLO {definition.name} of {definition.service} is defined twice"
            raise YamlConfigError(source, [YamlProblem(where.line, where.column, where.field, msg)])
        seen.add(key)
    return [definition for definition, _ in definitions]


def load_slo_yaml(text: str, source: str = "slos.yaml") -> list[SloDefinition]:
    """Failcast's own format: `slos:` followed by a list of `SloDefinition` bodies."""
    return list(validate_yaml(_SloFile, text, source).slos)


class _SloFile(Strict):
    slos: list[SloDefinition] = Field(min_length=1)
