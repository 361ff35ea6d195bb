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

from controller.bundled import CRDS
from controller.domain.api import KINDS


class SchemaError(Exception):
    """The CRD schemas cannot be read; the message says which and where from."""


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(the object)"


class SchemaSet:
    """kind -> validator for the served version, from the CRD files in a folder."""

    def __init__(self, crd_dir: Path = CRDS) -> None:
        """Raises SchemaError when the folder or a kind's CRD is missing or unreadable."""
        self.validators: dict[str, Draft202012Validator] = {}
        if not crd_dir.is_dir():
            raise SchemaError(f"the CRD schemas are missing: {crd_dir} is not a folder")
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
        # Every kind golive reads: a missing schema stops `golive check`, never passes it.
        missing = [kind for kind in KINDS if kind not in self.validators]
        if missing:
            raise SchemaError(
                f"the CRD schemas in {crd_dir} lack {', '.join(missing)}; golive check will not "
                "decide without them"
            )

    def errors(self, obj: dict[str, Any]) -> Iterator[str]:
        validator = self.validators.get(str(obj.get("kind")))
        if validator is None:
            return
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            yield f"{_path(error)}: {error.message}"
