"""The shell examples of README.md and docs/*.md as tests, parsed with Sybil.

Sybil (a maintained library for testing the examples in documentation) finds the fenced code
blocks and the HTML-comment directives before them; this module says what each kind of block
means and how it is checked:

- ```` ```sh ```` / ```` ```bash ````: a script. It runs with `bash -euo pipefail` from the
  repository root and must exit 0; its output is not shown in the doc, so it is not compared.
- ```` ```console ````: a transcript, `$ command` lines each followed by the output the doc shows.
  The commands run in one bash, in order, so `echo $?` shows the previous command's exit code;
  a command that exits non-zero fails the example unless the next command is `echo $?` (the
  doc then shows, and the test checks, the code). The output must match, ignoring ages, ports,
  paths of the test's demo, colours and the width of table columns.
- `<!-- skip: next "why" -->` before a block (Sybil's own skip syntax): not run here, and the
  reason is required: it is what a reader of the source sees.
- `<!-- demo-output: ... -->` before a console block: the block is what `make demo` printed last
  (its "what the demo shows" section), compared the same way; README.md's demo block is one.

Every command runs with the environment the docs tell a reader to set up, `eval "$(make -s
demo-env)"` on a running `make demo`; the tests' demo lives in its own GOLIVE_DEMO_DIR.

With GOLIVE_UPDATE_DOCS=1 (`make docs`) a transcript whose output no longer matches is rewritten
with the real output instead of failing, and so is the demo block; a command that fails still
fails. A block that still matches is left as it is, so ages and ports do not churn.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import secrets
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SCRIPT_LANGUAGES = {"sh", "bash", "shell"}
TRANSCRIPT_LANGUAGES = {"console"}
# An unlabelled block starting a line with one of these is a command that escaped the tests.
COMMAND_WORDS = ("$ ", "make ", "kubectl ", "golive ", "helm ", "opa ", "kind ", "docker ", "pip ")
UPDATE = os.environ.get("GOLIVE_UPDATE_DOCS") == "1"
COMMAND_TIMEOUT = 600  # seconds for one block; `make demo-webhook` takes about 10


class DocError(ValueError):
    """A doc's directives or blocks are malformed (a parse error, reported at collection)."""


@dataclass
class ShellExample:
    """One fenced block that holds commands, and how the tests treat it."""

    kind: str  # "script", "transcript" or "demo-output"
    source: str  # the block's text, between the fences
    source_start: int  # offset of `source` in the document, for `make docs` rewrites
    skip_reason: str | None = None


@dataclass
class DemoRun:
    """A `make demo` of the tests' own: where it lives, what it printed, the readers' env."""

    directory: Path
    output: str  # everything `make demo` printed
    env: dict[str, str]  # os.environ after `eval "$(make -s demo-env)"`
    # Where the docs' commands run: links to every top-level entry of the repository, so a
    # command reads the repo's files as from its root, and a file it writes (`> golive.sarif`)
    # lands here, not in the work tree.
    workdir: Path

    def shown(self) -> str:
        """The "what the demo shows" section of the output: the README's demo block."""
        lines = self.output.splitlines(keepends=True)
        start = next(
            (i for i, line in enumerate(lines) if line.startswith("==> what the demo shows")),
            None,
        )
        if start is None:
            raise AssertionError("`make demo` printed no '==> what the demo shows' section")
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("==> ")), len(lines)
        )
        return "".join(lines[start + 1 : end])


@dataclass
class Rewrites:
    """`make docs`: new text for block sources, applied to the files at the end of the run."""

    by_path: dict[Path, list[tuple[int, int, str]]] = field(default_factory=dict)

    def add(self, path: Path, start: int, end: int, text: str) -> None:
        self.by_path.setdefault(path, []).append((start, end, text))

    def apply(self) -> list[Path]:
        for path, edits in self.by_path.items():
            text = path.read_text()
            for start, end, new in sorted(edits, reverse=True):  # back to front: offsets hold
                text = text[:start] + new + text[end:]
            path.write_text(text)
        return sorted(self.by_path)


# --- parsing ---------------------------------------------------------------------------------


