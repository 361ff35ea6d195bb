"""`make demo-webhook`: on the running demo, replace its operator with one that also serves the
admission webhook (registered by URL on loopback), and show it refuse a non-compliant `kubectl
apply`, as a server-side dry run and for real."""

from __future__ import annotations

import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kit.controlplane import ManagedProcess, free_port, pid_alive, wait_until
from kit.demo import (
    BLOCKED_EXAMPLE,
    GOLIVE,
    WEBHOOK_CONFIG,
    State,
    kubectl_for,
    running_state,
    say,
    start_operator,
    write_state,
)
from kit.transcript import transcript


def is_demo_operator(pid: int) -> bool:
    """The pid recorded by `up` is still that operator (pids are reused after a crash)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(GOLIVE).encode() in argv and b"run" in argv


def stop_operator(pid: int) -> None:
    if not is_demo_operator(pid):
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)


def wait_webhook_serving(state: State, operator: ManagedProcess, port: int) -> None:
    """Registered with this operator's URL, its policies loaded, and answering over TLS."""
    run = kubectl_for(state)
    metrics = f"http://127.0.0.1:{state['operator']['metrics']}/metrics"

    def serving() -> bool:
        proc = run(
            "get", "validatingwebhookconfiguration", WEBHOOK_CONFIG, "-o", "json", check=False
        )
        if proc.returncode != 0:
            return False
        config = json.loads(proc.stdout)["webhooks"][0]["clientConfig"]
        if config.get("url") != f"https://127.0.0.1:{port}/validate":
            return False
        try:
            with urllib.request.urlopen(metrics, timeout=2) as resp:
                if b"golive_policy_loaded 1.0" not in resp.read():
                    return False
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            with urllib.request.urlopen(
                urllib.request.Request(f"https://127.0.0.1:{port}/validate", data=b"{}"),
                timeout=2,
                context=context,
            ):
                return True
        except urllib.error.HTTPError:
            return True  # a 400 for an empty review: it serves
        except OSError:
            return False

    wait_until(serving, 60, "the admission webhook", operator)


def webhook() -> int:
    """Serve the admission webhook on the running demo and show what `kubectl apply` is told."""
    state = running_state()
    old = state["operator"]
    say("replacing the demo's operator with one that also serves the admission webhook")
    stop_operator(int(old["pid"]))
    port = free_port()
    operator, ports = start_operator(
        Path(str(state["kubeconfig"])),
        webhook_port=port,
        prometheus_url=state.get("prometheus_url"),
    )
    pids = [p for p in state["pids"] if p != old["pid"]]
    state["pids"] = [*pids, operator.pid]
    state["operator"] = {"pid": operator.pid, **ports}
    write_state(state)
    wait_webhook_serving(state, operator, port)
    say(
        f"webhook serving at https://127.0.0.1:{port}/validate, registered as "
        f"ValidatingWebhookConfiguration {WEBHOOK_CONFIG} (log: {operator.log_path})"
    )
    run = kubectl_for(state)
    say(
        "support-bot was stored before the webhook served; "
        f"delete it and apply {BLOCKED_EXAMPLE} again"
    )
    # Commands shown as `set -x` shows them: this output is itself quoted in a `$ make
    # demo-webhook` transcript (docs/quickstart.md), where a `$` line would read as a command.
    print(
        transcript(
            run, [["delete", "agd", "support-bot", "-n", "agents", "--ignore-not-found"]], "+"
        ),
        end="",
    )
    dry_args = ["apply", "--dry-run=server", "-f", BLOCKED_EXAMPLE]
    real_args = ["apply", "-f", BLOCKED_EXAMPLE]
    dry = run(*dry_args, check=False)
    real = run(*real_args, check=False)
    for args, result in ((dry_args, dry), (real_args, real)):
        print(f"+ kubectl {shlex.join(args)}\n{result.stdout}{result.stderr}", end="")
        print(f"(exit code {result.returncode})")
    print(transcript(run, [["get", "agd", "-n", "agents"]], "+"), end="")
    # The demo is also a check: both answers must be golive's refusal, with the same verdict.
    verdicts = [denial(result) for result in (dry, real)]
    if None in verdicts or verdicts[0] != verdicts[1]:
        print("error: the webhook did not refuse both applies with one verdict", file=sys.stderr)
        return 1
    say("refused at the door, dry run and real apply alike: nothing was stored")
    print("  the webhook stays registered while the demo runs; `make down` stops everything")
    return 0


def denial(result: subprocess.CompletedProcess[str]) -> str | None:
    """golive's message in a refused apply (what follows "denied the request: "), or None."""
    marker = 'admission webhook "agentdeployments.golive.dev" denied the request: golive denied'
    if result.returncode == 0 or marker not in result.stderr:
        return None
    return result.stderr.split(marker, 1)[1].strip()


if __name__ == "__main__":
    sys.exit(webhook())
