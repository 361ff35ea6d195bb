"""The `golive` command: check manifests offline, test policies, run the operator."""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from controller import __version__
from controller.check.report import FORMATS, render, render_text
from controller.check.schema import SchemaError, SchemaSet
from controller.cli_sign import sign_app
from controller.domain.api import namespace_name_problem
from controller.domain.moments import parse_timestamp
from controller.domain.signoffs import AllowedSigners, SignersError, load_allowed_signers
from controller.engine.decision_pipeline import PolicySet
from controller.engine.factory import ENGINES, engine_problem, policy_set_from_library
from controller.engine.protocol import EngineError

if TYPE_CHECKING:  # imported where used: `golive check` without Prometheus needs no HTTP client
    from controller.observe.prometheus import PrometheusConfig

# Click's plain help, not Rich's boxes: Rich fits its option table to the width (80 columns in
# a pipe or a pager) by cutting option names ("--alert-rules-nam…"); Click wraps the help text
# and never cuts a name, at any width.
PLAIN_HELP = None

app = typer.Typer(
    help="golive: gate AI-agent deployments on a go-live checklist written in Rego.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=PLAIN_HELP,
)
policy_app = typer.Typer(
    help="Work on a policy library.", no_args_is_help=True, rich_markup_mode=PLAIN_HELP
)
app.add_typer(policy_app, name="policy")
app.add_typer(sign_app, name="sign")

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
DEFAULT_POLICIES = Path("policies")
err = Console(stderr=True, highlight=False)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_USAGE)


def alert_rules_namespace_of(value: str | None) -> str | None:
    """--alert-rules-namespace: a namespace name (RFC 1123 label) or nothing."""
    problem = namespace_name_problem("--alert-rules-namespace", value)
    if problem:
        raise fail(problem)
    return value or None


def parse_now(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(at, "--at")
    except ValueError as error:
        raise fail(str(error)) from None


def load_policy_set(
    policies: list[Path], safe_library: bool, engine: str, opa_url: str | None
) -> PolicySet:
    if engine not in ENGINES:
        raise fail(engine_problem(engine))
    try:
        return policy_set_from_library(engine, policies, safe_library=safe_library, opa_url=opa_url)
    except EngineError as error:
        raise fail(f"the policies cannot be used, nothing is admitted: {error}") from None
    except ValueError as error:
        raise fail(str(error)) from None


def load_schemas() -> SchemaSet:
    try:
        return SchemaSet()
    except SchemaError as error:
        raise fail(f"{error} (a broken golive install? reinstall it)") from None


PoliciesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--policies",
        "-p",
        help="A folder of your own Rego policies (<area>/<rule>/policy.rego), evaluated in "
        "addition to golive's SAFE library; repeatable.",
    ),
]
SafeLibraryOpt = Annotated[
    bool,
    typer.Option(
        "--safe-library/--no-safe-library",
        help="Include the SAFE policy library golive ships (--no-safe-library: only --policies).",
    ),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="embedded (OPA in-process, default) or remote.")
]
OpaUrlOpt = Annotated[str | None, typer.Option("--opa-url", help="OPA server for --engine remote.")]
PrometheusUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--prometheus-url",
        envvar="GOLIVE_PROMETHEUS_URL",
        help="A Prometheus to read what the agents do (scraped, alerts, traffic, spend); "
        "the observed checks are off without it. See docs/observed.md.",
    ),
]
PrometheusTokenOpt = Annotated[
    Path | None,
    typer.Option(
        "--prometheus-bearer-token-file",
        envvar="GOLIVE_PROMETHEUS_BEARER_TOKEN_FILE",
        help="File with a bearer token sent to Prometheus (re-read on every request).",
    ),
]
PrometheusCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--prometheus-ca-file",
        envvar="GOLIVE_PROMETHEUS_CA_FILE",
        help="CA bundle that signs an https Prometheus' certificate.",
    ),
]
PrometheusInsecureOpt = Annotated[
    bool,
    typer.Option(
        "--prometheus-insecure-skip-verify",
        help="Do not verify an https Prometheus' certificate (tests only).",
    ),
]
PrometheusWindowOpt = Annotated[
    str,
    typer.Option(
        "--prometheus-window",
        envvar="GOLIVE_PROMETHEUS_WINDOW",
        help="The rate window of traffic and spend queries (a Prometheus duration).",
    ),
]


