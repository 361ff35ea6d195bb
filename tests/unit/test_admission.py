"""The admission webhook's logic with a fake engine, and its HTTPS endpoint with raw requests."""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509

from controller.domain.alert_rules import AlertRules
from controller.domain.decision import RawViolation
from controller.domain.model import AgentDeployment
from controller.domain.policy_input import Operation, PolicyContext
from controller.domain.policy_metadata import PolicyInfo
from controller.engine.bundle import PolicyBundle
from controller.engine.decision_pipeline import (
    PolicySet,
    Verdict,
    decide_agent,
    unusable_policy_set,
)
from controller.engine.protocol import EngineUnavailable, PolicyError
from controller.k8s import certs
from controller.k8s.webhook import webhook_configuration
from controller.operator import metrics
from controller.operator.admission import (
    AdmissionVerdict,
    BadAdmissionReview,
    DecideAtTheDoor,
    check_admission_review,
    decide_admission,
)
from controller.operator.webhook import GoliveWebhookServer, review_response
from tests.unit.fake_engine import FakeEngine

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
OWNER = "golive.ownership.single_owner"
FALLBACK = "golive.fallback.fallback_defined"
CADENCE = "golive.governance.review_cadence"
PINNED = "golive.release.pinned_image"


def info(policy: str, enforcement: str) -> PolicyInfo:
    return PolicyInfo(policy, policy, "", enforcement, "high", "x", policy, "m.rego")  # type: ignore[arg-type]


BUNDLE = PolicyBundle(
    modules={},
    policies={
        OWNER: info(OWNER, "deny"),
        FALLBACK: info(FALLBACK, "deny"),
        CADENCE: info(CADENCE, "warn"),
        PINNED: info(PINNED, "dryrun"),
    },
    digest="sha256:" + "0" * 64,
)

TEAM = RawViolation(OWNER, "spec.owner.name", 'owner "Platform Team" looks like a team alias')
MAILBOX = RawViolation(OWNER, "spec.owner.email", "shared mailbox")
NO_FALLBACK = RawViolation(FALLBACK, "spec.fallback", "no fallback declared")
NO_CADENCE = RawViolation(CADENCE, "spec.governance.reviewCadence", "no reviewCadence declared")
UNPINNED = RawViolation(PINNED, "spec.template.spec.containers[0].image", "pin by digest")


def agent(name: str = "invoice-triage", contract: str | None = "invoice-triage-v3") -> dict:  # type: ignore[type-arg]
    spec: dict[str, Any] = {"owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"}}
    if contract:
        spec["contractRef"] = {"name": contract}
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": name, "namespace": "finance"},
        "spec": spec,
    }


