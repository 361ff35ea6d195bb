"""Static tests of the CustomResourceDefinitions in crds/.

What they check without an API server:
- the CRDs are well formed (group, version, scope, names, labels, subresources, printer columns);
- every schema is structural in the Kubernetes sense (every node typed or preserving unknown
  fields), carries no `default:` (GitOps: the live spec must equal git), describes every field
  (for `kubectl explain`) and bounds every string and list (for the CEL cost budget);
- the examples of docs/design.md validate against the openAPIV3Schema, and malformed objects fail
  at the path we expect. The schema is converted to JSON Schema: x-kubernetes-* keys are dropped,
  and objects with declared properties get additionalProperties: false to stand in for kubectl's
  strict field validation (without it, the API server would prune unknown fields silently).

CEL rules (x-kubernetes-validations) cannot be evaluated here; they are evaluated by the real
kube-apiserver in tests/e2e/test_crds_e2e.py. Here we only check that each one has a message and
refers to fields that exist.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
DESIGN = ROOT / "docs" / "design.md"

GROUP = "golive.dev"
VERSION = "v1alpha1"
KINDS = {
    "AgentDeployment": ("agentdeployments", "agd"),
    "AgentContract": ("agentcontracts", "agc"),
    "AgentException": ("agentexceptions", "agx"),
}

# Keys that a structural schema in apiextensions.k8s.io/v1 may carry. Anything else (e.g. $ref,
# default, nullable, uniqueItems, a typo like `requried`) fails the test.
ALLOWED_SCHEMA_KEYS = {
    "type",
    "description",
    "properties",
    "items",
    "required",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-validations",
    "x-kubernetes-map-type",
}
CEL_RULE_KEYS = {"rule", "message", "messageExpression", "fieldPath", "reason", "optionalOldSelf"}
CEL_REASONS = {
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
}


# --------------------------------------------------------------------------------------------
# loading


def load_crd(kind: str) -> dict[str, Any]:
    plural, _ = KINDS[kind]
    path = CRD_DIR / f"{GROUP}_{plural}.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert len(docs) == 1, f"{path.name}: expected exactly one YAML document, got {len(docs)}"
    return docs[0]


def version_of(crd: dict[str, Any]) -> dict[str, Any]:
    versions = crd["spec"]["versions"]
    assert [v["name"] for v in versions] == [VERSION]
    return versions[0]


def schema_of(kind: str) -> dict[str, Any]:
    return version_of(load_crd(kind))["schema"]["openAPIV3Schema"]


def walk(node: dict[str, Any], path: str = ""):
    """Yield (path, schema node) for every node of a schema."""
    yield path or ".", node
    for name, sub in (node.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def find_key(obj: Any, key: str, path: str = "") -> list[str]:
    """Paths of every mapping key `key` anywhere in obj (raw YAML, not only schema nodes)."""
    hits: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                hits.append(f"{path}.{k}")
            hits.extend(find_key(v, key, f"{path}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            hits.extend(find_key(v, key, f"{path}[{i}]"))
    return hits


# --------------------------------------------------------------------------------------------
# conversion to JSON Schema


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if node.get("type") == "object" and "properties" in node and not preserve:
        out.setdefault("additionalProperties", False)
    return out


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD")
    dt.date.fromisoformat(value)
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def validator(kind: str) -> jsonschema.Draft7Validator:
    schema = to_json_schema(schema_of(kind))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=FORMATS)


def errors(kind: str, obj: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted path, message) of every schema error of obj."""
    found = []
    for err in validator(kind).iter_errors(obj):
        path = ".".join(str(p) for p in err.absolute_path)
        found.append((path, err.message))
    return sorted(found)


# --------------------------------------------------------------------------------------------
# examples from docs/design.md


def design_yaml_blocks() -> dict[str, str]:
    """The ```yaml blocks of design.md, keyed by the heading they sit under."""
    blocks: dict[str, str] = {}
    heading = ""
    in_block = False
    buf: list[str] = []
    for line in DESIGN.read_text().splitlines():
        if in_block:
            if line.startswith("```"):
                blocks[heading] = "\n".join(buf)
                in_block, buf = False, []
            else:
                buf.append(line)
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("```yaml"):
            in_block = True
    return blocks


