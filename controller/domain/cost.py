"""Monthly cost projection in exact decimal arithmetic.

Rego and JSON numbers are floats, so budgets are compared here and Rego receives the results
as decimal strings and booleans (design.md, "The policy input").

Number format: amounts are *exact* (no rounding ever), written as plain decimal strings with at
least two decimal places: 0.0004 x 2000 x 30 -> "24.00"; 0.00037 x 1234 x 30 -> "13.6974".
Exactness keeps the strings and the `withinNx` booleans consistent: a displayed amount is never
rounded below the limit it is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

from controller.domain.model import DECIMAL_STRING

DAYS_PER_MONTH = 30
SCALES = (1, 10, 100)

# Generous precision with Inexact trapped: an amount too long to multiply exactly is refused
# (treated as malformed) instead of being silently rounded.
_PRECISION = 120


@dataclass(frozen=True)
class CostProjection:
    """The cost facts for one agent. `problems` says why `declared` is false (for messages)."""

    declared: bool
    currency: str | None
    monthly_limit: str | None
    monthly: Mapping[int, Decimal]  # scale -> exact monthly amount; empty when not declared
    within: Mapping[int, bool]  # scale -> amount <= limit; all False when not declared
    problems: tuple[str, ...]

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
        return block


def format_amount(amount: Decimal) -> str:
    """Exact plain notation with at least two decimal places ("24.00", "13.6974", "0.000009")."""
    text = format(amount, "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _decimal(value: object, path: str, problems: list[str]) -> Decimal | None:
    if value is None:
        problems.append(f"{path} is missing")
        return None
    if not isinstance(value, str) or not DECIMAL_STRING.match(value):
        problems.append(f'{path}: expected a decimal string like "4000", found {value!r}')
        return None
    return Decimal(value)


def project_cost(budget: object) -> CostProjection:
    """Project the monthly cost of `spec.budget` (the raw value, possibly absent or malformed).

    Never raises: a missing or malformed budget gives `declared: False` with the reasons in
    `problems`, because an undeclared budget is a checklist finding for Rego, not a crash.
    """
    problems: list[str] = []
    if not isinstance(budget, Mapping):
        if budget is not None:
            problems.append("spec.budget: expected an object")
        else:
            problems.append("spec.budget is missing")
        return CostProjection(False, None, None, {}, {}, tuple(problems))

    currency_raw = budget.get("currency")
    currency = currency_raw if isinstance(currency_raw, str) and currency_raw else None
    if currency is None:
        problems.append("spec.budget.currency is missing or not a non-empty string")
    limit_raw = budget.get("monthlyLimit")
    limit = _decimal(limit_raw, "spec.budget.monthlyLimit", problems)
    per_request = _decimal(budget.get("costPerRequest"), "spec.budget.costPerRequest", problems)
    daily = budget.get("expectedDailyRequests")
    if daily is None:
        problems.append("spec.budget.expectedDailyRequests is missing")
    elif not isinstance(daily, int) or isinstance(daily, bool) or daily < 0:
        problems.append(
            f"spec.budget.expectedDailyRequests: expected a non-negative integer, found {daily!r}"
        )
        daily = None
    shown_limit = limit_raw if limit is not None else None

    monthly: dict[int, Decimal] = {}
    if per_request is not None and isinstance(daily, int):
        try:
            with localcontext() as context:
                context.prec = _PRECISION
                context.traps[Inexact] = True
                base = per_request * daily * DAYS_PER_MONTH
                monthly = {scale: base * scale for scale in SCALES}
        except (Inexact, InvalidOperation):
            problems.append("spec.budget: amounts too long to multiply exactly")
            monthly = {}

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
    )
