"""Cost projection: exact decimals, the 10x/100x scales, and `declared`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.domain.cost import format_amount, project_cost

DESIGN_BUDGET = {
    "currency": "USD",
    "monthlyLimit": "4000",
    "costPerRequest": "0.0004",
    "expectedDailyRequests": 2000,
}


def test_design_example_gives_the_documented_block() -> None:
    block = project_cost(DESIGN_BUDGET).to_input()
    assert block == {
        "declared": True,
        "currency": "USD",
        "monthlyLimit": "4000",
        "monthly1x": "24.00",
        "monthly10x": "240.00",
        "monthly100x": "2400.00",
        "within1x": True,
        "within10x": True,
        "within100x": True,
    }


def test_amounts_are_exact_not_rounded() -> None:
    budget = dict(DESIGN_BUDGET, costPerRequest="0.00037", expectedDailyRequests=1234)
    block = project_cost(budget).to_input()
    assert block["monthly1x"] == "13.6974"  # 0.00037 * 1234 * 30, no float, no rounding
    assert block["monthly100x"] == "1369.74"


def test_float_arithmetic_would_be_wrong_here_but_decimal_is_not() -> None:
    # 0.1 * 3 * 30 in floats is 9.000000000000002; the limit "9" must still be met.
    budget = dict(DESIGN_BUDGET, costPerRequest="0.1", expectedDailyRequests=3, monthlyLimit="9")
    block = project_cost(budget).to_input()
    assert block["monthly1x"] == "9.00"
    assert block["within1x"] is True
    assert block["within10x"] is False


def test_limit_exactly_equal_is_within() -> None:
    budget = dict(DESIGN_BUDGET, monthlyLimit="2400")
    block = project_cost(budget).to_input()
    assert (block["within1x"], block["within10x"], block["within100x"]) == (True, True, True)
    block = project_cost(dict(DESIGN_BUDGET, monthlyLimit="2399.99")).to_input()
    assert (block["within1x"], block["within10x"], block["within100x"]) == (True, True, False)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"currency": None}, "currency"),
        ({"monthlyLimit": None}, "monthlyLimit is missing"),
        ({"monthlyLimit": 4000.5}, "monthlyLimit: expected a decimal string"),
        ({"monthlyLimit": "4,000"}, "monthlyLimit: expected a decimal string"),
        ({"costPerRequest": "-1"}, "costPerRequest: expected a decimal string"),
        ({"costPerRequest": "1e-3"}, "costPerRequest: expected a decimal string"),
        ({"expectedDailyRequests": None}, "expectedDailyRequests is missing"),
        ({"expectedDailyRequests": "2000"}, "expectedDailyRequests: expected"),
        ({"expectedDailyRequests": True}, "expectedDailyRequests: expected"),
        ({"expectedDailyRequests": -1}, "expectedDailyRequests: expected"),
    ],
)
def test_missing_or_malformed_field_is_not_declared(
    change: dict[str, object], problem: str
) -> None:
    budget = {key: value for key, value in {**DESIGN_BUDGET, **change}.items() if value is not None}
    projection = project_cost(budget)
    assert projection.declared is False
    assert any(problem in text for text in projection.problems), projection.problems
    block = projection.to_input()
    assert block["declared"] is False
    assert (block["within1x"], block["within10x"], block["within100x"]) == (False, False, False)


@pytest.mark.parametrize("budget", [None, "4000", [1]])
def test_absent_or_non_object_budget(budget: object) -> None:
    block = project_cost(budget).to_input()
    assert block["declared"] is False
    assert block["monthly1x"] is None and block["currency"] is None
    assert set(block) == {
        "declared", "currency", "monthlyLimit", "monthly1x", "monthly10x", "monthly100x",
        "within1x", "within10x", "within100x",
    }  # fmt: skip


def test_too_long_to_multiply_exactly_is_refused_not_rounded() -> None:
    budget = dict(DESIGN_BUDGET, costPerRequest="0." + "1" * 130)
    projection = project_cost(budget)
    assert projection.declared is False
    assert "exactly" in projection.problems[-1]


@pytest.mark.parametrize(
    ("amount", "text"),
    [("24", "24.00"), ("24.0000", "24.00"), ("13.6974", "13.6974"), ("0.0000090", "0.000009"),
     ("0", "0.00"), ("1E+3", "1000.00")],
)  # fmt: skip
def test_format_amount(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


decimal_strings = st.decimals(
    min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False
).map(lambda d: format(d, "f"))


@given(per_request=decimal_strings, daily=st.integers(0, 10**7), limit=decimal_strings)
def test_scales_are_exact_multiples_and_within_matches_comparison(
    per_request: str, daily: int, limit: str
) -> None:
    budget = {
        "currency": "EUR",
        "monthlyLimit": limit,
        "costPerRequest": per_request,
        "expectedDailyRequests": daily,
    }
    projection = project_cost(budget)
    assert projection.declared
    one = Decimal(per_request) * daily * 30
    block = projection.to_input()
    for scale in (1, 10, 100):
        shown = Decimal(block[f"monthly{scale}x"])
        assert shown == one * scale  # exact: the string loses nothing
        assert block[f"within{scale}x"] == (shown <= Decimal(limit))
    # Monotonic: a larger scale can never fit when a smaller one does not.
    assert block["within1x"] >= block["within10x"] >= block["within100x"]