def _block(prefix: str) -> dict[str, Any]:
    for heading, text in design_yaml_blocks().items():
        if heading.startswith(prefix):
            return yaml.safe_load(text)
    raise AssertionError(f"docs/design.md has no yaml block under a heading {prefix!r}")


def _stringify_dates(obj: Any) -> Any:
    # PyYAML turns an unquoted 2026-11-20 into a date; the API server sees a string.
    if isinstance(obj, dict):
        return {k: _stringify_dates(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_stringify_dates(v) for v in obj]
    if isinstance(obj, dt.datetime):
        return obj.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


POD_TEMPLATE = {
    "metadata": {"labels": {"app.kubernetes.io/name": "invoice-triage"}},
    "spec": {
        "containers": [
            {
                "name": "agent",
                "image": "registry.example.com/invoice:3.1.0",
                "ports": [{"containerPort": 8080}],
            }
        ]
    },
}
DIGEST = "sha256:" + "ab" * 32
NOW = "2026-11-25T17:00:00Z"


def _fill_placeholders(obj: Any, key: str = "") -> Any:
    """Replace the design doc's `...` placeholders with concrete values of the right shape."""
    if isinstance(obj, dict):
        return {k: _fill_placeholders(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [_fill_placeholders(v, key) for v in obj]
        # `{type: Admitted, status: "False", reason: Blocked, ...}`: the other keys are as in
        # the first item of the list.
        for item in items[1:]:
            if isinstance(item, dict) and item.pop("...", False) is None:
                for k, v in items[0].items():
                    item.setdefault(k, v)
        return items
    if isinstance(obj, str) and "..." in obj:
        return {"lastTransitionTime": NOW, "decidedAt": NOW, "digest": DIGEST}.get(
            key, "placeholder text"
        )
    return obj


def design_agent() -> dict[str, Any]:
    spec = _stringify_dates(_block("AgentDeployment")["spec"])
    assert set(spec["template"]) == {"metadata", "spec"}, "design.md template changed shape"
    spec["template"] = copy.deepcopy(POD_TEMPLATE)  # the doc elides it with {...} and [...]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance"},
        "spec": spec,
    }


def design_status() -> dict[str, Any]:
    return _fill_placeholders(_stringify_dates(_block("Status")["status"]))


def design_exception() -> dict[str, Any]:
    spec = _stringify_dates(_block("AgentException")["spec"])
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AgentException",
        "metadata": {"name": "black-friday", "namespace": "finance"},
        "spec": spec,
    }


def design_contract() -> dict[str, Any]:
    # design.md gives the contract inline: spec: {owner: {name, email}, version: "3", ...}.
    text = DESIGN.read_text()
    m = re.search(r'`spec: \{owner: \{name, email\}, version: "(\d+)", inputSchema', text)
    assert m, "design.md AgentContract line changed; update this test"
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AgentContract",
        "metadata": {"name": "invoice-triage-v3", "namespace": "finance"},
        "spec": {
            "owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
            "version": m.group(1),
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "required": ["document"],
                "properties": {"document": {"type": "string", "contentEncoding": "base64"}},
            },
            "outputSchema": {
                "type": "object",
                "properties": {"vendor": {"type": "string"}, "total": {"type": "string"}},
            },
        },
    }


# --------------------------------------------------------------------------------------------
# CRD shape


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crd_identity(kind: str) -> None:
    plural, short = KINDS[kind]
    crd = load_crd(kind)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == f"{plural}.{GROUP}"
    assert crd["metadata"]["labels"] == {
        "app.kubernetes.io/name": "golive",
        "app.kubernetes.io/part-of": "golive",
    }
    spec = crd["spec"]
    assert spec["group"] == GROUP
    assert spec["scope"] == "Namespaced"
    names = spec["names"]
    assert names["kind"] == kind
    assert names["listKind"] == f"{kind}List"
    assert names["plural"] == plural
    assert names["singular"] == kind.lower()
    assert names["shortNames"] == [short]
    assert names["categories"] == ["golive"]
    v = version_of(crd)
    assert v["served"] is True and v["storage"] is True
    assert "conversion" not in spec  # single version: no webhook to run


