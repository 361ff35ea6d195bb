"""Read the METADATA block (YAML in `#` comments before `package`) of a Rego module.

regopy has no `rego.metadata.*`, so golive reads annotations itself at load time. A module with
`deny` rules but no valid METADATA is refused: without an enforcement we cannot know whether a
finding should block, and guessing either way is wrong (when in doubt, refuse and block).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import yaml

Enforcement = Literal["deny", "warn", "dryrun"]
Severity = Literal["high", "medium", "low"]
ENFORCEMENTS: tuple[str, ...] = get_args(Enforcement)
SEVERITIES: tuple[str, ...] = get_args(Severity)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PACKAGE = re.compile(rf"^package[ \t]+({_NAME}(?:\.{_NAME})*)[ \t]*(?:#.*)?$", re.M)
# Rules are written at column 0 (opa fmt); `deny contains`, `deny if`, `deny[...]`, `deny :=`.
_DENY_RULE = re.compile(r"^(?:default[ \t]+)?deny\b", re.M)
_METADATA_START = re.compile(r"^#[ \t]*METADATA[ \t]*$")


class PolicyMetadataError(ValueError):
    """A module's METADATA is missing or invalid; the message names the module."""

    def __init__(self, module: str, problem: str) -> None:
        self.module = module
        self.problem = problem
        super().__init__(f"{module}: {problem}")


@dataclass(frozen=True)
class PolicyInfo:
    id: str
    title: str
    description: str
    enforcement: Enforcement
    severity: Severity
    checklist: str
    package: str
    module: str


def package_of(text: str) -> str | None:
    """The dotted package name of a module, or None if there is no plain `package` line."""
    match = _PACKAGE.search(text)
    return match.group(1) if match else None


def defines_deny(text: str) -> bool:
    return _DENY_RULE.search(text) is not None


def _metadata_yaml(text: str) -> str | None:
    """The YAML text of the last METADATA block before the package line, if any."""
    lines = text.splitlines()
    block: list[str] | None = None
    collecting = False
    for line in lines:
        if _PACKAGE.match(line):
            break
        if _METADATA_START.match(line):
            block, collecting = [], True
            continue
        if collecting and line.startswith("#"):
            body = line[1:]
            assert block is not None
            block.append(body[1:] if body.startswith(" ") else body)
        else:
            collecting = False
    return None if block is None else "\n".join(block)


def _required_string(fields: Mapping[str, Any], key: str, where: str, module: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PolicyMetadataError(module, f"METADATA {where}{key} must be a non-empty string")
    return value.strip()


def parse_policy_metadata(module: str, text: str) -> PolicyInfo | None:
    """Parse one module's METADATA block; None when the module has none (helpers, libraries).

    Raises PolicyMetadataError when the YAML is invalid, when id/title/enforcement/severity are
    missing or invalid, or when the id is not the module's package (one name per policy, used
    by exceptions and status alike). Whether a module *needs* METADATA is decided per package
    by `policies_of_modules`.
    """
    package = package_of(text)
    raw_yaml = _metadata_yaml(text)
    if raw_yaml is None:
        return None
    try:
        document = yaml.safe_load(raw_yaml)
    except yaml.YAMLError as error:
        raise PolicyMetadataError(module, f"METADATA is not valid YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise PolicyMetadataError(module, "METADATA must be a YAML mapping")
    custom = document.get("custom")
    if not isinstance(custom, Mapping):
        raise PolicyMetadataError(module, "METADATA has no `custom:` mapping (id, enforcement...)")

    policy_id = _required_string(custom, "id", "custom.", module)
    enforcement = custom.get("enforcement")
    if enforcement not in ENFORCEMENTS:
        raise PolicyMetadataError(
            module,
            f"METADATA custom.enforcement must be one of {', '.join(ENFORCEMENTS)}, "
            f"found {enforcement!r}",
        )
    severity = custom.get("severity")
    if severity not in SEVERITIES:
        raise PolicyMetadataError(
            module,
            f"METADATA custom.severity must be one of {', '.join(SEVERITIES)}, found {severity!r}",
        )
    if package is None:
        raise PolicyMetadataError(module, "has METADATA but no `package` line")
    if policy_id != package:
        raise PolicyMetadataError(
            module, f"METADATA custom.id {policy_id!r} differs from the package {package!r}"
        )
    description = document.get("description", "")
    checklist = custom.get("checklist", "")
    return PolicyInfo(
        id=policy_id,
        title=_required_string(document, "title", "", module),
        description=description.strip() if isinstance(description, str) else "",
        enforcement=cast(Enforcement, enforcement),
        severity=cast(Severity, severity),
        checklist=checklist if isinstance(checklist, str) else str(checklist),
        package=package,
        module=module,
    )


def policies_of_modules(modules: Mapping[str, str]) -> dict[str, PolicyInfo]:
    """The policies (by id) of a set of modules (name -> text), checked per package.

    A package may be split over several modules, so the rules are per package:
    - a package with `deny` rules needs exactly one module with METADATA (else refused: we
      cannot tell whether its findings deny, warn or dry-run, and guessing is wrong);
    - a package with METADATA but no `deny` rule is refused too: a policy that can never fire
      is almost always a misnamed rule, i.e. a silent admit.
    Raises PolicyMetadataError naming the module.
    """
    infos: dict[str, PolicyInfo] = {}
    deny_modules: dict[str, list[str]] = {}
    for module in sorted(modules):
        text = modules[module]
        package = package_of(text)
        if package is not None and defines_deny(text):
            deny_modules.setdefault(package, []).append(module)
        info = parse_policy_metadata(module, text)
        if info is None:
            continue
        if info.id in infos:
            raise PolicyMetadataError(
                module, f"METADATA for {info.id} is already given in {infos[info.id].module}"
            )
        infos[info.id] = info
    for package, names in sorted(deny_modules.items()):
        if package not in infos:
            raise PolicyMetadataError(
                names[0],
                f"package {package} defines deny rules but no module of it has a METADATA "
                "block before `package`; golive cannot tell whether its findings deny, warn "
                "or dry-run, so it refuses the module",
            )
    for policy_id, info in sorted(infos.items()):
        if policy_id not in deny_modules:
            raise PolicyMetadataError(
                info.module,
                f"has METADATA for {policy_id} but no `deny` rule in that package; a policy "
                "that can never fire is refused (is the rule misnamed?)",
            )
    return infos