def exception(policy: str, target: str = "invoice-triage", expires: datetime | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentException",
        "metadata": {"name": "waiver", "namespace": "finance"},
        "spec": {
            "targets": [target],
            "policies": [policy],
            "reason": "budget reviewed by finance",
            "approver": {"name": "Sam Ortiz", "email": "sam.ortiz@example.com"},
            "ticket": "FIN-1234",
            "expiresAt": (expires or NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def run(
    engine: Any,
    *,
    operation: str = "CREATE",
    dry_run: bool = False,
    exceptions: list[Mapping[str, Any]] | None = None,
    obj: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> AdmissionVerdict:
    return decide_admission(
        obj if obj is not None else agent(),
        operation,
        dry_run=dry_run,
        decide=at_the_door(PolicySet(engine, BUNDLE), exceptions or [], labels or {}),
    )


def at_the_door(
    policy_set: PolicySet,
    exceptions: list[Mapping[str, Any]],
    labels: Mapping[str, str],
    signers: Any = None,
) -> DecideAtTheDoor:
    """What the operator's Decider does at the door, without a cluster: the contract and
    alert-rule lookups deferred."""

    def decide(agent: AgentDeployment, operation: Operation) -> Verdict:
        return decide_agent(
            policy_set,
            agent,
            contracts=None,
            exceptions=exceptions,
            context=PolicyContext(operation, NOW, labels),
            alert_rules=AlertRules.deferred(),
            signers=signers,
        )

    return decide


# --- the verdict ------------------------------------------------------------------------------


def test_a_compliant_agent_is_allowed_without_warnings() -> None:
    verdict = run(FakeEngine())
    assert verdict.allowed and verdict.warnings == () and verdict.code == 200


def test_a_denial_lists_every_deny_violation_with_field_and_message() -> None:
    verdict = run(FakeEngine([TEAM, MAILBOX, NO_FALLBACK]))
    assert not verdict.allowed and verdict.code == 403
    assert verdict.message == (
        "golive denied invoice-triage: "
        "[golive.fallback.fallback_defined] spec.fallback: no fallback declared; "
        "[golive.ownership.single_owner] spec.owner.email: shared mailbox; "
        '[golive.ownership.single_owner] spec.owner.name: owner "Platform Team" looks like a '
        "team alias"
    )


def test_warn_dryrun_become_warnings_and_admit() -> None:
    verdict = run(FakeEngine([NO_CADENCE, UNPINNED]))
    assert verdict.allowed
    assert verdict.warnings == (
        "golive warn [golive.governance.review_cadence] spec.governance.reviewCadence: "
        "no reviewCadence declared",
        "golive dryrun (not enforced) [golive.release.pinned_image] "
        "spec.template.spec.containers[0].image: pin by digest",
    )


def test_a_denial_still_carries_the_warnings_and_not_the_warn_in_the_message() -> None:
    verdict = run(FakeEngine([TEAM, NO_CADENCE]))
    assert not verdict.allowed
    assert "review_cadence" not in verdict.message
    assert len(verdict.warnings) == 1 and "review_cadence" in verdict.warnings[0]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (EngineUnavailable("OPA unreachable"), "EngineUnavailable"),
        (PolicyError("module x does not compile"), "PolicyError"),
    ],
)
def test_an_unknown_decision_denies_with_the_reason(error: Exception, reason: str) -> None:
    verdict = run(FakeEngine(error=error))  # type: ignore[arg-type]
    assert not verdict.allowed and verdict.code == 503
    assert verdict.message.startswith(f"golive could not decide invoice-triage ({reason}): ")
    assert str(error) in verdict.message


def test_no_policies_loaded_denies() -> None:
    broken = unusable_policy_set("embedded", PolicyError("module broken.rego: parse error"))
    verdict = decide_admission(agent(), "CREATE", dry_run=False, decide=at_the_door(broken, [], {}))
    assert not verdict.allowed and "parse error" in verdict.message and verdict.code == 503


class ExplodingEngine(FakeEngine):
    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        raise RuntimeError("boom")


def test_an_internal_error_denies_never_allows() -> None:
    verdict = run(ExplodingEngine())
    assert not verdict.allowed and "internal error" in verdict.message and "boom" in verdict.message


def test_an_active_exception_waives_exactly_its_policy() -> None:
    verdict = run(FakeEngine([TEAM, NO_FALLBACK]), exceptions=[exception(OWNER)])
    assert not verdict.allowed  # the fallback deny is not waived
    assert "fallback_defined" in verdict.message and "single_owner" not in verdict.message
    assert any(w.startswith("golive excepted") and OWNER in w for w in verdict.warnings)

    verdict = run(FakeEngine([TEAM]), exceptions=[exception(OWNER)])
    assert verdict.allowed
    assert verdict.warnings == (
        "golive excepted (waived by an active AgentException) "
        '[golive.ownership.single_owner] spec.owner.name: owner "Platform Team" looks like a '
        "team alias",
    )


def test_expired_or_foreign_exceptions_waive_nothing() -> None:
    expired = exception(OWNER, expires=NOW - timedelta(seconds=1))
    assert not run(FakeEngine([TEAM]), exceptions=[expired]).allowed
    other = exception(OWNER, target="someone-else")
    assert not run(FakeEngine([TEAM]), exceptions=[other]).allowed


def test_the_contract_lookup_is_deferred_and_the_operation_passed() -> None:
    engine = FakeEngine()
    run(engine, operation="UPDATE", labels={"team": "finance"})
    (seen,) = engine.inputs
    assert seen["contract"]["resolution"] == "skipped"
    assert seen["contract"]["name"] == "invoice-triage-v3"
    assert seen["context"]["operation"] == "UPDATE"
    assert seen["context"]["namespaceLabels"] == {"team": "finance"}
    run(engine, operation="CREATE", obj=agent(contract=None))
    assert engine.inputs[1]["contract"]["resolution"] == "undeclared"
    assert engine.inputs[1]["context"]["operation"] == "CREATE"


def test_a_dry_run_gets_the_same_verdict() -> None:
    for violations in ([TEAM, NO_CADENCE], [NO_CADENCE], []):
        wet = run(FakeEngine(violations))
        dry = run(FakeEngine(violations), dry_run=True)
        assert (dry.allowed, dry.message, dry.warnings, dry.code) == (
            wet.allowed,
            wet.message,
            wet.warnings,
            wet.code,
        )
        assert dry.dry_run and not wet.dry_run


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT", ""])
def test_other_operations_are_denied_without_evaluating(operation: str) -> None:
    engine = FakeEngine()
    verdict = run(engine, operation=operation)
    assert not verdict.allowed and verdict.code == 400 and "CREATE and UPDATE" in verdict.message
    assert engine.inputs == []


def test_an_object_without_metadata_is_denied() -> None:
    verdict = run(FakeEngine(), obj={"kind": "AgentDeployment", "spec": {}})
    assert not verdict.allowed
    assert "metadata: expected an object, found NoneType" in verdict.message


def test_a_spec_that_is_not_an_object_is_denied_naming_spec() -> None:
    verdict = run(
        FakeEngine(), obj={"kind": "AgentDeployment", "metadata": {"name": "a"}, "spec": 3}
    )
    assert not verdict.allowed
    assert "[golive.spec] spec: expected an object, found int" in verdict.message


# --- the AdmissionReview envelope -------------------------------------------------------------


def admission_review(
    obj: Mapping[str, Any] | None = None, uid: str = "u-1", **request: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": "golive.dev", "version": "v1alpha1", "kind": "AgentDeployment"},
        "resource": {"group": "golive.dev", "version": "v1alpha1", "resource": "agentdeployments"},
        "operation": "CREATE",
        "userInfo": {"username": "dev"},
        "object": obj if obj is not None else agent(),
        "dryRun": False,
    }
    body.update(request)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": body}


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([1, 2], "got JSON list"),
        ("x", "got JSON str"),
        ({"kind": "AdmissionReview"}, "apiVersion"),
        ({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}, "no request"),
        (
            {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {}},
            "no uid",
        ),
        ({**admission_review(), "apiVersion": "admission.k8s.io/v1beta1"}, "apiVersion"),
    ],
)
def test_bodies_that_cannot_be_answered_are_bad_reviews(data: object, needle: str) -> None:
    with pytest.raises(BadAdmissionReview, match=needle):
        check_admission_review(data)


