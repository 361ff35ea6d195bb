"""Run golive's benchmarks: one JSON object per measure per line on stdout.

    python -m bench                  # all of them (make bench)
    python -m bench engines check    # a subset, by module name
    python -m bench --quick ...      # smaller counts: a smoke run, figures not for the docs

Progress goes to stderr. A benchmark that fails or is missing prints one JSON line with
"error" and the run goes on; the exit code is 1 if any did.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import progress

BENCHMARKS = ("engines", "rego", "check", "operator", "webhook", "observe", "reports", "scale")


def _clean(value: Any) -> Any:
    """NaN/Infinity are not JSON: print them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_clean(record)) + "\n")
    sys.stdout.flush()


def environment() -> dict[str, Any]:
    """The machine the figures were measured on (and how busy it was when the run started)."""
    import platform
    import subprocess
    from importlib.metadata import version

    from controller.engine import libopa
    from kit.controlplane import REPO, tool_bin_dir

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    bins = tool_bin_dir(["opa"])
    pinned = dict(
        line.split("=", 1)
        for line in (REPO / "scripts" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )

    def tool_version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        except OSError:
            return "?"
        return out.splitlines()[0].strip() if out else "?"

    return {
        "measure": "environment",
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "embedded_engine": f"libopa (OPA {libopa.version()} in-process)",
        "kubernetes_client": version("kubernetes"),
        "kopf": version("kopf"),
        "opa": tool_version([str(bins / "opa"), "version"]),
        "kube_apiserver": tool_version([str(bins / "kube-apiserver"), "--version"]),
        "hey": pinned.get("HEY_VERSION", "?"),  # no version flag; tools.sh checks its build info
        "goal": "context only",
        "met": None,
    }


def run_one(name: str, quick: bool) -> bool:
    """Run bench/<name>.py and print its measures; False if it is missing or failed."""
    module_name = f"bench.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        emit({"measure": name, "error": f"bench/{name}.py not found", "met": None})
        return False
    runner = module.run
    kwargs = {"quick": quick} if "quick" in inspect.signature(runner).parameters else {}
    progress(f"{name}: start{' (quick)' if quick else ''}")
    load_at_start = os.getloadavg()[0]  # other work on the machine skews every figure
    started = time.monotonic()
    try:
        records = runner(**kwargs)
    except Exception as error:  # one broken benchmark must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        emit({"measure": name, "error": f"{type(error).__name__}: {error}", "met": None})
        return False
    for record in records:
        emit({**record, "loadavg_1m_at_start": round(load_at_start, 2)})
    progress(f"{name}: done in {time.monotonic() - started:.1f} s")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke run)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    emit(environment())
    ok = True
    for name in args.names or BENCHMARKS:
        ok = run_one(name, args.quick) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
