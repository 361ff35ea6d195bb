"""Hypothesis strategies for AgentDeployment specs: valid, odd and wrongly typed values.

Shared by the engine parity test and the fuzz suite, so both explore the same space.
"""

from __future__ import annotations

from hypothesis import strategies as st

weird = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False, width=32),
    st.just(""), st.just("  "), st.lists(st.integers(0, 3), max_size=2), st.just({}),
)  # fmt: skip
names = st.sampled_from(["Dana Ruiz", "Lee Park", "AI Platform Team", "dana", "", " ", "Ops"])
emails = st.sampled_from([
    "dana.ruiz@example.com", "lee.park@example.com", "team-ai@example.com", "ops@example.com",
    "DANA.RUIZ@example.com ", "not-an-email", "", "noreply@example.com",
])  # fmt: skip
person = st.fixed_dictionaries(
    {}, optional={"name": st.one_of(names, weird), "email": st.one_of(emails, weird)}
)
decimal_text = st.sampled_from(["4000", "0.0004", "24", "2400.00", "0", "1000", "0.5", "1e3", "-1"])
budget = st.fixed_dictionaries(
    {},
    optional={
        "currency": st.one_of(st.sampled_from(["USD", "EUR", "usd", ""]), weird),
        "monthlyLimit": st.one_of(decimal_text, weird),
        "costPerRequest": st.one_of(decimal_text, weird),
        "expectedDailyRequests": st.one_of(st.integers(0, 10**6), weird),
    },
)
fallback = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.one_of(
            st.sampled_from(["human-review", "static-response", "previous-version", "disable",
                             "retry", ""]), weird),
        "target": st.one_of(st.sampled_from(["queue/ap-clerks", "", "static/sorry.json"]), weird),
        "timeoutSeconds": st.one_of(st.integers(-1, 600), weird),
    },
)  # fmt: skip
scope = st.fixed_dictionaries(
    {},
    optional={
        "process": st.one_of(st.sampled_from(["invoice-triage", "*", "everything", "", "all"]),
                             weird),
        "inputFormat": st.one_of(st.sampled_from(["application/pdf", "*/*", "", "text/plain"]),
                                 weird),
        "outputFormat": st.one_of(st.sampled_from(["application/json", "*/*", ""]), weird),
    },
)  # fmt: skip
approval = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(names, weird),
            "email": st.one_of(emails, weird),
            "role": st.sampled_from(["compliance", "security", "", "owner"]),
            "at": st.one_of(st.sampled_from(["2026-11-20", "yesterday", "", "2026-1-1"]), weird),
        },
    ),
    weird,
)
governance = st.fixed_dictionaries(
    {},
    optional={
        "regulated": st.one_of(st.booleans(), weird),
        "domain": st.one_of(st.sampled_from(["finance", "health", ""]), weird),
        "approvals": st.one_of(st.lists(approval, max_size=3), weird),
        "reviewCadence": st.one_of(
            st.sampled_from(["weekly", "monthly", "quarterly", "yearly", ""]), weird),
    },
)  # fmt: skip
monitoring = st.fixed_dictionaries(
    {},
    optional={
        "metricsPath": st.one_of(st.sampled_from(["/metrics", "metrics", "", "/"]), weird),
        "dashboard": st.one_of(
            st.sampled_from(["https://grafana.example.com/d/x", "http://grafana/d/x", "", "x"]),
            weird),
        "alerts": st.one_of(st.lists(st.sampled_from(["ErrorRate", "", "Latency"]), max_size=3),
                            weird),
    },
)  # fmt: skip
# Pod Security settings, well-formed and not (golive.podsecurity.* reads them).
security_context = st.fixed_dictionaries(
    {},
    optional={
        "privileged": st.one_of(st.booleans(), weird),
        "allowPrivilegeEscalation": st.one_of(st.booleans(), weird),
        "runAsNonRoot": st.one_of(st.booleans(), weird),
        "runAsUser": st.one_of(st.integers(-2, 2), weird),
        "seccompProfile": st.one_of(st.fixed_dictionaries({"type": st.one_of(
            st.sampled_from(["RuntimeDefault", "Localhost", "Unconfined", "Strict", ""]),
            weird)}), weird),
        "capabilities": st.one_of(st.fixed_dictionaries({}, optional={
            "drop": st.one_of(st.lists(st.sampled_from(["ALL", "all", "NET_RAW"]), max_size=2),
                              weird),
            "add": st.one_of(st.lists(st.sampled_from(["NET_BIND_SERVICE", "SYS_ADMIN", "CHOWN"]),
                                      max_size=2), weird)}), weird),
        "procMount": st.one_of(st.sampled_from(["Default", "Unmasked", "Masked"]), weird),
    },
)  # fmt: skip
PSA = "pod-security.kubernetes.io/"
namespace_labels = st.sampled_from([
    {},
    {PSA + "enforce": "baseline"},
    {PSA + "enforce": "restricted", PSA + "enforce-version": "v1.30"},
    {PSA + "warn": "baseline", PSA + "audit": "privileged"},
    {PSA + "enforce": "strict"},
])  # fmt: skip
container = st.fixed_dictionaries(
    {},
    optional={
        "securityContext": st.one_of(security_context, weird),
        "ports": st.one_of(st.lists(st.fixed_dictionaries({"containerPort": st.just(80)}, optional={
            "hostPort": st.one_of(st.integers(-1, 70000), weird)}), max_size=2), weird),
        "name": st.sampled_from(["agent", "sidecar", ""]),
        "image": st.one_of(
            st.sampled_from([
                "registry.example.com/agents/x:3.4.1", "registry.example.com/agents/x:latest",
                "registry.example.com/agents/x", "x@sha256:" + "a" * 64, "x:", "",
            ]),
            weird,
        ),
    },
)  # fmt: skip
template = st.fixed_dictionaries(
    {}, optional={"spec": st.one_of(
        st.fixed_dictionaries({}, optional={"containers": st.one_of(
            st.lists(st.one_of(container, weird), max_size=3), weird),
            "securityContext": st.one_of(security_context, weird),
            "hostNetwork": st.one_of(st.booleans(), weird),
            "os": st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["linux", "windows"])}),
                            weird)}),
        weird)}
)  # fmt: skip
spec = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "owner": st.one_of(person, weird),
            "scope": st.one_of(scope, weird),
            "contractRef": st.one_of(
                st.fixed_dictionaries({}, optional={"name": st.one_of(
                    st.sampled_from(["invoice-triage-v3", ""]), weird)}), weird),
            "fallback": st.one_of(fallback, weird),
            "budget": st.one_of(budget, weird),
            "monitoring": st.one_of(monitoring, weird),
            "governance": st.one_of(governance, weird),
            "replicas": st.one_of(st.integers(0, 5), weird),
            "template": st.one_of(template, weird),
        },
    ),
    weird,
)  # fmt: skip
contract_spec = st.fixed_dictionaries(
    {},
    optional={
        "owner": st.one_of(person, weird),
        "version": st.one_of(st.sampled_from(["3", ""]), weird),
        "inputSchema": st.one_of(st.just({"type": "object"}), st.just({"type": "objekt"}), weird),
        "outputSchema": st.one_of(st.just({"type": "object"}), st.just({"minimum": "x"}), weird),
    },
)
resolution = st.sampled_from(["found", "missing", "skipped", "undeclared"])
policy_ids = st.sampled_from(
    ["golive.economics.budget_at_scale", "golive.ownership.single_owner", "golive.nope"]
)