@pytest.mark.parametrize(
    ("kind", "has_status"),
    [("AgentDeployment", True), ("AgentContract", False), ("AgentException", True)],
)
def test_status_subresource(kind: str, has_status: bool) -> None:
    v = version_of(load_crd(kind))
    assert ("status" in v.get("subresources", {})) is has_status
    assert ("status" in schema_of(kind)["properties"]) is has_status
    assert "scale" not in v.get("subresources", {})


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        (
            "AgentDeployment",
            {
                "Owner": (".spec.owner.name", 0),
                "Admitted": ('.status.conditions[?(@.type=="Admitted")].status', 0),
                "Reason": ('.status.conditions[?(@.type=="Admitted")].reason', 0),
                "Ready": ('.status.conditions[?(@.type=="Ready")].status', 1),
                "Next Review": (".status.review.nextDue", 1),
                "Age": (".metadata.creationTimestamp", 0),
            },
        ),
        (
            "AgentContract",
            {
                "Owner": (".spec.owner.name", 0),
                "Version": (".spec.version", 0),
                "Age": (".metadata.creationTimestamp", 0),
            },
        ),
        (
            "AgentException",
            {
                "Targets": (".spec.targets", 0),
                "Expires": (".spec.expiresAt", 0),
                "Ticket": (".spec.ticket", 0),
                "Age": (".metadata.creationTimestamp", 0),
            },
        ),
    ],
)
def test_printer_columns(kind: str, columns: dict[str, tuple[str, int]]) -> None:
    cols = {c["name"]: c for c in version_of(load_crd(kind))["additionalPrinterColumns"]}
    for name, (json_path, priority) in columns.items():
        assert name in cols, f"{kind}: printer column {name} missing"
        assert cols[name]["jsonPath"] == json_path
        assert cols[name].get("priority", 0) == priority
    assert cols["Age"]["type"] == "date"
    assert list(cols)[-1] == "Age" or all(
        c.get("priority", 0) for c in list(cols.values())[list(cols).index("Age") + 1 :]
    ), "Age is the last default column"
    schema = schema_of(kind)
    for col in cols.values():
        assert col["type"] in {"string", "integer", "number", "boolean", "date"}
        if col["name"] != "Age":
            assert col.get("description"), f"{kind}: column {col['name']} has no description"
        # Every column points at a field the schema declares.
        steps = re.sub(r"\[\?\(.*?\)\]", "[]", col["jsonPath"]).strip(".").split(".")
        node = schema
        for step in steps:
            name = step.removesuffix("[]")
            if name == "metadata":
                break
            assert name in node.get("properties", {}), f"{kind}: column {col['name']}: {step}"
            node = node["properties"][name]
            if step.endswith("[]"):
                node = node["items"]