class ShellExampleParser:
    """A Sybil parser: every fenced block, paired with the directive right before it, if any."""

    directives = DirectiveInHTMLCommentLexer(directive=r"skip|demo-output", arguments=r".*?")
    blocks = FencedCodeBlockLexer(language=r"[^\n]*")

    def __call__(self, document: Document) -> Iterable[Region]:
        directives = sorted(self.directives(document), key=lambda region: region.start)
        blocks = sorted(self.blocks(document), key=lambda region: region.start)
        pending = list(directives)
        for block in blocks:
            language = str(block.lexemes["language"]).strip()
            source = block.lexemes["source"]
            directive = self._directive_before(document, block, pending)
            if language in SCRIPT_LANGUAGES | TRANSCRIPT_LANGUAGES:
                kind = "script" if language in SCRIPT_LANGUAGES else "transcript"
            elif directive is not None:
                raise DocError(
                    f"{where(document, block.start)}: a directive before a ```{language} block"
                )
            elif not language and any(
                line.startswith(COMMAND_WORDS) for line in str(source).splitlines()
            ):
                raise DocError(
                    f"{where(document, block.start)}: an unlabelled block with commands: label "
                    "it ```sh or ```console, so the tests run it (or, with "
                    '<!-- skip: next "why" --> before it, say why they cannot)'
                )
            else:
                continue  # yaml, json, rego, a layout tree: not commands
            skip_reason = None
            if directive is not None:
                name, arguments = (
                    str(directive.lexemes["directive"]),
                    str(directive.lexemes["arguments"]),
                )
                if name == "skip":
                    skip_reason = skip_reason_of(document, directive.start, arguments)
                elif kind != "transcript":
                    raise DocError(f"{where(document, block.start)}: demo-output needs ```console")
                else:
                    kind = "demo-output"
            example = ShellExample(
                kind, str(source), block.start + source.offset, skip_reason=skip_reason
            )
            yield Region(block.start, block.end, parsed=example, evaluator=evaluate)
        if pending:
            raise DocError(
                f"{where(document, pending[0].start)}: a directive with no block after it"
            )

    @staticmethod
    def _directive_before(
        document: Document, block: Region, pending: list[Region]
    ) -> Region | None:
        """The directive that ends right before this block (only blank lines between)."""
        if not pending or pending[0].start > block.start:
            return None
        directive = pending.pop(0)
        between = document.text[directive.end : block.start]
        if not re.fullmatch(r"-*->\s*", between):
            raise DocError(
                f"{where(document, directive.start)}: a directive must be right before its block"
            )
        return directive


def skip_reason_of(document: Document, start: int, arguments: str) -> str:
    """Sybil's syntax, `skip: next "reason"`; the reason is required here."""
    action, _, reason = arguments.strip().partition(" ")
    try:
        text = ast.literal_eval(reason.strip()) if reason.strip() else ""
    except (ValueError, SyntaxError) as error:
        raise DocError(f"{where(document, start)}: skip reason is not a string: {error}") from None
    if action != "next" or not isinstance(text, str) or not text.strip():
        raise DocError(
            f'{where(document, start)}: write <!-- skip: next "why it cannot run here" -->'
        )
    return text


def where(document: Document, position: int) -> str:
    line = document.text.count("\n", 0, position) + 1
    return f"{Path(document.path).relative_to(REPO)}:{line}"


SYBIL = Sybil(parsers=[ShellExampleParser()])


def collect() -> tuple[list[Example], dict[str, str]]:
    """Every shell example of the docs, in reading order (README first), and the documents
    that could not be read, with why (a failing test each, so the rest of the suite runs)."""
    examples: list[Example] = []
    unreadable: dict[str, str] = {}
    for path in DOCUMENTS:
        try:
            examples += list(SYBIL.parse(path))
        except DocError as error:
            unreadable[str(path.relative_to(REPO))] = str(error)
    return examples, unreadable


# --- running ---------------------------------------------------------------------------------


@dataclass
class Command:
    text: str  # without the `$ ` prompt; continuation lines kept
    expected: str  # the output the doc shows


