"""Every shell example in README.md and docs/*.md runs here, or says why it cannot.

One test per fenced block of commands (id: file and line), in reading order, against the tests'
own `make demo`. How blocks are read: tests/docs/executable_docs.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sybil import Example

from tests.docs.executable_docs import REPO, DemoRun, Rewrites, ShellExample, collect

EXAMPLES, UNREADABLE = collect()


def example_id(example: Example) -> str:
    return f"{Path(example.path).relative_to(REPO)}:{example.line}"


def marks(example: Example) -> list[pytest.MarkDecorator]:
    parsed: ShellExample = example.parsed
    return [pytest.mark.skip(reason=parsed.skip_reason)] if parsed.skip_reason else []


@pytest.mark.parametrize(
    "example",
    [pytest.param(example, id=example_id(example), marks=marks(example)) for example in EXAMPLES],
)
def test_documented_commands(example: Example, demo: DemoRun, rewrites: Rewrites) -> None:
    example.namespace.update(demo=demo, rewrites=rewrites)
    example.evaluate()


@pytest.mark.parametrize("document", sorted(UNREADABLE) or [None])
def test_every_document_reads(document: str | None) -> None:
    """A malformed directive or an unlabelled block of commands fails here, not silently."""
    if document is not None:
        pytest.fail(UNREADABLE[document], pytrace=False)


def test_the_readme_shows_the_demo_and_runs_commands() -> None:
    """Guards the parser itself: a change that found no blocks would pass every doc."""
    readme = [e for e in EXAMPLES if Path(e.path).name == "README.md"]
    kinds = {e.parsed.kind for e in readme}
    assert {"demo-output", "script"} <= kinds, kinds
