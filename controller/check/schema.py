"""Structural validation of golive documents against the CRDs' own OpenAPI schemas.

`golive check` rejects what the API server would reject, with the field path and what was
expected, before any policy runs. CEL rules (x-kubernetes-validations) are not evaluated here;
the API server still enforces them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

DEFAULT_CRDS = Path(__file__).resolve().parents[2] / "crds"


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(the object)"


class SchemaSet:
    """kind -> validator for the served version, from the CRD files in a folder."""

    def __init__(self, crd_dir: Path = DEFAULT_CRDS) -> None:
        self.validators: dict[str, Draft202012Validator] = {}
        for path in sorted(crd_dir.glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                kind = crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version.get("storage"):
                        schema = version["schema"]["openAPIV3Schema"]
                        self.validators[kind] = Draft202012Validator(
                            schema, format_checker=FormatChecker()
                        )

    def errors(self, obj: dict[str, Any]) -> Iterator[str]:
        validator = self.validators.get(str(obj.get("kind")))
        if validator is None:
            return
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            yield f"{_path(error)}: {error.message}"
