"""Monthly cost projection in exact decimal arithmetic.

Rego and JSON numbers are floats, so budgets are compared here and Rego receives the results
as decimal strings and booleans (design.md, "The policy input").

Number format: amounts are *exact* (no rounding ever), written as plain decimal strings with at
least two decimal places: 0.0004 x 2000 x 30 -> "24.00"; 0.00037 x 1234 x 30 -> "13.6974".
Exactness keeps the strings and the `withinNx` booleans consistent: a displayed amount is never
rounded below the limit it is compared with.

Model layering (spec.models): the cost of one request is spec.budget.costPerRequest (what a
request costs besides the declared models: hosting, retrieval, tools; without models, the whole
cost, as before models existed) plus the costPerRequest of every declared model; a rules layer
costs nothing per request. With models declared, spec.budget.costPerRequest may be left out.
An agent without models is projected exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

from controller.domain.errors import _MISSING, SpecError

DAYS_PER_MONTH = 30
SCALES = (1, 10, 100)

# Money is a decimal string in the API (design.md): floats would make budgets inexact.
DECIMAL_STRING = re.compile(r"^[0-9]+(\.[0-9]+)?$")

# The layers of an agent's model landscape (spec.models[].role); a rules layer is code, not a
# model call, so it costs nothing per request and declares no costPerRequest.
MODEL_ROLES = ("reasoning", "judge", "classifier", "rules")
COSTLESS_ROLES = frozenset({"rules"})

# Generous precision with Inexact trapped: an amount too long to multiply exactly is refused
# (treated as malformed) instead of being silently rounded.
_PRECISION = 120


@dataclass(frozen=True)
class CostProblem:
    """Why the cost could not be projected: the field to fix and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_input(self) -> dict[str, str]:
        return {"field": self.field, "msg": self.message}


@dataclass(frozen=True)
class ModelCost:
    """One declared model's share of the projection (a rules layer has cost_per_request 0)."""

    name: str
    role: str
    cost_per_request: Decimal
    monthly: Mapping[int, Decimal]  # scale -> exact monthly amount

    def to_input(self) -> dict[str, Any]:
        block: dict[str, Any] = {
            "name": self.name,
            "role": self.role,
            "costPerRequest": format_amount(self.cost_per_request),
        }
        for scale in SCALES:
            block[f"monthly{scale}x"] = format_amount(self.monthly[scale])
        return block


@dataclass(frozen=True)
class CostProjection:
    """The cost facts for one agent. `problems` says why `declared` is false (for messages)."""

    declared: bool
    currency: str | None
    monthly_limit: str | None
    monthly: Mapping[int, Decimal]  # scale -> exact monthly amount; empty when not declared
    within: Mapping[int, bool]  # scale -> amount <= limit; all False when not declared
    problems: tuple[CostProblem, ...]
    per_request: Decimal | None = None  # budget.costPerRequest + the models'; None if unknown
    models: tuple[ModelCost, ...] = ()  # the split per declared model, when projected

    def to_input(self) -> dict[str, Any]:
        """The `cost` block of the policy input; every key is always present (null if unknown)."""
        block: dict[str, Any] = {
            "declared": self.declared,
            "currency": self.currency,
            "monthlyLimit": self.monthly_limit,
        }
        for scale in SCALES:
            amount = self.monthly.get(scale)
            block[f"monthly{scale}x"] = None if amount is None else format_amount(amount)
        for scale in SCALES:
            block[f"within{scale}x"] = self.within.get(scale, False)
        block["costPerRequest"] = (
            None if self.per_request is None else format_amount(self.per_request)
        )
        block["models"] = [model.to_input() for model in self.models]
        block["problems"] = [problem.to_input() for problem in self.problems]
        return block


def format_amount(amount: Decimal) -> str:
    """Exact plain notation with at least two decimal places ("24.00", "13.6974", "0.000009")."""
    text = format(amount, "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _decimal(value: object, path: str, problems: list[CostProblem]) -> Decimal | None:
    if value is None:
        problems.append(CostProblem(path, "is missing"))
        return None
    if not isinstance(value, str) or not DECIMAL_STRING.match(value):
        problems.append(
            CostProblem(path, f'expected a decimal string like "4000", found {value!r}')
        )
        return None
    return Decimal(value)


@dataclass(frozen=True)
class Model:
    """One entry of spec.models: a model the agent calls, its role and its cost per request."""

    name: str
    role: str
    cost_per_request: Decimal  # 0 for a rules layer (it costs nothing per request)


def parse_model(value: object, path: str) -> Model:
    """One spec.models entry; raises SpecError naming the field, e.g. spec.models[1].role.

    The CRD schema refuses the same shapes at the API server; this is the check for the places
    that do not run it (CEL is not evaluated offline) and for objects stored before it existed.
    """
    if not isinstance(value, Mapping):
        raise SpecError(path, "an object", value)
    name = value.get("name", _MISSING)
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}.name", "a non-empty string", name)
    role = value.get("role", _MISSING)
    if role not in MODEL_ROLES:
        raise SpecError(f"{path}.role", "one of " + ", ".join(MODEL_ROLES), role)
    cost = value.get("costPerRequest", _MISSING)
    if role in COSTLESS_ROLES:
        if cost is not _MISSING:
            raise SpecError(
                f"{path}.costPerRequest",
                "no costPerRequest: a rules layer costs nothing per request (put its hosting "
                "cost in spec.budget.costPerRequest)",
                cost,
            )
        return Model(name, str(role), Decimal(0))
    if not isinstance(cost, str) or not DECIMAL_STRING.match(cost):
        raise SpecError(
            f"{path}.costPerRequest",
            f'a non-negative decimal string like "0.0004" (the cost of one request to this '
            f"{role} model)",
            cost,
        )
    return Model(name, str(role), Decimal(cost))


