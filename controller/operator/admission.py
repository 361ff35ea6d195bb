"""The admission verdict for one AgentDeployment CREATE/UPDATE: plain functions, no kopf.

`decide_admission` decides through the operator's one decision entry
(controller/operator/decider.py), as the reconcile gate does (same policy set, exceptions,
namespace labels, signers and read of Prometheus), with two differences that the design
fixes: `context.operation` is CREATE or UPDATE, and the contract and alert-rule lookups are
deferred (`contract.resolution` and `alertRules.resolution: skipped`), because GitOps tools may
apply the contract and the PrometheusRules after the agent; the reconcile gate enforces that
they exist.

Outcomes:
- admitted: allowed; `warn` violations become admission warnings (kubectl prints
  "Warning: ..."), `dryrun` and `excepted` ones too, marked as informational;
- blocked: denied, the message lists EVERY deny violation with its field and message;
- unknown (no policies loaded, engine unavailable, policy error, internal error): denied with a
  message saying why. The webhook's failurePolicy plays no part here: it governs only a webhook
  the API server cannot reach or that answers garbage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.domain.api import AGENTS, GROUP, VERSION
from controller.domain.decision import Decision, Result, Violation
from controller.domain.model import AgentDeployment, read_agent
from controller.domain.policy_input import Operation
from controller.engine.decision_pipeline import Verdict

log = logging.getLogger("golive.admission")

# Status codes in the denial (AdmissionResponse.status.code); kubectl shows them as the error
# class: 403 Forbidden for a policy denial, 503 for "could not decide", 400 for a request the
# webhook should never have been sent (a configuration error).
CODE_DENIED, CODE_BAD_REQUEST, CODE_UNDECIDED = 403, 400, 503

ADMISSION_OPERATIONS = {"CREATE": Operation.CREATE, "UPDATE": Operation.UPDATE}


@dataclass(frozen=True)
class AdmissionVerdict:
    allowed: bool
    message: str
    warnings: tuple[str, ...] = ()
    code: int = 200
    decision: Decision | None = field(default=None, compare=False)
    dry_run: bool = False


def _line(v: Violation) -> str:
    return f"[{v.policy}] {v.field}: {v.message}"


_WARNING_PREFIX = {
    "warn": "golive warn",
    "dryrun": "golive dryrun (not enforced)",
    "excepted": "golive excepted (waived by an active AgentException)",
}


def warnings_of(decision: Decision) -> tuple[str, ...]:
    """One admission warning per non-deny violation: warn first, then dryrun, then excepted."""
    out: list[str] = []
    for enforcement in ("warn", "dryrun", "excepted"):
        out += [
            f"{_WARNING_PREFIX[enforcement]} {_line(v)}"
            for v in decision.violations
            if v.enforcement == enforcement
        ]
    return tuple(out)


def denial_message(name: str, decision: Decision) -> str:
    """`golive denied <name>: [policy] field: message; [policy] field: message` (every deny)."""
    denies = [_line(v) for v in decision.violations if v.enforcement == "deny"]
    return f"golive denied {name}: " + "; ".join(denies)


def undecided_message(name: str, decision: Decision) -> str:
    return (
        f"golive could not decide {name} ({decision.reason.value}): {decision.message}; "
        "nothing is admitted without a decision, retry when the policies are usable"
    )


def display_name(agent: Mapping[str, Any]) -> str:
    meta = agent.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    return str(name)


# Decides one agent for an admission operation (CREATE or UPDATE): the operator's Decider,
# bound to the moment and the operator's latest read of Prometheus.
DecideAtTheDoor = Callable[[AgentDeployment, Operation], Verdict]


def decide_admission(
    agent: Mapping[str, Any],
    operation: str,
    *,
    dry_run: bool,
    decide: DecideAtTheDoor,
) -> AdmissionVerdict:
    """Decide one admission request (blocking: evaluates the policies; call it in a thread).

    agent: request.object, the AgentDeployment as the API server is about to store it; read
        here (`read_agent`) into the view the decision takes, once.
    decide: the one decision entry (controller/operator/decider.py), which defers the contract
        and alert-rule lookups at the door; an unusable policy set denies: Unknown.
    dry_run: request.dryRun. The verdict is the same; the flag is returned so the caller can
        keep dry runs out of side effects.
    """
    name = display_name(agent)
    op = ADMISSION_OPERATIONS.get(operation)
    if op is None:
        return AdmissionVerdict(
            False,
            f"golive reviews only CREATE and UPDATE of AgentDeployments, got {operation!r}; "
            "the ValidatingWebhookConfiguration's rules are wrong",
            code=CODE_BAD_REQUEST,
            dry_run=dry_run,
        )
    meta = agent.get("metadata")
    spec = agent.get("spec")
    if not isinstance(meta, Mapping) or not isinstance(spec, Mapping | None):
        # Every rejection names the field and what was expected.
        problem = (
            f"metadata: expected an object, found {type(meta).__name__}"
            if not isinstance(meta, Mapping)
            else f"spec: expected an object, found {type(spec).__name__}"
        )
        return AdmissionVerdict(
            False,
            f"golive denied {name}: [golive.spec] {problem}",
            code=CODE_BAD_REQUEST,
            dry_run=dry_run,
        )
    try:
        verdict = decide(read_agent(agent), op)
    except Exception as error:  # never an allow by accident
        log.exception("admission of %s failed", name)
        return AdmissionVerdict(
            False,
            f"golive could not decide {name} (internal error): {error}",
            code=CODE_UNDECIDED,
            dry_run=dry_run,
        )
    decision = verdict.decision
    if decision.result is Result.ADMITTED:
        message = decision.message
        return AdmissionVerdict(True, message, warnings_of(decision), 200, decision, dry_run)
    if decision.result is Result.BLOCKED:
        return AdmissionVerdict(
            False,
            denial_message(name, decision),
            warnings_of(decision),
            CODE_DENIED,
            decision,
            dry_run,
        )
    return AdmissionVerdict(
        False, undecided_message(name, decision), (), CODE_UNDECIDED, decision, dry_run
    )


# --- the AdmissionReview envelope ---------------------------------------------------------------

REVIEW_API_VERSION = "admission.k8s.io/v1"
AGENT_RESOURCE = {"group": GROUP, "version": VERSION, "resource": AGENTS}


class BadAdmissionReview(ValueError):
    """The body is not an AdmissionReview golive can answer (answered with HTTP 400)."""


def check_admission_review(data: object) -> tuple[str, str | None]:
    """Validate an AdmissionReview request body before kopf sees it.

    Returns (uid, problem): problem is None for a request golive handles, else a sentence for
    an AdmissionReview answered allowed=false (the envelope is fine, the request is not for
    golive). Raises BadAdmissionReview when not even a response can be addressed (no uid).
    """
    if not isinstance(data, Mapping):
        raise BadAdmissionReview(
            f"expected an AdmissionReview object, got JSON {type(data).__name__}"
        )
    if data.get("kind") != "AdmissionReview" or data.get("apiVersion") != REVIEW_API_VERSION:
        raise BadAdmissionReview(
            f"expected kind AdmissionReview, apiVersion {REVIEW_API_VERSION}; got kind "
            f"{data.get('kind')!r}, apiVersion {data.get('apiVersion')!r}"
        )
    request = data.get("request")
    if not isinstance(request, Mapping):
        raise BadAdmissionReview("the AdmissionReview has no request object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadAdmissionReview("the AdmissionReview request has no uid")
    resource = request.get("resource")
    if not isinstance(resource, Mapping) or any(
        resource.get(k) != v for k, v in AGENT_RESOURCE.items()
    ):
        return uid, (
            f"golive reviews only {GROUP}/{VERSION} {AGENTS}, got resource "
            f"{dict(resource) if isinstance(resource, Mapping) else resource!r}"
        )
    if request.get("subResource"):
        return uid, f"golive does not review the {request.get('subResource')!r} subresource"
    if request.get("operation") not in ADMISSION_OPERATIONS:
        return uid, (
            f"golive reviews only CREATE and UPDATE of AgentDeployments, got "
            f"{request.get('operation')!r}"
        )
    if not isinstance(request.get("object"), Mapping):
        return uid, "the AdmissionReview request has no object to review"
    if not isinstance(request.get("userInfo"), Mapping):
        return uid, "the AdmissionReview request has no userInfo"
    return uid, None


def deny_response(uid: str, message: str, code: int = CODE_BAD_REQUEST) -> dict[str, Any]:
    return {
        "apiVersion": REVIEW_API_VERSION,
        "kind": "AdmissionReview",
        "response": {
            "uid": uid,
            "allowed": False,
            "status": {"message": message, "code": code},
        },
    }
