"""Manifest loading: file and line for every document and every error, nothing passed silently."""

from __future__ import annotations

import io
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