def _models(models: object, problems: list[CostProblem]) -> list[Model] | None:
    """Each declared model (spec.models: the one reader of it); None when there are none.

    A malformed entry is a problem naming its field, so a negative or missing cost can never be
    projected as zero.
    """
    if models is None or models == []:
        return None  # no models: the budget alone, exactly as before models existed
    if not isinstance(models, list):
        problems.append(CostProblem("spec.models", "expected an array of models"))
        return []
    out: list[Model] = []
    names: set[str] = set()
    for index, item in enumerate(models):
        path = f"spec.models[{index}]"
        try:
            model = parse_model(item, path)
        except SpecError as error:
            problems.append(
                CostProblem(error.path, f"expected {error.expected}, found {error.found}")
            )
            continue
        if model.name in names:
            problems.append(CostProblem(f"{path}.name", f"model {model.name!r} is declared twice"))
            continue
        names.add(model.name)
        out.append(model)
    return out


def project_cost(budget: object, models: object = None) -> CostProjection:
    """Project the monthly cost of `spec.budget` and `spec.models` (raw values, possibly absent
    or malformed): the one place that reads an agent's budget and models.

    Never raises: a missing or malformed budget or model gives `declared: False` with the
    reasons in `problems`, because an undeclared budget is a checklist finding for Rego (which
    names the field), not a crash.
    """
    problems: list[CostProblem] = []
    layers = _models(models, problems)
    if not isinstance(budget, Mapping):
        if budget is not None:
            problems.insert(0, CostProblem("spec.budget", "expected an object"))
        else:
            problems.insert(0, CostProblem("spec.budget", "is missing"))
        return CostProjection(False, None, None, {}, {}, tuple(problems))

    budget_problems: list[CostProblem] = []
    currency_raw = budget.get("currency")
    currency = currency_raw if isinstance(currency_raw, str) and currency_raw else None
    if currency is None:
        budget_problems.append(
            CostProblem("spec.budget.currency", "is missing or not a non-empty string")
        )
    limit_raw = budget.get("monthlyLimit")
    limit = _decimal(limit_raw, "spec.budget.monthlyLimit", budget_problems)
    per_request_raw = budget.get("costPerRequest")
    per_request: Decimal | None
    if per_request_raw is None and layers is not None:
        per_request = Decimal(0)  # with models, budget.costPerRequest is optional
    else:
        per_request = _decimal(per_request_raw, "spec.budget.costPerRequest", budget_problems)
    daily = budget.get("expectedDailyRequests")
    if daily is None:
        budget_problems.append(CostProblem("spec.budget.expectedDailyRequests", "is missing"))
    elif not isinstance(daily, int) or isinstance(daily, bool) or daily < 0:
        budget_problems.append(
            CostProblem(
                "spec.budget.expectedDailyRequests",
                f"expected a non-negative integer, found {daily!r}",
            )
        )
        daily = None
    problems[:0] = budget_problems
    shown_limit = limit_raw if limit is not None else None

    monthly: dict[int, Decimal] = {}
    split: list[ModelCost] = []
    total: Decimal | None = None
    if per_request is not None and isinstance(daily, int) and not problems:
        try:
            with localcontext() as context:
                context.prec = _PRECISION
                context.traps[Inexact] = True
                total = per_request + sum((m.cost_per_request for m in layers or ()), Decimal(0))
                base = total * daily * DAYS_PER_MONTH
                monthly = {scale: base * scale for scale in SCALES}
                for model in layers or ():
                    one = model.cost_per_request * daily * DAYS_PER_MONTH
                    split.append(
                        ModelCost(
                            model.name,
                            model.role,
                            model.cost_per_request,
                            {s: one * s for s in SCALES},
                        )
                    )
        except (Inexact, InvalidOperation):
            problems.append(CostProblem("spec.budget", "amounts too long to multiply exactly"))
            monthly, split, total = {}, [], None

    declared = not problems
    within = {
        scale: declared and limit is not None and amount <= limit
        for scale, amount in monthly.items()
    }
    return CostProjection(
        declared=declared,
        currency=currency,
        monthly_limit=shown_limit if isinstance(shown_limit, str) else None,
        monthly=monthly,
        within=within,
        problems=tuple(problems),
        per_request=total,
        models=tuple(split),
    )
