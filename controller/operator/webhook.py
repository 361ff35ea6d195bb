"""The validating admission webhook, served by the operator process through kopf.

kopf parses the AdmissionReview, runs the `validate` handler below and builds the response
(`warnings`, `AdmissionError` -> allowed=false with status message and code). Two things kopf
does not do as golive needs, so `GoliveWebhookServer` wraps its aiohttp endpoint minimally:

- kopf routes POST /<anything> to the handler whose id is <anything>, and when no handler has
  that id it answers allowed=true (no handler, no objection). A request on a wrong path must
  never be an allow: only /validate (the chart's path, and this handler's id) is served, the
  rest is 404.
- kopf answers a body that is JSON but not an AdmissionReview (a list, no `request`, no
  `resource`) with a bare 500 from a KeyError/AttributeError deep inside it. Such bodies get a
  400 with a JSON message instead, and a well-formed review that is not for golive (another
  resource, DELETE, a subresource) an AdmissionReview with allowed=false and the reason.

Registration (`--webhook-register`) is golive's own, not kopf's `settings.admission.managed`:
kopf's managed configuration cannot carry a namespaceSelector, sets timeoutSeconds 30 and
admits v1beta1 reviews, which the design does not want.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import kopf

from controller.domain.api import AGENTS, GROUP, VERSION
from controller.k8s.webhook import WEBHOOK_PATH
from controller.operator import metrics
from controller.operator.admission import (
    CODE_BAD_REQUEST,
    CODE_DENIED,
    AdmissionVerdict,
    BadAdmissionReview,
    check_admission_review,
    decide_admission,
    deny_response,
)
from controller.operator.runtime import Runtime

log = logging.getLogger("golive.webhook")

HANDLER_ID = WEBHOOK_PATH.strip("/")  # kopf serves handler <id> at POST /<id>
MAX_REVIEW_BYTES = 16 * 1024 * 1024

OnReady = Callable[[str], Awaitable[None]]


def decide_admission_with(rt: Runtime, agent: dict[str, Any], operation: str, dry_run: bool) -> Any:
    """Blocking: the verdict through the operator's decision entry, at this moment and with its
    latest read of Prometheus (no query on the admission path)."""
    now = datetime.now(UTC)
    source = "admission-dryrun" if dry_run else "admission"
    verdict = decide_admission(
        agent,
        operation,
        dry_run=dry_run,
        decide=lambda obj, op: rt.decider.decide(
            obj, op, now, source=source, observed=rt.state.observed_facts(obj)
        ),
    )
    if verdict.decision is None:  # refused before a decision: counted here, not by the Decider
        metrics.DECISIONS.labels(source, "unknown").inc()
    return verdict


def review_outcome(verdict: AdmissionVerdict) -> str:
    """golive_webhook_reviews_total's outcome label for a verdict."""
    if verdict.allowed:
        return "allowed"
    if verdict.code == CODE_DENIED:
        return "denied"
    return "invalid" if verdict.code == CODE_BAD_REQUEST else "error"


async def validate_agent(
    *, body: kopf.Body, dryrun: bool, warnings: list[str], memo: kopf.Memo, **kwargs: Any
) -> None:
    """The kopf handler: thin. No events, no writes: the webhook's sideEffects is None."""
    rt: Runtime = memo.runtime
    verdict: AdmissionVerdict = await asyncio.to_thread(
        decide_admission_with, rt, dict(body), str(kwargs.get("operation") or ""), bool(dryrun)
    )
    metrics.record_review(review_outcome(verdict))
    warnings.extend(verdict.warnings)
    if not verdict.allowed:
        raise kopf.AdmissionError(verdict.message, code=verdict.code)


def register_validation(registry: kopf.OperatorRegistry) -> None:
    """Add the admission handler to an operator's registry (only when the webhook is on:
    kopf refuses to start with admission handlers and no admission server)."""
    kopf.on.validate(
        GROUP, VERSION, AGENTS, id=HANDLER_ID, operations=["CREATE", "UPDATE"], registry=registry
    )(validate_agent)


class GoliveWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS server with golive's checks in front (see the module docstring), and a
    callback once it listens (to register the webhook configuration with the server's URL)."""

    def __init__(self, *, on_ready: OnReady | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_ready = on_ready

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        async for client_config in super().__call__(fn):
            url = f"{str(client_config.get('url', '')).rstrip('/')}{WEBHOOK_PATH}"
            log.info("admission webhook listening; the API server reaches it at %s", url)
            if self.on_ready is not None:
                await self.on_ready(url)
            yield client_config

    @staticmethod
    async def _serve(fn: Any, request: aiohttp.web.Request) -> aiohttp.web.Response:
        if request.match_info.get("id") != HANDLER_ID:
            return _error(404, f"golive serves admission reviews at {WEBHOOK_PATH} only")
        # kopf's aiohttp application keeps aiohttp's 1 MiB body limit, but the API server sends
        # a review for every object it accepts (3 MiB requests; an UPDATE carries oldObject too).
        request = request.clone(client_max_size=MAX_REVIEW_BYTES)
        try:
            data = json.loads(await request.text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return _error(400, f"the body is not JSON: {error}")
        except RecursionError:
            return _error(400, "the body is nested too deeply to be reviewed")
        try:
            uid, problem = check_admission_review(data)
        except BadAdmissionReview as error:
            return _error(400, str(error))
        if problem is not None:
            metrics.record_review("invalid")
            return aiohttp.web.json_response(deny_response(uid, problem))
        # What kopf's own _serve does with a parsed body (it passes these to its handlers).
        headers = dict(request.headers)
        sslpeer = request.transport.get_extra_info("peercert") if request.transport else None
        try:
            response = await fn(data, webhook=HANDLER_ID, sslpeer=sslpeer, headers=headers)
        except Exception as error:
            log.exception("admission review %s failed", uid)
            metrics.record_review("error")
            # Never an allow by accident: an AdmissionReview that denies, with the reason.
            return aiohttp.web.json_response(
                deny_response(uid, f"golive could not review the request: {error!r}", 500)
            )
        return aiohttp.web.json_response(response)


def _error(status: int, message: str) -> aiohttp.web.Response:
    metrics.record_review("invalid")  # every use is a request golive does not review
    return aiohttp.web.json_response({"error": message, "status": status}, status=status)
