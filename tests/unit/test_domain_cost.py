"""Cost projection: exact decimals, the 10x/100x scales, `declared`, and the model layers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.domain.cost import format_amount, parse_model, project_cost
from controller.domain.errors import SpecError
from controller.domain.status import status_cost

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
        "costPerRequest": "0.0004",
        "models": [],
        "problems": [],
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
        ({"monthlyLimit": None}, "monthlyLimit: is missing"),
        ({"monthlyLimit": 4000.5}, "monthlyLimit: expected a decimal string"),
        ({"monthlyLimit": "4,000"}, "monthlyLimit: expected a decimal string"),
        ({"costPerRequest": "-1"}, "costPerRequest: expected a decimal string"),
        ({"costPerRequest": "1e-3"}, "costPerRequest: expected a decimal string"),
        ({"expectedDailyRequests": None}, "expectedDailyRequests: is missing"),
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
    assert any(problem in str(p) for p in projection.problems), projection.problems
    block = projection.to_input()
    assert block["declared"] is False
    # Each problem names its field for Rego (budget_at_scale) as {field, msg}.
    assert all(p["field"].startswith("spec.budget") and p["msg"] for p in block["problems"])
    assert (block["within1x"], block["within10x"], block["within100x"]) == (False, False, False)


@pytest.mark.parametrize("budget", [None, "4000", [1]])
def test_absent_or_non_object_budget(budget: object) -> None:
    block = project_cost(budget).to_input()
    assert block["declared"] is False
    assert block["monthly1x"] is None and block["currency"] is None
    assert set(block) == {
        "declared", "currency", "monthlyLimit", "monthly1x", "monthly10x", "monthly100x",
        "within1x", "within10x", "within100x", "costPerRequest", "models", "problems",
    }  # fmt: skip
    assert block["problems"][0]["field"] == "spec.budget"


def test_too_long_to_multiply_exactly_is_refused_not_rounded() -> None:
    budget = dict(DESIGN_BUDGET, costPerRequest="0." + "1" * 130)
    projection = project_cost(budget)
    assert projection.declared is False
    assert "exactly" in str(projection.problems[-1])


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


# --------------------------------------------------------------------------------------------
# Model layering: spec.models adds to budget.costPerRequest; a rules layer costs nothing.

LAYERS = [
    {"name": "gpt-4o-2024-08-06", "role": "reasoning", "costPerRequest": "0.0003"},
    {"name": "judge-mini", "role": "judge", "costPerRequest": "0.00004"},
    {"name": "ap-policy-rules", "role": "rules"},
]


def test_models_are_summed_with_the_budget_and_split_per_model() -> None:
    budget = dict(DESIGN_BUDGET, costPerRequest="0.00006")
    block = project_cost(budget, LAYERS).to_input()
    # (0.00006 + 0.0003 + 0.00004 + 0) x 2000 x 30 = 24.00: the design's figure, now split.
    assert block["costPerRequest"] == "0.0004"
    assert (block["monthly1x"], block["monthly10x"], block["monthly100x"]) == (
        "24.00", "240.00", "2400.00",
    )  # fmt: skip
    assert block["within100x"] is True and block["declared"] is True
    assert block["models"] == [
        {"name": "gpt-4o-2024-08-06", "role": "reasoning", "costPerRequest": "0.0003",
         "monthly1x": "18.00", "monthly10x": "180.00", "monthly100x": "1800.00"},
        {"name": "judge-mini", "role": "judge", "costPerRequest": "0.00004",
         "monthly1x": "2.40", "monthly10x": "24.00", "monthly100x": "240.00"},
        {"name": "ap-policy-rules", "role": "rules", "costPerRequest": "0.00",
         "monthly1x": "0.00", "monthly10x": "0.00", "monthly100x": "0.00"},
    ]  # fmt: skip


def test_with_models_budget_cost_per_request_is_optional() -> None:
    budget = {k: v for k, v in DESIGN_BUDGET.items() if k != "costPerRequest"}
    block = project_cost(budget, LAYERS).to_input()
    assert block["declared"] is True
    assert block["costPerRequest"] == "0.00034"
    assert block["monthly1x"] == "20.40"
    # Without models it is still required, exactly as before.
    assert project_cost(budget).to_input()["problems"] == [
        {"field": "spec.budget.costPerRequest", "msg": "is missing"}
    ]


def test_models_push_the_agent_over_its_limit_at_100x() -> None:
    expensive = [{"name": "o1", "role": "reasoning", "costPerRequest": "0.02"}]
    block = project_cost(DESIGN_BUDGET, expensive).to_input()
    # (0.0004 + 0.02) x 2000 x 30 = 1224.00 at 1x: within 4000; 122400.00 at 100x: not.
    assert (block["monthly1x"], block["monthly100x"]) == ("1224.00", "122400.00")
    assert (block["within1x"], block["within10x"], block["within100x"]) == (True, False, False)


@pytest.mark.parametrize("models", [None, []])
def test_no_models_is_exactly_the_budget_alone(models: object) -> None:
    assert project_cost(DESIGN_BUDGET, models) == project_cost(DESIGN_BUDGET)
    # ... and the status block is the one written before models existed.
    assert status_cost(project_cost(DESIGN_BUDGET, models).to_input()) == {
        "currency": "USD", "monthly1x": "24.00", "monthly10x": "240.00",
        "monthly100x": "2400.00", "monthlyLimit": "4000",
    }  # fmt: skip


def test_status_shows_the_split_per_model() -> None:
    block = project_cost(dict(DESIGN_BUDGET, costPerRequest="0.00006"), LAYERS).to_input()
    status = status_cost(block)
    assert status["costPerRequest"] == "0.0004"
    assert [(m["name"], m["role"], m["monthly100x"]) for m in status["models"]] == [
        ("gpt-4o-2024-08-06", "reasoning", "1800.00"),
        ("judge-mini", "judge", "240.00"),
        ("ap-policy-rules", "rules", "0.00"),
    ]


BAD_MODELS = [
    # (models, field named, words in the message)
    ([{"name": "m", "role": "reasoning", "costPerRequest": "-0.01"}],
     "spec.models[0].costPerRequest", "non-negative decimal string"),
    ([{"name": "m", "role": "judge", "costPerRequest": 0.002}],
     "spec.models[0].costPerRequest", "0.002 (number)"),
    ([{"name": "m", "role": "classifier"}], "spec.models[0].costPerRequest", "missing"),
    ([{"name": "r", "role": "rules", "costPerRequest": "0.001"}],
     "spec.models[0].costPerRequest", "a rules layer costs nothing per request"),
    ([{"name": "m", "role": "planner", "costPerRequest": "0.1"}],
     "spec.models[0].role", "reasoning, judge, classifier, rules"),
    ([LAYERS[0], {"role": "judge", "costPerRequest": "0.1"}], "spec.models[1].name", "missing"),
    ([LAYERS[0], LAYERS[0]], "spec.models[1].name", "declared twice"),
    (["gpt-4o"], "spec.models[0]", "an object"),
    ({"name": "m"}, "spec.models", "an array"),
]  # fmt: skip


@pytest.mark.parametrize(("models", "field", "words"), BAD_MODELS)
def test_a_malformed_model_is_a_problem_naming_its_field_never_a_projection(
    models: object, field: str, words: str
) -> None:
    block = project_cost(DESIGN_BUDGET, models).to_input()
    assert block["declared"] is False  # so budget_at_scale (deny) reports it: never an admit
    assert (block["within1x"], block["within10x"], block["within100x"]) == (False,) * 3
    assert block["monthly1x"] is None and block["models"] == []
    problems = [p for p in block["problems"] if p["field"] == field]
    assert problems and words in problems[0]["msg"], block["problems"]


def test_every_malformed_model_is_reported_not_only_the_first() -> None:
    models = [
        {"name": "a", "role": "reasoning", "costPerRequest": "-1"},
        LAYERS[1],
        {"name": "c", "role": "judge", "costPerRequest": "1e-3"},
    ]
    fields = [p["field"] for p in project_cost(DESIGN_BUDGET, models).to_input()["problems"]]
    assert fields == ["spec.models[0].costPerRequest", "spec.models[2].costPerRequest"]


def test_a_negative_model_cost_is_a_problem_naming_the_field() -> None:
    models = [LAYERS[0], {"name": "judge-mini", "role": "judge", "costPerRequest": "-0.5"}]
    with pytest.raises(SpecError) as caught:
        parse_model(models[1], "spec.models[1]")
    assert caught.value.path == "spec.models[1].costPerRequest"
    assert str(caught.value).startswith("spec.models[1].costPerRequest: expected a non-negative")
    assert 'found "-0.5" (string)' in str(caught.value)
    projection = project_cost(DESIGN_BUDGET, models)
    assert not projection.declared
    assert [p.field for p in projection.problems] == ["spec.models[1].costPerRequest"]
    parsed = [parse_model(m, f"spec.models[{i}]") for i, m in enumerate(LAYERS)]
    assert [(m.name, m.role, m.cost_per_request) for m in parsed] == [
        ("gpt-4o-2024-08-06", "reasoning", Decimal("0.0003")),
        ("judge-mini", "judge", Decimal("0.00004")),
        ("ap-policy-rules", "rules", Decimal(0)),
    ]


model_costs = st.lists(
    st.decimals(min_value=0, max_value=10, places=6, allow_nan=False, allow_infinity=False),
    max_size=8,
)


@given(per_request=decimal_strings, costs=model_costs, daily=st.integers(0, 10**7))
def test_total_is_the_exact_sum_of_the_parts(
    per_request: str, costs: list[Decimal], daily: int
) -> None:
    models = [
        {"name": f"m{i}", "role": "reasoning", "costPerRequest": format(c, "f")}
        for i, c in enumerate(costs)
    ]
    budget = dict(DESIGN_BUDGET, costPerRequest=per_request, expectedDailyRequests=daily)
    block = project_cost(budget, models).to_input()
    assert block["declared"]
    shares = [Decimal(m["monthly1x"]) for m in block["models"]]
    assert Decimal(block["monthly1x"]) == sum(shares, Decimal(per_request) * daily * 30)
    for scale in (1, 10, 100):
        assert Decimal(block[f"monthly{scale}x"]) == Decimal(block["monthly1x"]) * scale