@pytest.mark.parametrize(
    ("request_fields", "needle"),
    [
        ({"resource": {"group": "", "version": "v1", "resource": "pods"}}, "only golive.dev"),
        ({"operation": "DELETE"}, "CREATE and UPDATE"),
        ({"subResource": "status"}, "subresource"),
        ({"object": None}, "no object"),
        ({"userInfo": None}, "no userInfo"),
    ],
)
def test_reviews_not_for_golive_get_a_reason(request_fields: dict[str, Any], needle: str) -> None:
    uid, problem = check_admission_review(admission_review(**request_fields))
    assert uid == "u-1" and problem is not None and needle in problem


def test_a_good_review_passes_the_envelope_check() -> None:
    assert check_admission_review(admission_review()) == ("u-1", None)


# --- TLS and the configuration ----------------------------------------------------------------


def test_self_signed_serving_certificate_verifies_for_its_hosts(tmp_path: Path) -> None:
    files = certs.write_self_signed(["127.0.0.1", "golive.golive-system.svc"], tmp_path)
    cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "golive.golive-system.svc" in sans.get_values_for_type(x509.DNSName)
    assert (files.keyfile.stat().st_mode & 0o777) == 0o600
    assert certs.mounted(tmp_path).ca_pem == files.ca_pem
    with pytest.raises(ValueError, match=r"tls\.crt does not exist"):
        certs.mounted(tmp_path / "nowhere")
    (tmp_path / "ca.crt").unlink()  # an issuer without ca.crt: the cert is its own CA
    assert certs.mounted(tmp_path).ca_pem == files.certfile.read_bytes()