# --------------------------------------------------------------------------------------------
# structural schema rules


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_default_anywhere(kind: str) -> None:
    # Not in the schema, and not anywhere else in the file (e.g. printer columns).
    assert find_key(load_crd(kind), "default") == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schema_is_structural(kind: str) -> None:
    schema = schema_of(kind)
    assert schema["type"] == "object"
    assert set(schema["properties"]) >= {"apiVersion", "kind", "metadata", "spec"}
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert "spec" in schema["required"]
    for path, node in walk(schema):
        unknown = set(node) - ALLOWED_SCHEMA_KEYS
        assert not unknown, f"{kind} {path}: keys not allowed in a structural schema: {unknown}"
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, (
            f"{kind} {path}: every node needs a type"
        )
        if node["type"] == "object":
            assert (
                "properties" in node
                or node.get("x-kubernetes-preserve-unknown-fields")
                or path in (".metadata",)
            ), f"{kind} {path}: object with no properties"
            assert not ("properties" in node and "additionalProperties" in node), path
            for req in node.get("required", []):
                assert req in node.get("properties", {}), (
                    f"{kind} {path}: required {req} undeclared"
                )
        else:
            assert "properties" not in node and "required" not in node, path
            assert not node.get("x-kubernetes-preserve-unknown-fields"), path
        if node["type"] == "array":
            assert isinstance(node.get("items"), dict), f"{kind} {path}: array without items"
        else:
            assert "items" not in node, path
        if node["type"] == "integer":
            assert node.get("format") in {"int32", "int64"}, f"{kind} {path}: integer format"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_is_described(kind: str) -> None:
    undocumented = [
        p
        for p, n in walk(schema_of(kind))
        if p != ".metadata" and not (n.get("description") or "").strip()
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_strings_and_lists_are_bounded(kind: str) -> None:
    # The API server estimates CEL cost from maxLength/maxItems; unbounded sizes also let a
    # client store megabytes in one field.
    unbounded = []
    for path, node in walk(schema_of(kind)):
        if path in (".apiVersion", ".kind"):
            continue
        if (
            node["type"] == "string"
            and "enum" not in node
            and node.get("format") != "date-time"
            and "maxLength" not in node
        ):
            unbounded.append(path)
        if node["type"] == "array" and "maxItems" not in node:
            unbounded.append(path)
    assert unbounded == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_list_types(kind: str) -> None:
    for path, node in walk(schema_of(kind)):
        lt = node.get("x-kubernetes-list-type")
        if lt is None:
            continue
        assert node["type"] == "array", path
        assert lt in {"atomic", "set", "map"}, path
        if lt == "set":
            assert node["items"]["type"] in {"string", "integer", "number", "boolean"}, path
        if lt == "map":
            keys = node["x-kubernetes-list-map-keys"]
            assert keys and set(keys) <= set(node["items"]["required"]), path


@pytest.mark.parametrize("kind", ["AgentDeployment", "AgentException"])
def test_conditions_are_metav1_conditions(kind: str) -> None:
    cond = schema_of(kind)["properties"]["status"]["properties"]["conditions"]
    assert cond["x-kubernetes-list-type"] == "map"
    assert cond["x-kubernetes-list-map-keys"] == ["type"]
    item = cond["items"]
    assert set(item["required"]) == {"type", "status", "lastTransitionTime", "reason", "message"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"
    assert item["properties"]["observedGeneration"]["format"] == "int64"


def test_agent_status_shape() -> None:
    status = schema_of("AgentDeployment")["properties"]["status"]["properties"]
    assert set(status) == {
        "observedGeneration",
        "admittedGeneration",
        "conditions",
        "violations",
        "violationsOmitted",
        "policy",
        "cost",
        "review",  # the checklist review schedule (controller/domain/review.py)
        "observed",  # what Prometheus observes (controller/domain/observed.py)
    }
    observed = status["observed"]["properties"]
    assert set(observed) == {
        "scraped",
        "requestsPerDay",
        "errorRatio",
        "costPerRequest",
        "monthlyRunRate",
        "costSource",
        "firingAlerts",
        "unloadedAlerts",
        "observedAt",
    }
    assert observed["observedAt"]["format"] == "date-time"
    review = status["review"]["properties"]
    assert set(review) == {"lastReviewed", "cadence", "nextDue", "blockedFrom"}
    for moment in ("lastReviewed", "nextDue", "blockedFrom"):
        assert review[moment]["format"] == "date-time"
    assert status["observedGeneration"]["format"] == "int64"
    assert status["admittedGeneration"]["format"] == "int64"
    v = status["violations"]
    assert v["maxItems"] == 20
    assert v["items"]["properties"]["enforcement"]["enum"] == [
        "deny", "warn", "dryrun", "excepted", "skipped",
    ]  # fmt: skip
    assert set(status["policy"]["properties"]) == {"engine", "digest", "decidedAt"}
    assert set(status["cost"]["properties"]) == {
        "currency",
        "monthly1x",
        "monthly10x",
        "monthly100x",
        "monthlyLimit",
        "costPerRequest",  # with spec.models: the per-request total and the split per model
        "models",
    }
    model = status["cost"]["properties"]["models"]["items"]["properties"]
    assert set(model) == {
        "name", "role", "costPerRequest", "monthly1x", "monthly10x", "monthly100x",
    }  # fmt: skip


def test_agent_requires_only_template() -> None:
    # Checklist items (owner, fallback, budget, ...) are judged by Rego so that golive can explain
    # them; the schema must not pre-empt that by making them required.
    spec = schema_of("AgentDeployment")["properties"]["spec"]
    assert spec["required"] == ["template"]
    for name in ("owner", "scope", "contractRef", "fallback", "budget", "monitoring", "governance"):
        for path, node in walk(spec["properties"][name], f".spec.{name}"):
            assert "required" not in node and "minItems" not in node, (
                f"{path}: checklist sub-fields stay optional (reported by Rego)"
            )


def test_required_fields_of_contract_and_exception() -> None:
    agc = schema_of("AgentContract")["properties"]["spec"]
    assert set(agc["required"]) == {"owner", "version", "inputSchema", "outputSchema"}
    for name in ("inputSchema", "outputSchema"):
        assert agc["properties"][name]["type"] == "object"
        assert agc["properties"][name]["x-kubernetes-preserve-unknown-fields"] is True
    agx = schema_of("AgentException")["properties"]["spec"]
    assert set(agx["required"]) == {
        "targets",
        "policies",
        "reason",
        "approver",
        "ticket",
        "expiresAt",
    }
    assert set(agx["properties"]["approver"]["required"]) == {"name", "email"}
    assert agx["properties"]["targets"]["minItems"] == 1
    assert agx["properties"]["policies"]["minItems"] == 1


# --------------------------------------------------------------------------------------------
# CEL rules: shape only (evaluated by the real API server in the e2e tests)


def _cel_rules(kind: str):
    for path, node in walk(schema_of(kind)):
        for rule in node.get("x-kubernetes-validations", []):
            yield path, node, rule


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cel_rules_are_explained(kind: str) -> None:
    for path, node, rule in _cel_rules(kind):
        assert set(rule) <= CEL_RULE_KEYS, f"{path}: {rule}"
        assert rule["rule"].strip()
        assert rule.get("message") or rule.get("messageExpression"), f"{path}: no message"
        assert "\n" not in rule.get("message", ""), path
        if "reason" in rule:
            assert rule["reason"] in CEL_REASONS, path
        if "fieldPath" in rule:
            assert node["type"] == "object", path
            field = rule["fieldPath"].lstrip(".")
            assert field in node["properties"], f"{path}: fieldPath {field} undeclared"
        # Every self.<field> the rule reads is a declared property of the node.
        for field in re.findall(r"\bself\.([A-Za-z_][A-Za-z0-9_]*)\b(?!\()", rule["rule"]):
            assert field in node.get("properties", {}), f"{path}: rule reads undeclared {field}"


def test_expected_cel_rules_exist() -> None:
    def rules_at(kind: str, want: str) -> list[dict[str, Any]]:
        return [r for p, _, r in _cel_rules(kind) if p == want]

    fallback = rules_at("AgentDeployment", ".spec.fallback")
    assert any(
        "human-review" in r["rule"]
        and "static-response" in r["rule"]
        and r["fieldPath"] == ".target"
        for r in fallback
    )
    budget = rules_at("AgentDeployment", ".spec.budget")
    assert any(r["fieldPath"] == ".currency" for r in budget)
    approver = rules_at("AgentException", ".spec.approver")
    assert any(r["fieldPath"] == ".name" for r in approver)


# --------------------------------------------------------------------------------------------
# the design examples validate; malformed objects fail where expected


def test_design_examples_are_valid() -> None:
    agent = design_agent()
    agent["status"] = design_status()
    assert errors("AgentDeployment", agent) == []
    assert errors("AgentContract", design_contract()) == []
    assert errors("AgentException", design_exception()) == []


def test_minimal_agent_is_valid() -> None:
    # Only the template is structurally required: an agent with an empty checklist is stored
    # and then blocked by the Rego checklist with explanations.
    agent = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AgentDeployment",
        "metadata": {"name": "bare"},
        "spec": {"template": copy.deepcopy(POD_TEMPLATE)},
    }
    assert errors("AgentDeployment", agent) == []
    agent["spec"].update(owner={}, fallback={}, budget={}, monitoring={}, governance={})
    assert errors("AgentDeployment", agent) == []


def with_field(obj: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    *parents, last = dotted.split(".")
    node = obj
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return obj


DELETE = object()

BAD_AGENTS = [
    ("spec.fallback.mode", "escalate"),
    ("spec.fallback.timeoutSeconds", 0),
    ("spec.fallback.timeoutSeconds", 3601),
    ("spec.fallback.timeoutSeconds", "30"),
    ("spec.budget.currency", "usd"),
    ("spec.budget.currency", "EURO"),
    ("spec.budget.monthlyLimit", 4000),  # money is a string, never a number
    ("spec.budget.monthlyLimit", "4,000"),
    ("spec.budget.monthlyLimit", "-1"),
    ("spec.budget.monthlyLimit", "1e3"),
    ("spec.budget.costPerRequest", "0.0000001"),  # more than 6 decimals
    ("spec.budget.costPerRequest", ".5"),
    ("spec.budget.expectedDailyRequests", -1),
    ("spec.budget.expectedDailyRequests", "2000"),
    ("spec.owner.email", "dana.ruiz"),
    ("spec.owner.email", "dana ruiz@example.com"),
    ("spec.owner.name", ""),
    ("spec.owner", "Dana Ruiz"),
    ("spec.monitoring.metricsPath", "metrics"),
    ("spec.monitoring.dashboard", "grafana.example.com/d/invoice"),
    ("spec.monitoring.dashboard", "ftp://grafana.example.com"),
    ("spec.monitoring.alerts", "InvoiceTriageErrorRate"),
    ("spec.governance.reviewCadence", "daily"),
    ("spec.governance.regulated", "yes"),
    ("spec.governance.approvals.0.at", "20/11/2026"),
    ("spec.governance.approvals.0.at", "2026-13-01"),
    ("spec.governance.approvals.0.email", "lee"),
    ("spec.governance.lastReview.at", "30/11/2026"),
    ("spec.governance.lastReview.at", "2026-11-30T14:00Z"),  # a time is to the second
    ("spec.governance.lastReview.at", "2026-11-30 14:00:00"),
    ("spec.governance.lastReview.at", 20261130),
    ("spec.governance.lastReview.by.email", "lee"),
    ("spec.governance.lastReview", "2026-11-30"),
    ("spec.contractRef.name", "Invoice_Triage"),
    ("spec.scope.inputFormat", "pdf"),
    ("spec.replicas", 51),
    ("spec.replicas", -1),
    ("spec.template", DELETE),
    ("spec.template.spec", DELETE),
    ("spec.template.spec.containers", []),
    ("spec.ownr", {"name": "typo"}),  # unknown field (kubectl strict validation)
    ("spec.models.0.costPerRequest", "-0.01"),  # a negative cost is not a decimal string
    ("spec.models.0.costPerRequest", 0.002),
    ("spec.models.0.role", "planner"),
    ("spec.models.0.name", ""),
    ("spec.models.0.name", DELETE),
    ("spec.scope.kubernetesApi", True),  # an object: {needed, reason}
]


@pytest.mark.parametrize(("field", "value"), BAD_AGENTS, ids=[f"{f}={v!r}" for f, v in BAD_AGENTS])
def test_bad_agent_is_rejected_at_field(field: str, value: Any) -> None:
    bad = with_field(design_agent(), field, value)
    errs = errors("AgentDeployment", bad)
    assert errs, f"{field}={value!r} was accepted"
    parent = field.rsplit(".", 1)[0]
    # The error names the field (or, for a missing/unknown key, its parent object).
    assert any(p in (field, parent) for p, _ in errs), errs


BAD_STATUS = [
    ("violations.0.enforcement", "block"),
    ("conditions.0.status", "false"),
    ("conditions.0.lastTransitionTime", "yesterday"),
    ("conditions.0.reason", "has spaces"),
    ("conditions.0.type", DELETE),
    ("policy.digest", "md5:abc"),
    ("cost.monthly10x", 240.0),
    ("review.nextDue", "next week"),
    ("review.cadence", "daily"),
    ("observedGeneration", -1),
]


@pytest.mark.parametrize(("field", "value"), BAD_STATUS, ids=[f"{f}={v!r}" for f, v in BAD_STATUS])
def test_bad_status_is_rejected(field: str, value: Any) -> None:
    agent = design_agent()
    agent["status"] = with_field(design_status(), field, value)
    assert errors("AgentDeployment", agent), f"status.{field}={value!r} was accepted"


def test_status_violations_are_capped_at_20() -> None:
    agent = design_agent()
    status = design_status()
    status["violations"] = status["violations"] * 21
    agent["status"] = status
    assert [p for p, _ in errors("AgentDeployment", agent)] == ["status.violations"]


BAD_CONTRACTS = [
    ("spec.version", 3),  # unquoted YAML number
    ("spec.version", ""),
    ("spec.inputSchema", "not an object"),
    ("spec.outputSchema", ["type", "object"]),
    ("spec.inputSchema", DELETE),
    ("spec.outputSchema", DELETE),
    ("spec.owner", DELETE),
    ("spec.owner.email", DELETE),
    ("spec.owner.email", "nobody"),
    ("spec.version", DELETE),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_CONTRACTS, ids=[f"{f}={v!r}" for f, v in BAD_CONTRACTS]
)
def test_bad_contract_is_rejected(field: str, value: Any) -> None:
    errs = errors("AgentContract", with_field(design_contract(), field, value))
    assert errs, f"{field}={value!r} was accepted"
    parent = field.rsplit(".", 1)[0]
    assert any(p in (field, parent) for p, _ in errs), errs


BAD_EXCEPTIONS = [
    ("spec.targets", []),
    ("spec.targets", "invoice-triage"),
    ("spec.targets.0", "Invoice Triage"),
    ("spec.policies", []),
    ("spec.policies.0", "budget at scale"),
    ("spec.reason", ""),
    ("spec.approver", DELETE),
    ("spec.approver.email", DELETE),
    ("spec.approver.name", ""),
    ("spec.ticket", ""),
    ("spec.ticket", DELETE),
    ("spec.expiresAt", DELETE),
    ("spec.expiresAt", "2026-12-01"),  # a date is not a date-time
    ("spec.expiresAt", "next friday"),
    ("spec.reason", DELETE),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_EXCEPTIONS, ids=[f"{f}={v!r}" for f, v in BAD_EXCEPTIONS]
)
def test_bad_exception_is_rejected(field: str, value: Any) -> None:
    errs = errors("AgentException", with_field(design_exception(), field, value))
    assert errs, f"{field}={value!r} was accepted"
    parent = field.rsplit(".", 1)[0]
    assert any(p in (field, parent) for p, _ in errs), errs


def test_spec_is_required() -> None:
    for kind, make in (
        ("AgentDeployment", design_agent),
        ("AgentContract", design_contract),
        ("AgentException", design_exception),
    ):
        obj = make()
        del obj["spec"]
        assert errors(kind, obj), kind


def test_converter_is_not_vacuous() -> None:
    # Guard the guard: the conversion keeps patterns, enums and formats.
    js = to_json_schema(schema_of("AgentDeployment"))
    budget = js["properties"]["spec"]["properties"]["budget"]["properties"]
    assert budget["monthlyLimit"]["pattern"] == r"^[0-9]+(\.[0-9]{1,6})?$"
    assert not FORMATS.conforms("2026-02-30", "date")
    assert not FORMATS.conforms("2026-12-01T00:00:00", "date-time")
    assert FORMATS.conforms("2026-12-01T00:00:00Z", "date-time")
