"""Rules of Regal's style guide that `make lint` checks on the policy library (Regal itself is
not served here: its Go module answers 403, and no PyPI or npm package carries it).

- directory-package-mismatch: a module's package mirrors its folder under the library root,
  below golive's root package: `<root>/ownership/single_owner/policy.rego` is
  `golive.ownership.single_owner` (tests may add `_test`, as Regal's `exclude-test-suffix`).
- line-length: no line longer than 120 characters (Regal's default).

Packages come from OPA's own parser (libopa). Prints `file:line: rule: message` per finding;
exit 1 when there is any.

    python scripts/lint_rego.py policies
"""

from __future__ import annotations

import sys
from pathlib import Path

from controller.engine import libopa
from controller.engine.bundle import POLICY_PACKAGE_ROOT

MAX_LINE_LENGTH = 120


def findings(root: Path) -> list[str]:
    files = sorted(root.rglob("*.rego"))
    texts = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in files}
    out: list[str] = []
    for name, facts in sorted(libopa.inspect(texts).items()):
        folder = Path(name).parent.parts
        expected = ".".join((POLICY_PACKAGE_ROOT, *folder))
        if facts.package not in (expected, expected + "_test"):
            out.append(
                f"{root / name}:1: directory-package-mismatch: package {facts.package} does "
                f"not mirror its folder; expected {expected} (or {expected}_test for tests)"
            )
        for number, line in enumerate(texts[name].splitlines(), start=1):
            if len(line) > MAX_LINE_LENGTH:
                out.append(
                    f"{root / name}:{number}: line-length: {len(line)} characters, "
                    f"at most {MAX_LINE_LENGTH}"
                )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python scripts/lint_rego.py POLICY_FOLDER", file=sys.stderr)
        return 2
    found = findings(Path(argv[0]))
    for finding in found:
        print(finding)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