def test_the_webhook_configuration() -> None:
    body = webhook_configuration(
        "https://127.0.0.1:9443/validate", b"CA", exempt_namespaces=["golive-system", "kube-system"]
    )
    (hook,) = body["webhooks"]
    assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
    assert hook["failurePolicy"] == "Fail" and hook["timeoutSeconds"] == 5
    assert hook["clientConfig"] == {
        "url": "https://127.0.0.1:9443/validate",
        "caBundle": base64.b64encode(b"CA").decode(),
    }
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["golive-system", "kube-system"],
        }
    ]
    (rule,) = hook["rules"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert rule["resources"] == ["agentdeployments"] and rule["apiGroups"] == ["golive.dev"]
    with pytest.raises(ValueError, match="failurePolicy"):
        webhook_configuration("https://x/validate", b"", exempt_namespaces=[], failure_policy="No")
    with pytest.raises(ValueError, match="timeoutSeconds"):
        webhook_configuration("https://x/validate", b"", exempt_namespaces=[], timeout_seconds=31)


# --- the HTTPS endpoint, with raw requests ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Endpoint:
    def __init__(self, url: str, ca: bytes, calls: list[dict[str, Any]]) -> None:
        self.url, self.calls = url, calls
        self.ssl = ssl.create_default_context(cadata=ca.decode())

    async def post(self, body: bytes, path: str = "/validate") -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + path, data=body, ssl=self.ssl) as resp,
        ):
            return resp.status, json.loads(await resp.text())


# Names the endpoint fixture's decision keys on: the violations its engine finds for them.
SCRIPTED = {"team-owner": [TEAM, NO_CADENCE], "warned": [NO_CADENCE, UNPINNED]}


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[Endpoint]:
    """The real GoliveWebhookServer on loopback, deciding with the real `decide_admission` over
    a scripted engine: the violations in SCRIPTED by the agent's name, EngineUnavailable for
    "undecided", and an exception escaping the decision for "boom-*". kopf's admission entry
    is handed to the server as kopf does, and must never be called."""
    files = certs.write_self_signed(["127.0.0.1"], tmp_path)
    calls: list[dict[str, Any]] = []
    ready: list[str] = []

    def decide(obj: dict[str, Any], operation: str, dry_run: bool) -> AdmissionVerdict:
        name = obj["metadata"]["name"]
        calls.append({"object": obj, "operation": operation, "dry_run": dry_run,
                      "thread": threading.current_thread().name})  # fmt: skip
        if name.startswith("boom"):
            raise KeyError("something deep in the decision")
        engine = FakeEngine(
            SCRIPTED.get(name, []),
            error=EngineUnavailable("OPA unreachable") if name == "undecided" else None,
        )
        return decide_admission(
            obj, operation, dry_run=dry_run, decide=at_the_door(PolicySet(engine, BUNDLE), [], {})
        )

    async def kopf_admission(data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("kopf's admission machinery was called")

    async def on_ready(url: str) -> None:
        ready.append(url)

    port = free_port()
    server = GoliveWebhookServer(
        decide=decide,
        addr="127.0.0.1",
        port=port,
        host="127.0.0.1",
        certfile=str(files.certfile),
        pkeyfile=str(files.keyfile),
        cadata=files.ca_pem,
        on_ready=on_ready,
    )
    stream = server(kopf_admission)
    client_config = await stream.__anext__()
    assert ready == [f"https://127.0.0.1:{port}/validate"]
    assert base64.b64decode(client_config["caBundle"]) == files.ca_pem
    try:
        yield Endpoint(f"https://127.0.0.1:{port}", files.ca_pem, calls)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def test_a_compliant_agent_is_allowed_by_golive_own_handler(endpoint: Endpoint) -> None:
    status, answer = await endpoint.post(json.dumps(admission_review()).encode())
    assert status == 200
    assert answer == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "u-1", "allowed": True},
    }
    (call,) = endpoint.calls
    # request.object as sent, the operation and dryRun; decided on the webhook's own threads,
    # not on the event loop and not on the default executor the reconcile workers share.
    assert call["object"] == agent() and call["operation"] == "CREATE"
    assert call["dry_run"] is False
    assert call["thread"].startswith("golive-webhook")


