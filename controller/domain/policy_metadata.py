"""A policy's METADATA: what OPA's parser read from the block before `package`, checked.

OPA's own annotation parser reads the blocks (controller/engine/libopa.py, `inspect`); this
module only judges them. A package with `deny` rules but no valid METADATA is refused: without
an enforcement we cannot know whether a finding should block, and guessing either way is wrong
(when in doubt, refuse and block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

Enforcement = Literal["deny", "warn", "dryrun"]
Severity = Literal["high", "medium", "low"]
ENFORCEMENTS: tuple[str, ...] = get_args(Enforcement)
SEVERITIES: tuple[str, ...] = get_args(Severity)

# Custom fields that are day counts (graceDays, warnDays, exception_lifetime's
# maxLifetimeDays): checked when the policy loads, so that a typo ("7", -1, 1.5) is refused,
# not read as 0 by the rule.
DAY_PARAMETERS = ("graceDays", "warnDays", "maxLifetimeDays")
MAX_PARAMETER_DAYS = 366


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
    # The whole `custom:` mapping, for parameters read in Python too (e.g. graceDays).
    custom: Mapping[str, Any] = field(default_factory=dict, compare=False)


def day_parameter(value: object, name: str) -> int:
    """A METADATA day count: a whole number from 0 to MAX_PARAMETER_DAYS, else ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
        or not 0 <= value <= MAX_PARAMETER_DAYS
    ):
        raise ValueError(
            f"METADATA custom.{name} must be a whole number of days from 0 to "
            f"{MAX_PARAMETER_DAYS}, found {value!r}"
        )
    return int(value)


@dataclass(frozen=True)
class ModuleSummary:
    """What the policy checks need of a parsed module."""

    package: str
    defines_deny: bool
    # The METADATA block with `scope: package` (the one written before `package`), if any.
    package_metadata: Mapping[str, Any] | None


def _required_string(fields: Mapping[str, Any], key: str, where: str, module: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PolicyMetadataError(module, f"METADATA {where}{key} must be a non-empty string")
    return value.strip()


def policy_info(module: str, package: str, document: Mapping[str, Any]) -> PolicyInfo:
    """Check one package-scoped METADATA block (as OPA parsed it) and make its PolicyInfo.

    The policy's id is its package (`golive.<area>.<rule>`, mirroring its folder): written once.
    Raises PolicyMetadataError when title/enforcement/severity are missing or invalid, or when a
    `custom.id` is given and differs from the package (one name per policy, used by exceptions
    and status alike).
    """
    custom = document.get("custom")
    if not isinstance(custom, Mapping):
        raise PolicyMetadataError(module, "METADATA has no `custom:` mapping (id, enforcement...)")

    policy_id = package
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
    given_id = custom.get("id", package)
    if given_id != package:
        raise PolicyMetadataError(
            module,
            f"METADATA custom.id {given_id!r} differs from the package {package!r}; the id is "
            "the package, so custom.id can be left out",
        )
    for name in DAY_PARAMETERS:
        if name in custom:
            try:
                day_parameter(custom[name], name)
            except ValueError as error:
                raise PolicyMetadataError(module, str(error)) from None
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
        custom=dict(custom),
    )


def policies_of_modules(modules: Mapping[str, ModuleSummary]) -> dict[str, PolicyInfo]:
    """The policies (by id) of a set of parsed modules, checked per package.

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
        summary = modules[module]
        if summary.defines_deny:
            deny_modules.setdefault(summary.package, []).append(module)
        if summary.package_metadata is None:
            continue
        info = policy_info(module, summary.package, summary.package_metadata)
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