def prometheus_config(
    url: str | None, token: Path | None, ca: Path | None, insecure: bool, window: str
) -> PrometheusConfig | None:
    """The Prometheus options checked in one place; None when no URL is given."""
    if not url:
        if token or ca or insecure:
            raise fail(
                "--prometheus-bearer-token-file, -ca-file and -insecure-skip-verify "
                "need --prometheus-url"
            )
        return None
    from controller.observe.prometheus import PrometheusConfig

    config = PrometheusConfig(url, token, ca, insecure, window=window)
    try:
        config.validate()
    except ValueError as error:
        message = str(error)
        raise fail(
            message if message.startswith("--") else f"--prometheus-window: {message}"
        ) from None
    return config


AlertRulesNamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--alert-rules-namespace",
        envvar="GOLIVE_ALERT_RULES_NAMESPACE",
        help="Look the alerts of spec.monitoring.alerts up in the PrometheusRules of this "
        "namespace (where the platform keeps them) instead of the agent's namespace.",
    ),
]


AllowedSignersOpt = Annotated[
    Path | None,
    typer.Option(
        "--allowed-signers",
        envvar="GOLIVE_ALLOWED_SIGNERS",
        help="Who may sign approvals, reviews and exceptions (the YAML of the chart's "
        "allowedSigners ConfigMap, docs/signoffs.md); without it no signature verifies.",
    ),
]