async def test_a_denial_carries_every_deny_the_warnings_and_code_403(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    obj = agent(name="team-owner")
    body = admission_review(obj, uid="u-2", operation="UPDATE", dryRun=True)
    with caplog.at_level(logging.WARNING, logger="golive.webhook"):
        status, answer = await endpoint.post(json.dumps(body).encode())
    assert status == 200
    assert answer["response"] == {
        "uid": "u-2",
        "allowed": False,
        "warnings": [
            "golive warn [golive.governance.review_cadence] spec.governance.reviewCadence: "
            "no reviewCadence declared"
        ],
        "status": {
            "message": "golive denied team-owner: [golive.ownership.single_owner] "
            'spec.owner.name: owner "Platform Team" looks like a team alias',
            "code": 403,
        },
    }
    (call,) = endpoint.calls
    assert call["operation"] == "UPDATE" and call["dry_run"] is True
    # Every refusal is logged (the audit trail), with the object and the message.
    (record,) = [r for r in caplog.records if r.name == "golive.webhook"]
    assert "finance/team-owner" in record.getMessage()
    assert "dry run" in record.getMessage() and "team alias" in record.getMessage()


async def test_warnings_alone_admit_with_no_status(endpoint: Endpoint) -> None:
    status, answer = await endpoint.post(
        json.dumps(admission_review(agent(name="warned"))).encode()
    )
    assert status == 200 and answer["response"]["allowed"] is True
    assert "status" not in answer["response"]
    assert [w.split(" [")[0] for w in answer["response"]["warnings"]] == [
        "golive warn",
        "golive dryrun (not enforced)",
    ]


async def test_no_decision_is_a_denial_with_code_503(endpoint: Endpoint) -> None:
    status, answer = await endpoint.post(
        json.dumps(admission_review(agent(name="undecided"))).encode()
    )
    assert status == 200 and answer["response"]["allowed"] is False
    assert answer["response"]["status"]["code"] == 503
    assert answer["response"]["status"]["message"].startswith(
        "golive could not decide undecided (EngineUnavailable): OPA unreachable"
    )


@pytest.mark.parametrize(
    ("verdict", "kopf_error"),
    [
        (AdmissionVerdict(True, "admitted"), None),
        (AdmissionVerdict(True, "admitted", ("golive warn [p] f: m",)), None),
        (AdmissionVerdict(False, "golive denied a: [p] f: m", ("golive warn [q] g: n",), 403), 403),
        (AdmissionVerdict(False, "golive could not decide a (X): y", (), 503), 503),
    ],
)
def test_the_response_has_the_shape_kopf_gave_it(
    verdict: AdmissionVerdict, kopf_error: int | None
) -> None:
    """What kopf's build_response answered for the old kopf handler (warnings extended, an
    AdmissionError raised with the verdict's message and code), minus the empty patch."""
    from kopf._core.actions.execution import Outcome
    from kopf._core.engines.admission import AdmissionError, build_response

    error = AdmissionError(verdict.message, code=kopf_error) if kopf_error else None
    kopf_answer = build_response(
        request=admission_review(uid="u-7"),  # type: ignore[arg-type]
        outcomes={"validate": Outcome(final=True, exception=error)},  # type: ignore[dict-item]
        warnings=list(verdict.warnings),
        jsonpatch=[],
    )
    assert review_response("u-7", verdict) == kopf_answer


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "got JSON list"),
        (b"null", "got JSON NoneType"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}', "no request"),
        (json.dumps({**admission_review(), "request": {"uid": ""}}).encode(), "no uid"),
    ],
)
async def test_malformed_bodies_get_400_with_a_message(
    endpoint: Endpoint, body: bytes, needle: str
) -> None:
    status, answer = await endpoint.post(body)
    assert status == 400 and needle in answer["error"]
    assert endpoint.calls == []
    # ...and the server is still alive.
    status, _ = await endpoint.post(json.dumps(admission_review()).encode())
    assert status == 200


