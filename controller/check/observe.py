"""Observations for `golive check`: one poll of a real Prometheus per run (--prometheus-url),
or the fixed observation a policy sample states in a `# golive-sample-observed:` line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from controller.check.run import ObservedLookup
from controller.domain.errors import SpecError
from controller.domain.model import AgentDeployment
from controller.domain.observed import (
    FleetObservation,
    LoadedAlert,
    error_metric,
    metric_names,
    observed_facts,
)
from controller.observe.prometheus import PrometheusClient, poll


class PrometheusObserver:
    """`golive check --prometheus-url`: the files describe a change, so each agent is judged as
    a new generation (what the gate would do with it), whose rollout time is unknown."""

    def __init__(self, client: PrometheusClient, now: datetime) -> None:
        self.client = client
        self.now = now
        self.fleet: FleetObservation | None = None

    def observe(self, agents: Sequence[AgentDeployment]) -> ObservedLookup:
        fleet, _ = poll(self.client, [metric_names(a.spec) for a in agents], self.now)
        self.fleet = fleet
        return lambda agent: observed_facts(fleet, agent, rolled_out_at=None, new_generation=True)


SAMPLE_KEYS = {
    "up",
    "requestsPerSecond",
    "errorsPerSecond",
    "costPerSecond",
    "alerts",
    "rolledOutMinutesAgo",
    "newGeneration",
}


class SampleObserver:
    """A policy sample's observation, the same for every agent of the sample:
    `# golive-sample-observed: {"up": 1, "requestsPerSecond": 0.5, "costPerSecond": 0.001,
    "alerts": {"ErrorRate": "firing"}, "rolledOutMinutesAgo": 30, "newGeneration": true}`
    (an alert state `unloaded`: Prometheus has not loaded the rule)."""

    def __init__(self, text: str, now: datetime, where: str) -> None:
        expected = f"a JSON object with keys among {', '.join(sorted(SAMPLE_KEYS))}"
        try:
            spec = json.loads(text)
        except ValueError:
            raise SpecError(f"{where}: golive-sample-observed", expected, text) from None
        if not isinstance(spec, dict) or set(spec) - SAMPLE_KEYS:
            raise SpecError(f"{where}: golive-sample-observed", expected, text)
        self.spec = spec
        self.now = now

    def observe(self, agents: Sequence[AgentDeployment]) -> ObservedLookup:
        s = self.spec
        up: dict[tuple[str, str], float] = {}
        rates: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
        alerts: dict[str, list[LoadedAlert]] = {}
        for agent in agents:
            key, names = agent.key, metric_names(agent.spec)
            if s.get("up") is not None:
                up[key] = float(s["up"])
            for measure, metric, field in (
                ("requests", names.requests, "requestsPerSecond"),
                ("errors", error_metric(names), "errorsPerSecond"),
                ("cost", names.cost, "costPerSecond"),
            ):
                if s.get(field) is not None:
                    rates.setdefault((measure, metric), {})[key] = float(s[field])
        for name, state in (s.get("alerts") or {}).items():
            if state != "unloaded":
                labels: dict[str, str] = {}
                instances = ((labels, state),) if state in ("pending", "firing") else ()
                alerts[name] = [LoadedAlert(name, instances)]
        fleet = FleetObservation(self.now, "the sample", "5m", None, up, rates, alerts)
        minutes = s.get("rolledOutMinutesAgo")
        rolled_out = self.now - timedelta(minutes=minutes) if minutes is not None else None
        new = bool(s.get("newGeneration", True))
        return lambda agent: observed_facts(
            fleet, agent, rolled_out_at=rolled_out, new_generation=new
        )
