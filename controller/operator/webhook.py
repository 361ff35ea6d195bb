"""The validating admission webhook, served by the operator process.

kopf's `WebhookServer` listens (TLS, the served certificate re-read when its files change) and
`GoliveWebhookServer._serve` answers every request itself; kopf's admission machinery is not on
the path. kopf's own answer to a review would deep-copy the object to build a JSON patch a
validating webhook never returns, look the resource up, build its handler cause and run its
handler chain: about 85% of the event loop's time per review (docs/performance.md). Here, per
POST /validate:

1. the body is parsed and checked (`check_admission_review`): a body that is not an
   AdmissionReview golive can address gets HTTP 400 with a JSON message; a well-formed review
   that is not for golive (another resource, DELETE, a subresource, no object, no userInfo) an
   AdmissionReview with allowed=false and the reason;
2. `request.object`, `operation` and `dryRun` go to the decision (`decide_admission_with`, the
   operator's one decision entry) on a thread of the webhook's own pool, so a review never waits
   behind reconcile work queued on the event loop's default executor;
3. the AdmissionReview response is built once, in the shape kopf gave it: `uid`, `allowed`,
   `warnings` when there are any, and when denied `status: {message, code}` (403 a policy
   denial, 503 no decision, 400 a request golive should not have been sent). An exception while
   reviewing is a denial with code 500, never an allow.

Any other path is 404: kopf alone routes POST /<anything> to the handler whose id is <anything>
and answers allowed=true when there is none. No kopf admission handler is registered: kopf
starts its webhook server whenever `settings.admission.server` is set.

Registration (`--webhook-register`) is golive's own, not kopf's `settings.admission.managed`:
kopf's managed configuration cannot carry a namespaceSelector, sets timeoutSeconds 30 and
admits v1beta1 reviews, which the design does not want.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import kopf

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
    display_name,
)
from controller.operator.runtime import Runtime

log = logging.getLogger("golive.webhook")

WEBHOOK_ID = WEBHOOK_PATH.strip("/")  # kopf's server routes POST /<id>; golive serves only this
MAX_REVIEW_BYTES = 16 * 1024 * 1024
# Threads deciding reviews. The embedded engine releases the GIL while OPA evaluates, so two
# cores are used with a few threads; more would only queue on the GIL.
REVIEW_THREADS = 4

OnReady = Callable[[str], Awaitable[None]]
# Blocking: the verdict for (request.object, request.operation, request.dryRun).
DecideReview = Callable[[dict[str, Any], str, bool], AdmissionVerdict]


def decide_admission_with(
    rt: Runtime, agent: dict[str, Any], operation: str, dry_run: bool
) -> AdmissionVerdict:
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


def review_response(uid: str, verdict: AdmissionVerdict) -> dict[str, Any]:
    """The AdmissionReview v1 answering one request (the shape kopf's build_response gave it)."""
    response: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if verdict.warnings:
        response["warnings"] = list(verdict.warnings)
    if not verdict.allowed:
        response["status"] = {"message": verdict.message, "code": verdict.code or 500}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


class GoliveWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS server answering AdmissionReviews with golive's own handler (see the module
    docstring), and a callback once it listens (to register the webhook configuration with the
    server's URL).

    decide: the blocking decision, `functools.partial(decide_admission_with, runtime)` in the
        operator; run on the server's own threads.
    """

    def __init__(
        self, *, decide: DecideReview, on_ready: OnReady | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.decide = decide
        self.on_ready = on_ready
        self._executor: ThreadPoolExecutor | None = None

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        """Serve until closed; `fn` (kopf's admission entry) is never called."""
        self._executor = ThreadPoolExecutor(REVIEW_THREADS, thread_name_prefix="golive-webhook")
        try:
            async for client_config in super().__call__(fn):
                url = f"{str(client_config.get('url', '')).rstrip('/')}{WEBHOOK_PATH}"
                log.info("admission webhook listening; the API server reaches it at %s", url)
                if self.on_ready is not None:
                    await self.on_ready(url)
                yield client_config
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _serve(  # type: ignore[override]  # kopf's is static; this one needs `decide`
        self, fn: Any, request: aiohttp.web.Request
    ) -> aiohttp.web.Response:
        if request.match_info.get("id") != WEBHOOK_ID:
            return _error(404, f"golive serves admission reviews at {WEBHOOK_PATH} only")
        body = await _read_body(request)
        if body is None:
            return _error(413, f"the body is larger than {MAX_REVIEW_BYTES} bytes")
        try:
            data = json.loads(body.decode("utf-8"))
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
            return _json(deny_response(uid, problem))
        review: Mapping[str, Any] = data["request"]
        agent: dict[str, Any] = review["object"]
        operation, dry_run = str(review["operation"]), bool(review.get("dryRun"))
        try:
            verdict = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.decide, agent, operation, dry_run
            )
        except Exception as error:
            log.exception("admission review %s failed", uid)
            metrics.record_review("error")
            # Never an allow by accident: an AdmissionReview that denies, with the reason.
            return _json(deny_response(uid, f"golive could not review the request: {error!r}", 500))
        metrics.record_review(review_outcome(verdict))
        if not verdict.allowed:
            # The audit trail of refusals (kopf logged each one as a handler "failed permanently").
            # "code 403", not "(403)": that is how the Kubernetes client words a refusal of
            # golive's own requests, which the chart's least-privilege test looks for in the log.
            meta = agent.get("metadata")
            namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
            log.warning(
                "admission %s of %s/%s refused (code %d%s): %s",
                operation,
                namespace or review.get("namespace") or "",
                display_name(agent),
                verdict.code,
                ", dry run" if dry_run else "",
                verdict.message,
            )
        return _json(review_response(uid, verdict))


async def _read_body(request: aiohttp.web.Request) -> bytes | None:
    """The body, or None past MAX_REVIEW_BYTES. kopf's aiohttp application keeps aiohttp's
    1 MiB limit of `request.read()`, but the API server sends a review for every object it
    accepts (3 MiB requests; an UPDATE carries oldObject too): read the stream here (cloning
    the request with a larger limit costs ~30 us per review)."""
    if (request.content_length or 0) > MAX_REVIEW_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_REVIEW_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: Mapping[str, Any], status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _error(status: int, message: str) -> aiohttp.web.Response:
    metrics.record_review("invalid")  # every use is a request golive does not review
    return _json({"error": message, "status": status}, status)
