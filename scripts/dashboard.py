"""golive's Grafana dashboard, built from code with grafana-foundation-sdk (Apache-2.0).

Writes charts/golive/files/dashboards/golive.json, which the chart ships in a ConfigMap labelled
for the Grafana sidecar (templates/dashboards.yaml). The file is committed; a unit test
(tests/unit/test_dashboard.py) fails when it differs from what this script writes, so change
the panels here and run it again:

    python scripts/dashboard.py          # write the file
    python scripts/dashboard.py --check  # exit 1 when the committed file is stale

Every query reads golive's own /metrics (docs/operations.md, "Metrics"); the e2e
(tests/e2e/test_dashboard_alerts_e2e.py) runs each against a real Prometheus scraping a real
operator and wants data back. `$namespace` is the dashboard's namespace variable (all: `.*`),
`$__rate_interval` Grafana's own rate window.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.common import BarGaugeDisplayMode, VizOrientation
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableOption,
    VariableRefresh,
)

OUT = Path(__file__).resolve().parent.parent / "charts/golive/files/dashboards/golive.json"
UID = "golive"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
RATE = "$__rate_interval"


def query(expr: str, legend: str = "", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    return q.instant() if instant else q.range()


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def last() -> ReduceDataOptions:
    return ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def verdicts() -> list[dashboard.Panel | dashboard.Row]:
    by_verdict = f"sum by (result) (golive_agent_verdict{{{NS}}})"
    return [
        dashboard.Row("Verdicts"),
        stat.Panel()
        .title("Agents by verdict")
        .description("golive_agent_verdict: the agents' current verdicts (status.conditions).")
        .with_target(query(by_verdict, "{{result}}", instant=True))
        .reduce_options(last())
        .thresholds(thresholds((None, "green")))
        .span(8)
        .height(6),
        timeseries.Panel()
        .title("Verdicts over time")
        .with_target(query(by_verdict, "{{result}}"))
        .span(8)
        .height(6),
        bargauge.Panel()
        .title("Agents by policy")
        .description(
            "golive_policy_agents: how many agents each policy reports, by enforcement "
            "(deny blocks; warn, dryrun, excepted and skipped do not)."
        )
        .with_target(
            query(
                f"sort_desc(sum by (policy, enforcement) (golive_policy_agents{{{NS}}}))",
                "{{policy}} ({{enforcement}})",
                instant=True,
            )
        )
        .reduce_options(last())
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .span(8)
        .height(6),
        table.Panel()
        .title("Blocked and undecided agents")
        .description("Agents whose verdict is not admitted: `kubectl describe agd` says why.")
        .with_target(
            query(
                f'golive_agent_verdict{{{NS},result!="admitted"}} == 1',
                "{{namespace}}/{{agent}}",
                instant=True,
            )
        )
        .span(24)
        .height(6),
    ]


def cost() -> list[dashboard.Panel | dashboard.Row]:
    against_limit = (
        f"golive_agent_cost_monthly{{{NS}}} / on (namespace, agent, currency) group_left "
        f"golive_agent_cost_monthly_limit{{{NS}}}"
    )
    return [
        dashboard.Row("Cost"),
        bargauge.Panel()
        .title("Projected monthly cost against the limit, at 1x, 10x and 100x")
        .description(
            "golive_agent_cost_monthly / golive_agent_cost_monthly_limit: above 100% the agent "
            "would exceed its monthlyLimit at that load."
        )
        .with_target(query(against_limit, "{{namespace}}/{{agent}} {{scale}}", instant=True))
        .unit("percentunit")
        .min(0)
        .thresholds(thresholds((None, "green"), (0.8, "orange"), (1, "red")))
        .reduce_options(last())
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .span(24)
        .height(8),
        timeseries.Panel()
        .title("Monthly cost: observed run-rate against declared and limit")
        .description(
            "From the first issue's observed numbers (status.observed.monthlyRunRate), the "
            "declared projection at 1x and the limit."
        )
        .with_target(
            query(f"golive_agent_observed_cost_monthly{{{NS}}}", "{{namespace}}/{{agent}} observed")
        )
        .with_target(
            query(
                f'golive_agent_cost_monthly{{{NS},scale="1x"}}', "{{namespace}}/{{agent}} declared"
            )
        )
        .with_target(
            query(f"golive_agent_cost_monthly_limit{{{NS}}}", "{{namespace}}/{{agent}} limit")
        )
        .span(12)
        .height(8),
        timeseries.Panel()
        .title("Requests a day: observed against declared")
        .description(
            "golive_agent_requests_per_day: spec.budget.expectedDailyRequests (declared) and "
            "what Prometheus shows (observed)."
        )
        .with_target(
            query(f"golive_agent_requests_per_day{{{NS}}}", "{{namespace}}/{{agent}} {{source}}")
        )
        .span(12)
        .height(8),
    ]


def governance() -> list[dashboard.Panel | dashboard.Row]:
    return [
        dashboard.Row("Reviews and exceptions"),
        table.Panel()
        .title("Reviews falling due (days; negative: overdue)")
        .description(
            "golive_agent_review_due_timestamp_seconds: days until each agent's next checklist "
            "review (status.review.nextDue)."
        )
        .with_target(
            query(
                f"sort((golive_agent_review_due_timestamp_seconds{{{NS}}} - time()) / 86400)",
                "{{namespace}}/{{agent}}",
                instant=True,
            )
        )
        .decimals(1)
        .thresholds(thresholds((None, "red"), (0, "orange"), (7, "green")))
        .span(12)
        .height(8),
        table.Panel()
        .title("Exceptions expiring (days)")
        .description(
            "golive_agent_exception_expiry_timestamp_seconds: days until each active "
            "AgentException stops waiving; the agent is decided again then."
        )
        .with_target(
            query(
                f"sort((golive_agent_exception_expiry_timestamp_seconds{{{NS}}} - time()) / 86400)",
                "{{namespace}}/{{agent}} {{exception}}",
                instant=True,
            )
        )
        .decimals(1)
        .thresholds(thresholds((None, "red"), (1, "orange"), (7, "green")))
        .span(12)
        .height(8),
    ]


def operator() -> list[dashboard.Panel | dashboard.Row]:
    latency = (
        "histogram_quantile({q}, sum by (le, source) (rate(golive_evaluation_seconds_bucket[{w}])))"
    )
    return [
        dashboard.Row("The operator and the webhook"),
        timeseries.Panel()
        .title("Decision latency")
        .description("golive_evaluation_seconds: time to decide one agent, by caller.")
        .with_target(query(latency.format(q=0.5, w=RATE), "p50 {{source}}"))
        .with_target(query(latency.format(q=0.99, w=RATE), "p99 {{source}}"))
        .unit("s")
        .span(8)
        .height(8),
        timeseries.Panel()
        .title("Webhook reviews: denials and errors")
        .description(
            "golive_webhook_reviews_total: allowed, denied (a blocked agent), invalid (not a "
            "review golive takes), error (golive could not decide)."
        )
        .with_target(
            query(f"sum by (outcome) (rate(golive_webhook_reviews_total[{RATE}]))", "{{outcome}}")
        )
        .unit("reqps")
        .span(8)
        .height(8),
        timeseries.Panel()
        .title("Decisions by caller and result")
        .with_target(
            query(
                f"sum by (source, result) (rate(golive_decisions_total[{RATE}]))",
                "{{source}} {{result}}",
            )
        )
        .unit("ops")
        .span(8)
        .height(8),
        stat.Panel()
        .title("Leader and policies")
        .description(
            "golive_leader: replicas leading (1 expected); golive_policy_loaded: replicas with "
            "a usable policy set."
        )
        .with_target(query("sum(golive_leader)", "leaders", instant=True))
        .with_target(query("sum(golive_policy_loaded)", "policies loaded", instant=True))
        .reduce_options(last())
        .thresholds(thresholds((None, "red"), (1, "green")))
        .span(8)
        .height(6),
        timeseries.Panel()
        .title("Reconcile errors and queue")
        .with_target(
            query(
                f"sum by (stage) (rate(golive_reconcile_errors_total[{RATE}]))", "errors {{stage}}"
            )
        )
        .with_target(query("sum(golive_workqueue_depth)", "queued"))
        .span(16)
        .height(6),
    ]


# golive_policy_info carries the cluster's name (--cluster-name) on one series per replica; the
# fleet queries join it on the scrape target rather than golive putting a constant label on
# every series (docs/fleet.md).
BY_CLUSTER = "on (job, instance) group_left (cluster) golive_policy_info"


def fleet() -> list[dashboard.Panel | dashboard.Row]:
    return [
        dashboard.Row("Fleet"),
        table.Panel()
        .title("Policy library per cluster")
        .description(
            "golive_policy_info: the digest each cluster enforces (digest) and the one its "
            "policy ConfigMaps declare from git (expected_digest); one digest across the fleet "
            "means one library everywhere."
        )
        .with_target(
            query(
                "max by (cluster, digest, expected_digest) (golive_policy_info)",
                "{{cluster}} {{digest}}",
                instant=True,
            )
        )
        .span(12)
        .height(6),
        stat.Panel()
        .title("Policy drift by cluster")
        .description(
            "golive_policy_drift: 1 where the library enforced is not the one git declares (a "
            "hand edit, a sync stopped half-way); the alert GolivePolicyDrift fires on it."
        )
        .with_target(
            query(f"max by (cluster) (golive_policy_drift * {BY_CLUSTER})", "{{cluster}}", True)
        )
        .reduce_options(last())
        .thresholds(thresholds((None, "green"), (1, "red")))
        .span(6)
        .height(6),
        bargauge.Panel()
        .title("Blocked agents by cluster")
        .description('golive_agent_verdict{result="blocked"}, summed per cluster.')
        .with_target(
            query(
                f'sum by (cluster) (golive_agent_verdict{{{NS},result="blocked"}} * {BY_CLUSTER})',
                "{{cluster}}",
                instant=True,
            )
        )
        .reduce_options(last())
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .span(6)
        .height(6),
        bargauge.Panel()
        .title("Projected monthly cost by cluster, at 1x, 10x and 100x")
        .description(
            "golive_agent_cost_monthly summed per cluster and currency: what the agents declared "
            "on each cluster (admitted or not) would cost a month at their expected load, 10x "
            "and 100x."
        )
        .with_target(
            query(
                f"sum by (cluster, currency, scale) (golive_agent_cost_monthly{{{NS}}} "
                f"* {BY_CLUSTER})",
                "{{cluster}} {{scale}} ({{currency}})",
                instant=True,
            )
        )
        .reduce_options(last())
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .span(24)
        .height(8),
    ]


def build() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("golive")
        .uid(UID)
        .description(
            "golive's verdicts, cost, reviews, exceptions, its own health, and a fleet's clusters."
        )
        .tags(["golive", "policy"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .with_variable(
            dashboard.QueryVariable("namespace")
            .label("Namespace")
            .datasource(DATASOURCE)
            .query("label_values(golive_agent_verdict, namespace)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(VariableOption(selected=True, text="All", value="$__all"))
            .hide(VariableHide.DONT_HIDE)
            .sort(1)
        )
    )
    for group in (verdicts(), cost(), governance(), operator(), fleet()):
        for item in group:
            board = (
                board.with_row(item) if isinstance(item, dashboard.Row) else board.with_panel(item)
            )
    return board


def render() -> str:
    """The dashboard JSON, as committed (sorted keys, two-space indent, a final newline), in
    the SDK's normal form: read back once through its typed models, which fill in the defaults
    of each panel kind's field config, so that the file reads and writes unchanged."""
    register_default_plugins()
    built = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    model = DashboardModel.from_json(built)
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/dashboard.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