async def test_reviews_not_for_golive_are_denied_not_allowed(endpoint: Endpoint) -> None:
    body = admission_review(resource={"group": "", "version": "v1", "resource": "pods"})
    status, answer = await endpoint.post(json.dumps(body).encode())
    assert status == 200 and answer["response"]["allowed"] is False
    assert "only golive.dev" in answer["response"]["status"]["message"]
    assert endpoint.calls == []


async def test_other_paths_are_404_never_an_allow(endpoint: Endpoint) -> None:
    # kopf alone would route /mutate to a handler id "mutate", find none, and allow.
    for path in ("/mutate", "/", "/validate/extra"):
        status, answer = await endpoint.post(json.dumps(admission_review()).encode(), path)
        assert status == 404 and "/validate" in answer["error"]
    assert endpoint.calls == []


async def test_reviews_of_large_objects_are_answered_and_huge_bodies_refused(
    endpoint: Endpoint,
) -> None:
    # Past aiohttp's default 1 MiB limit: the API server accepts objects of up to 3 MiB.
    big = agent(name="warned")
    big["metadata"]["annotations"] = {"note": "x" * (3 * 1024 * 1024)}
    status, answer = await endpoint.post(json.dumps(admission_review(big)).encode())
    assert status == 200 and answer["response"]["allowed"] is True
    assert endpoint.calls[0]["object"] == big
    # Past 16 MiB: refused, whether the length is announced or the body comes chunked.
    huge = b"{" + b" " * (16 * 1024 * 1024) + b"}"
    status, answer = await endpoint.post(huge)
    assert status == 413 and "larger than" in answer["error"]

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b" " * (1024 * 1024)

    status, answer = await endpoint.post(chunked())  # type: ignore[arg-type]
    assert status == 413 and "larger than" in answer["error"]
    assert len(endpoint.calls) == 1
    status, _ = await endpoint.post(json.dumps(admission_review()).encode())
    assert status == 200


async def test_every_answer_is_counted_by_outcome(endpoint: Endpoint) -> None:
    def counts() -> dict[str, float]:
        return {o: metrics.WEBHOOK_REVIEWS.labels(o)._value.get() for o in metrics.WEBHOOK_OUTCOMES}

    before = counts()
    for name in ("invoice-triage", "warned", "team-owner", "undecided", "boom-2"):
        await endpoint.post(json.dumps(admission_review(agent(name=name))).encode())
    await endpoint.post(json.dumps(admission_review(operation="DELETE")).encode())
    await endpoint.post(b"[]")
    await endpoint.post(json.dumps(admission_review()).encode(), "/mutate")
    after = counts()
    assert {o: after[o] - before[o] for o in after} == {
        "allowed": 2, "denied": 1, "error": 2, "invalid": 3,
    }  # fmt: skip


async def test_a_crash_behind_the_endpoint_is_a_denial(endpoint: Endpoint) -> None:
    obj = agent(name="boom-1")
    status, answer = await endpoint.post(json.dumps(admission_review(obj, uid="u-9")).encode())
    assert status == 200
    assert answer["response"]["uid"] == "u-9" and answer["response"]["allowed"] is False
    assert "could not review" in answer["response"]["status"]["message"]