def parse_transcript(source: str) -> list[Command]:
    commands: list[Command] = []
    lines = source.splitlines()
    i = 0
    if lines and not lines[0].startswith("$ "):
        raise AssertionError(f"a console block starts with a command, `$ ...`, not {lines[0]!r}")
    while i < len(lines):
        text = [lines[i][2:]]
        while text[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            text.append(lines[i])
        i += 1
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        commands.append(Command("\n".join(text), "\n".join(output)))
    return commands


def run_transcript(
    commands: list[Command], env: Mapping[str, str], workdir: Path
) -> list[tuple[str, int]]:
    """Run the commands in one bash, as typed one after the other: (output, exit code) each."""
    marker = f"golive-docs-{secrets.token_hex(8)}"
    script = ["exec 2>&1"]  # one stream, in the order a terminal shows it
    for command in commands:
        script.append(command.text)
        # Record the exit code, then restore it for a following `echo $?`.
        script.append(f'__rc=$?; printf "\\n{marker} %d\\n" "$__rc"; (exit "$__rc")')
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    results = []
    rest = proc.stdout
    for _ in commands:
        found = re.search(rf"\n{marker} (\d+)\n", rest)
        if found is None:
            raise AssertionError(
                f"the transcript stopped early (bash exit {proc.returncode}):\n{rest}"
            )
        results.append((rest[: found.start()], int(found.group(1))))
        rest = rest[found.end() :]
    return results


ANSI = re.compile(r"\x1b\[[0-9;]*m")
PORT = re.compile(r"\b(127\.0\.0\.1|localhost):\d+")
# kubectl's AGE column and other durations it prints: 5s, 3m12s, 2d4h, 1.5s.
DIGEST = re.compile(r"\bsha256:[0-9a-f]{64}\b")  # the policy library's: changes with every policy
AGE = re.compile(r"(?<!\S)\d+(\.\d+)?[smhd](\d+[smh])?(?!\S)")


def comparable(text: str, demo: DemoRun) -> list[str]:
    """What must match: no colours, ports, ages, column widths or the tests' own paths."""
    text = localize(ANSI.sub("", text), demo)
    text = AGE.sub("<age>", PORT.sub(r"\1:<port>", DIGEST.sub("sha256:<digest>", text)))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def localize(text: str, demo: DemoRun) -> str:
    """Paths as a reader's demo has them: the tests' demo dir is .golive/demo of the repo."""
    text = text.replace(str(demo.directory), str(REPO / ".golive" / "demo"))
    return text.replace(f"{demo.workdir}/", "").replace(f"{REPO}/", "")


def shown_text(text: str, demo: DemoRun) -> str:
    """Real output as the docs show it (`make docs`): paths localized, no colours."""
    return "\n".join(line.rstrip() for line in localize(ANSI.sub("", text), demo).splitlines())


def difference(expected: list[str], actual: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(expected, actual, "the doc shows", "the command printed", lineterm="")
    )


def evaluate(example: Example) -> str | None:
    """Sybil evaluator: None if the block holds, else what is wrong (Sybil fails the test)."""
    parsed: ShellExample = example.parsed
    demo: DemoRun = example.namespace["demo"]
    rewrites: Rewrites = example.namespace["rewrites"]
    path = Path(example.path)
    if parsed.kind == "script":
        return evaluate_script(parsed, demo)
    if parsed.kind == "demo-output":
        actual = demo.shown()
        if comparable(parsed.source, demo) == comparable(actual, demo):
            return None
        if UPDATE:
            rewrites.add(path, *span(parsed), shown_text(actual, demo) + "\n")
            return None
        return (
            "README's demo block differs from what `make demo` printed (`make docs` rewrites it):\n"
            + difference(comparable(parsed.source, demo), comparable(actual, demo))
        )
    return evaluate_transcript(parsed, demo, rewrites, path)


def span(parsed: ShellExample) -> tuple[int, int]:
    return parsed.source_start, parsed.source_start + len(parsed.source)


def evaluate_script(parsed: ShellExample, demo: DemoRun) -> str | None:
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", parsed.source],
        cwd=demo.workdir,
        env=demo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # in order, so the tail below ends with the failing command's
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if proc.returncode == 0:
        return None
    return (
        f"the block exited {proc.returncode}:\n{parsed.source}\n--- the end of its output:\n"
        f"{proc.stdout[-4000:]}"
    )


def evaluate_transcript(
    parsed: ShellExample, demo: DemoRun, rewrites: Rewrites, path: Path
) -> str | None:
    commands = parse_transcript(parsed.source)
    results = run_transcript(commands, demo.env, demo.workdir)
    problems = []
    for index, (command, (output, code)) in enumerate(zip(commands, results, strict=True)):
        shows_code = index + 1 < len(commands) and commands[index + 1].text.strip() == "echo $?"
        if code != 0 and not shows_code:
            problems.append(
                f"`{command.text}` exited {code} (a doc shows an expected failure by "
                f"following it with `$ echo $?`):\n{output[-4000:]}"
            )
    if problems:
        return "\n".join(problems)
    mismatched = [
        (command, output)
        for command, (output, _) in zip(commands, results, strict=True)
        if comparable(command.expected, demo) != comparable(output, demo)
    ]
    if not mismatched:
        return None
    if UPDATE:
        rewrites.add(
            path,
            *span(parsed),
            "".join(
                f"$ {command.text}\n" + (f"{shown_text(output, demo)}\n" if output.strip() else "")
                for command, (output, _) in zip(commands, results, strict=True)
            ),
        )
        return None
    return "\n".join(
        f"`{command.text}` printed other than the doc shows (`make docs` rewrites it):\n"
        + difference(comparable(command.expected, demo), comparable(output, demo))
        for command, output in mismatched
    )
