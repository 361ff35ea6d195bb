"""Manifest loading: file and line for every document and every error, nothing passed silently."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from controller.check.loader import load, namespace_labels

AGENT = """\
apiVersion: golive.dev/v1alpha1
kind: AgentDeployment
metadata: {name: a, namespace: ns}
spec: {template: {spec: {containers: [{name: c, image: x}]}}}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_multi_document_keeps_lines_and_skips_other_kinds(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        + AGENT
        + "---\n---\napiVersion: golive.dev/v1alpha1\nkind: AgentContract\nmetadata: {name: k}\n"
    )
    found = load([write(tmp_path, "m.yaml", text)])
    assert [d.kind for d in found.documents] == ["AgentDeployment", "AgentContract"]
    assert [d.line for d in found.documents] == [5, 11]
    assert found.skipped == {"v1 ConfigMap": 1}
    assert not found.errors


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", AGENT + "---\nkind: [unclosed\nfoo: bar\n")
    found = load([path])
    assert len(found.documents) == 1  # the good document before the error is kept
    (err,) = found.errors
    assert err.source == path
    assert err.line == 7  # where the parser found the stray mapping
    assert "malformed YAML" in err.message


def test_non_objects_and_unknown_golive_kinds_are_errors(tmp_path: Path) -> None:
    text = "just a string\n---\nfoo: bar\n---\napiVersion: golive.dev/v1alpha1\nkind: Agent\n"
    found = load([write(tmp_path, "x.yaml", text)])
    messages = [e.message for e in found.errors]
    assert "expected a Kubernetes object (a mapping), found a str" in messages[0]
    assert "expected apiVersion and kind" in messages[1]
    assert "unknown golive kind 'Agent'" in messages[2]
    assert not found.documents


def test_folders_are_walked_and_missing_paths_reported(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "a.yaml", AGENT)
    write(tmp_path, "notes.txt", "ignored")
    found = load([str(tmp_path), str(tmp_path / "nope.yaml")])
    assert len(found.documents) == 1
    assert found.errors[0].message == "no such file or folder"


def test_stdin_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- " + AGENT.replace("\n", "\n  ")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    found = load(["-"])
    assert [d.name for d in found.documents] == ["a"]
    assert found.documents[0].source == "-"


def test_namespaces_give_their_labels_and_malformed_ones_are_errors(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: baseline\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: odd, labels: {level: 3}}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: worse, labels: [a]}\n"
    )
    found = load([write(tmp_path, "ns.yaml", text)])
    labels = namespace_labels(found)
    assert labels == {"ns": {"pod-security.kubernetes.io/enforce": "baseline"}, "plain": {}}
    assert [(e.line, e.message) for e in found.errors] == [
        (12, "Namespace odd: metadata.labels[level]: expected a string value"),
        (16, "Namespace worse: metadata.labels: expected a mapping of strings, found ['a']"),
    ]
    # Read for their labels, not decided: still counted with the other kinds golive skips.
    assert found.skipped == {"v1 Namespace": 4}


# What PyYAML's own safe constructor must be matched on: the fast path, and each case it hands
# back to PyYAML (aliases, merge keys, `=`, non-scalar keys, other tags, refused scalars).
TRICKY = [
    AGENT,
    "a: 1\nb: 1.5\nc: true\nd: ~\ne: 2026-01-01\nf: 2026-01-01T10:00:00Z\ng: 0x1F\nh: 1_000\n",
    "yes: no\non: off\n'quoted': \"1\"\nempty:\nlist: [1, two, {x: y}]\n.inf: -.inf\n",
    "dup: 1\ndup: 2\nother: 3\n",
    "base: &b {x: 1, y: 2}\nuse: *b\n",
    "base: &b {x: 1}\nmerged: {<<: *b, z: 3}\n",
    "merged: {<<: [{a: 1}, {b: 2}], c: 3}\n",
    "=: value\n",
    "? [a, b]\n: unhashable\n",
    "? {a: 1}\n: unhashable\n",
    "s: !!str 12\ni: !!int '7'\nf: !!float '1'\nb: !!binary aGVsbG8=\n",
    "bad: !!binary '%%%'\n",
    "bad: !!int 'abc'\n",
    "omap: !!omap [{a: 1}, {b: 2}]\nset: !!set {a, b}\npairs: !!pairs [{a: 1}]\n",
    "custom: !thing 1\n",
    "map_as_scalar: !!map 'x'\n",
    "self: &s [*s]\n",
    "42\n",
    "- a\n- b\n",
    "",
    "[" * 200 + "]" * 200 + "\n",
    "k: " + "[" * 990 + "]" * 990 + "\n",  # deeper than the walk's recursion: PyYAML builds it
    "k: " + "[" * 2000 + "]" * 2000 + "\n",  # deeper than libyaml's limit: its error
]


@pytest.mark.parametrize("text", TRICKY)
def test_documents_are_built_exactly_as_pyyaml_builds_them(text: str) -> None:
    import yaml

    from controller.check.loader import BaseLoader, SafeLoader, construct

    def pyyaml() -> list[object]:
        return list(yaml.load_all(text, Loader=BaseLoader))

    def golive() -> list[object]:
        loader = SafeLoader(text)
        try:
            out = []
            while loader.check_node():
                node = loader.get_node()
                out.append(construct(loader, node) if node is not None else None)
            return out
        finally:
            loader.dispose()

    try:
        expected = pyyaml()
    except Exception as error:  # the same kind of failure is expected
        with pytest.raises(type(error)):
            golive()
        return
    built = golive()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # to compare the deepest case
    try:
        # repr: equal values of the same types, NaN and self-containing lists included.
        assert repr(built) == repr(expected)
    finally:
        sys.setrecursionlimit(limit)