def load_allowed_signers_file(path: Path | None) -> AllowedSigners | None:
    """--allowed-signers: a list golive cannot use is an input error (exit 2), never ignored."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise fail(f"--allowed-signers: {path}: {error.strerror or error}") from None
    try:
        return load_allowed_signers(text, str(path))
    except SignersError as error:
        raise fail(f"--allowed-signers: {error}") from None


@app.command("check")
def check_command(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, or - for stdin.")],
    policies: PoliciesOpt = None,
    safe_library: SafeLibraryOpt = True,
    contracts: Annotated[
        list[str] | None,
        typer.Option(
            "--contracts",
            "-c",
            help="Files or folders with AgentContracts, AgentExceptions and PrometheusRules "
            "(context: used in decisions, never reported as agents).",
        ),
    ] = None,
    engine: EngineOpt = "embedded",
    opa_url: OpaUrlOpt = None,
    alert_rules_namespace: AlertRulesNamespaceOpt = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-o",
            help="text, json, junit, sarif, markdown (a pull-request comment) or github "
            "(GitHub Actions annotations).",
        ),
    ] = "text",
    at: Annotated[
        str | None, typer.Option("--at", help="Decide as of this RFC 3339 time (default now).")
    ] = None,
    prometheus_url: PrometheusUrlOpt = None,
    prometheus_bearer_token_file: PrometheusTokenOpt = None,
    prometheus_ca_file: PrometheusCaOpt = None,
    prometheus_insecure_skip_verify: PrometheusInsecureOpt = False,
    prometheus_window: PrometheusWindowOpt = "5m",
    allowed_signers: AllowedSignersOpt = None,
) -> None:
    """Decide every AgentDeployment in PATHS, as the cluster would.

    Exit 0: all admitted. 1: a violation blocks or no decision could be made. 2: usage or
    input errors (malformed YAML, wrong types, broken policies).
    """
    from controller.check.run import check

    if output_format not in FORMATS:
        raise fail(f"--format: expected one of {', '.join(FORMATS)}, got {output_format!r}")
    now = parse_now(at)
    alert_rules_namespace = alert_rules_namespace_of(alert_rules_namespace)
    prometheus = prometheus_config(
        prometheus_url,
        prometheus_bearer_token_file,
        prometheus_ca_file,
        prometheus_insecure_skip_verify,
        prometheus_window,
    )
    schemas = load_schemas()
    signers = load_allowed_signers_file(allowed_signers)
    observer = None
    if prometheus is not None:
        from controller.check.observe import PrometheusObserver
        from controller.observe.prometheus import PrometheusClient

        observer = PrometheusObserver(PrometheusClient(prometheus), now)
    # OPA compiles the policies without the GIL: on another core while the manifests are read.
    # check() takes them once they are read; a library that cannot be used still stops the
    # check with its error (exit 2) before anything is decided or printed.
    with ThreadPoolExecutor(1, thread_name_prefix="golive-policies") as background:
        loading = background.submit(load_policy_set, policies or [], safe_library, engine, opa_url)
        try:
            # The embedded engine evaluates without the GIL: one thread per core uses them all.
            run = check(
                paths,
                contracts or [],
                loading.result,
                now,
                schemas,
                parallelism=os.cpu_count() or 1,
                alert_rules_namespace=alert_rules_namespace,
                observer=observer,
                signers=signers,
            )
        finally:
            if loading.exception() is None:
                loading.result().engine.close()
    if observer is not None and observer.fleet is not None and observer.fleet.error:
        err.print(
            f"[yellow]warning:[/yellow] {observer.fleet.error}; the observed checks are "
            "reported as skipped"
        )
    if output_format == "text":
        render_text(run, Console(highlight=False, soft_wrap=True))
    else:
        sys.stdout.write(render(run, output_format) + "\n")
    raise typer.Exit(run.exit_code)


@app.command("explain")
def explain_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files, folders, or - for stdin (kubectl get agd NAME -o yaml | ...)."),
    ],
    policy: Annotated[
        str,
        typer.Option("--policy", help="The policy to explain, e.g. golive.ownership.single_owner."),
    ],
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent", help="The agent (name or namespace/name) when the files hold several."
        ),
    ] = None,
    policies: PoliciesOpt = None,
    safe_library: SafeLibraryOpt = True,
    contracts: Annotated[
        list[str] | None,
        typer.Option("--contracts", "-c", help="AgentContracts, AgentExceptions, PrometheusRules."),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Decide as of this RFC 3339 time (default now).")
    ] = None,
    allowed_signers: AllowedSignersOpt = None,
    output_format: Annotated[str, typer.Option("--format", "-o", help="text or json.")] = "text",
) -> None:
    """Why one policy fired for one agent, or why not: the expressions OPA evaluated, with their
    Rego file:row and values (OPA's own trace, on the embedded engine).

    Exit 0 when explained (whatever the verdict); 2: usage or input errors.
    """
    from controller.check import explain
    from controller.check.run import check

    if output_format not in ("text", "json"):
        raise fail(f"--format: expected text or json, got {output_format!r}")
    now = parse_now(at)
    signers = load_allowed_signers_file(allowed_signers)
    policy_set = load_policy_set(policies or [], safe_library, "embedded", None)
    try:
        run = check(paths, contracts or [], policy_set, now, load_schemas(), signers=signers)
        if run.errors:
            for error in run.errors:
                err.print(f"[red]error[/red] {error}", highlight=False)
            raise typer.Exit(EXIT_USAGE)
        try:
            explanation = explain.explain(run, policy_set.bundle, policy, agent, now)
        except explain.ExplainError as error:
            raise fail(str(error)) from None
        except EngineError as error:
            raise fail(f"the policy cannot be explained: {error}") from None
    finally:
        policy_set.engine.close()
    if output_format == "json":
        sys.stdout.write(json.dumps(explain.explanation_json(explanation), indent=2) + "\n")
    else:
        for line in explain.render(explanation):
            sys.stdout.write(line + "\n")


@policy_app.command("test")
def policy_test_command(
    directory: Annotated[Path, typer.Argument(help="The policy library.")] = DEFAULT_POLICIES,
    runner: Annotated[
        str, typer.Option("--runner", help="Rego tests on: embedded (default) or an opa binary.")
    ] = "embedded",
    opa: Annotated[str, typer.Option("--opa", help="opa binary for --runner opa.")] = "opa",
    with_safe_library: Annotated[
        bool,
        typer.Option(
            "--with-safe-library",
            help="Decide the samples with golive's SAFE library too (for rules beside it).",
        ),
    ] = False,
) -> None:
    """Run the Rego unit tests and check every sample (allowed must pass, disallowed must fail)."""
    from controller.check import policy_test
    from controller.check.samples import check_samples

    if runner not in policy_test.RUNNERS:
        raise fail(f"--runner: expected embedded or opa, got {runner!r}")
    console = Console(highlight=False)
    report = policy_test.LibraryReport()
    try:
        policy_test.rego_tests(directory, runner, opa, report)
    except EngineError as error:
        raise fail(f"the Rego tests in {directory} cannot run: {error}") from None
    for line in report.lines:
        console.print(line)
    report.lines.clear()
    policy_set = load_policy_set([directory], with_safe_library, "embedded", None)
    try:
        results = check_samples(directory, policy_set, datetime.now(UTC), load_schemas())
    finally:
        policy_set.engine.close()
    policy_test.samples(directory, results, report)
    for line in report.lines:
        console.print(line)
    raise typer.Exit(EXIT_VIOLATIONS if report.failures else EXIT_OK)


@policy_app.command("configmaps")
def policy_configmaps_command(
    policies: PoliciesOpt = None,
    safe_library: SafeLibraryOpt = True,
    namespace: Annotated[
        str,
        typer.Option(
            "--namespace",
            "-n",
            help="The namespace golive reads its library from (golive run --policy-namespace).",
        ),
    ] = "golive-system",
    name_prefix: Annotated[
        str, typer.Option("--name-prefix", help="ConfigMap names: <prefix>-policy-<folder>.")
    ] = "golive",
) -> None:
    """Print the policy library as the ConfigMaps golive run --policy-namespace reads, each
    annotated with the library's digest, for a git repository applied to every cluster (a
    hand edit then shows as drift: docs/fleet.md)."""
    from controller.check.library import library_configmaps, render_configmaps

    problem = namespace_name_problem("--namespace", namespace)
    if problem:
        raise fail(problem)
    try:
        maps = library_configmaps(policies or [], safe_library, namespace, name_prefix)
    except EngineError as error:
        raise fail(f"the policies cannot be used, nothing is written: {error}") from None
    digest = maps[0]["metadata"]["annotations"]["golive.dev/policy-digest"]
    header = (
        "golive's policy library as ConfigMaps (golive policy configmaps); do not edit: "
        f"generate it again.\nlibrary digest {digest}"
    )
    sys.stdout.write(render_configmaps(maps, header))


@app.command("run")
def run_command(
    engine: EngineOpt = "embedded",
    opa_url: OpaUrlOpt = None,
    policies: PoliciesOpt = None,
    safe_library: SafeLibraryOpt = True,
    policy_namespace: Annotated[
        str | None,
        typer.Option(
            "--policy-namespace",
            envvar="GOLIVE_POLICY_NAMESPACE",
            help="Read the whole library from ConfigMaps labelled golive.dev/policy in this "
            "namespace (the chart installs the SAFE library there).",
        ),
    ] = None,
    kubeconfig: Annotated[
        str | None, typer.Option("--kubeconfig", envvar="KUBECONFIG", help="Default: in-cluster.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Concurrent reconciles.")] = 8,
    audit_interval: Annotated[
        float, typer.Option(help="Seconds between full re-decisions of every agent.")
    ] = 300.0,
    metrics_port: Annotated[int, typer.Option(help="Prometheus /metrics port (0: off).")] = 9090,
    health_port: Annotated[int, typer.Option(help="/healthz port (0: off).")] = 8080,
    log_format: Annotated[str, typer.Option(help="json or plain.")] = "json",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    webhook_port: Annotated[
        int,
        typer.Option(
            envvar="GOLIVE_WEBHOOK_PORT",
            help="HTTPS port of the validating admission webhook (0: off).",
        ),
    ] = 0,
    webhook_cert_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="GOLIVE_WEBHOOK_CERT_DIR",
            help="Folder with tls.crt and tls.key (and ca.crt); default: a self-signed CA.",
        ),
    ] = None,
    webhook_host: Annotated[
        str | None,
        typer.Option(help="Host name or IP the API server dials (e.g. 127.0.0.1 on loopback)."),
    ] = None,
    webhook_register: Annotated[
        bool,
        typer.Option(
            "--webhook-register",
            help="Create/update the ValidatingWebhookConfiguration (URL + caBundle) at start; "
            "for local runs (with the chart, Helm owns it).",
        ),
    ] = False,
    webhook_failure_policy: Annotated[
        str,
        typer.Option(help="With --webhook-register: Fail (default) or Ignore when unreachable."),
    ] = "Fail",
    webhook_timeout: Annotated[
        int, typer.Option(help="With --webhook-register: timeoutSeconds (1-30).")
    ] = 5,
    leader_election_namespace: Annotated[
        str | None,
        typer.Option(
            "--leader-election-namespace",
            envvar="GOLIVE_LEADER_ELECTION_NAMESPACE",
            help="Run several replicas: they elect one leader on a Lease in this namespace.",
        ),
    ] = None,
    lease_duration: Annotated[
        float, typer.Option(help="Seconds a silent leader keeps the lease (takeover time).")
    ] = 15.0,
    alert_rules_namespace: AlertRulesNamespaceOpt = None,
    prometheus_url: PrometheusUrlOpt = None,
    prometheus_bearer_token_file: PrometheusTokenOpt = None,
    prometheus_ca_file: PrometheusCaOpt = None,
    prometheus_insecure_skip_verify: PrometheusInsecureOpt = False,
    prometheus_window: PrometheusWindowOpt = "5m",
    prometheus_interval: Annotated[
        float,
        typer.Option(
            "--prometheus-interval",
            envvar="GOLIVE_PROMETHEUS_INTERVAL",
            help="Seconds between two reads of Prometheus.",
        ),
    ] = 60.0,
    prometheus_stale_after: Annotated[
        float,
        typer.Option(
            "--prometheus-stale-after",
            envvar="GOLIVE_PROMETHEUS_STALE_AFTER",
            help="Seconds a failed read is answered with the last good one (then the observed "
            "checks are skipped).",
        ),
    ] = 600.0,
    cluster_name: Annotated[
        str,
        typer.Option(
            "--cluster-name",
            envvar="GOLIVE_CLUSTER_NAME",
            help="This cluster's name in a fleet: a label of golive_policy_info and of the "
            "Reports (docs/fleet.md).",
        ),
    ] = "",
) -> None:
    """Run the operator: gate AgentDeployments and keep their status."""
    from controller.operator.main import OperatorOptions, run

    prometheus = prometheus_config(
        prometheus_url,
        prometheus_bearer_token_file,
        prometheus_ca_file,
        prometheus_insecure_skip_verify,
        prometheus_window,
    )
    options = OperatorOptions(
        engine=engine,
        opa_url=opa_url,
        policies=tuple(policies or []),
        safe_library=safe_library,
        policy_namespace=policy_namespace,
        kubeconfig=kubeconfig,
        workers=workers,
        audit_interval=audit_interval,
        metrics_port=metrics_port,
        health_port=health_port,
        log_format=log_format,
        verbose=verbose,
        webhook_port=webhook_port,
        webhook_cert_dir=webhook_cert_dir,
        webhook_host=webhook_host,
        webhook_register=webhook_register,
        webhook_failure_policy=webhook_failure_policy,
        webhook_timeout_seconds=webhook_timeout,
        leader_election_namespace=leader_election_namespace,
        lease_duration=lease_duration,
        alert_rules_namespace=alert_rules_namespace or None,
        prometheus=prometheus,
        prometheus_interval=prometheus_interval,
        prometheus_stale_after=prometheus_stale_after,
        cluster_name=cluster_name,
    )
    try:
        options.validate()
    except ValueError as error:
        raise fail(str(error)) from None
    run(options)


@app.command("version")
def version_command() -> None:
    """Print golive's version."""
    print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
