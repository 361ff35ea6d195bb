"""Read manifests from files, folders and stdin, keeping file and line for every document."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.domain.alert_rules import is_prometheus_rule
from controller.domain.api import GROUP, KINDS

YAML_SUFFIXES = (".yaml", ".yml", ".json")
# libyaml's parser when PyYAML was built with it: ~6x faster on large repositories (bench).
BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What a plain scalar resolves to depends only on (node kind, text, implicit flags) while no
# path resolver is registered (none is: golive never adds one); so the answers are memoised
# across files. Bounded: cleared when it grows past this many entries.
_RESOLVED_MAX = 65536
_resolved: dict[tuple[Any, ...], str] = {}


class SafeLoader(BaseLoader):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader (libyaml's when built with it), with its tag resolution memoised."""

    def resolve(self, kind: type[Node], value: str | None, implicit: Any) -> str:
        if self.yaml_path_resolvers:  # pragma: no cover - golive registers none
            return str(super().resolve(kind, value, implicit))
        key = (kind, value, implicit)
        tag = _resolved.get(key)
        if tag is None:
            if len(_resolved) >= _RESOLVED_MAX:
                _resolved.clear()
            tag = _resolved[key] = str(super().resolve(kind, value, implicit))
        return tag


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
# SafeConstructor's constructors of plain scalars: pure functions of the node.
_SCALARS = {
    _TAG + name: yaml.SafeLoader.yaml_constructors[_TAG + name]
    for name in ("null", "bool", "int", "float", "binary", "timestamp")
}


class _Unusual(Exception):
    """A node the fast path leaves to PyYAML's constructor (alias, merge key, other tag...)."""


def construct(loader: yaml.SafeLoader, node: Node) -> Any:
    """The document `node` as PyYAML's SafeConstructor builds it, built in one walk.

    The fast path covers what manifests hold: mappings with scalar keys, sequences, and
    scalars of the standard tags, each node met once. Anything else (an alias or anchor
    reused, a merge key `<<`, `=`, a non-scalar key, another tag, a scalar its constructor
    refuses, nesting deeper than Python's recursion limit) is built by PyYAML's own
    `construct_document` instead, so the result and any error are PyYAML's own.
    """
    seen: set[int] = set()

    def build(node: Node) -> Any:
        if id(node) in seen:
            raise _Unusual
        seen.add(id(node))
        kind, tag = node.__class__, node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            scalar = _SCALARS.get(tag)
            if scalar is None:
                raise _Unusual
            return scalar(loader, node)
        if kind is MappingNode and tag == _MAP:
            out = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not ScalarNode:
                    raise _Unusual
                key = build(key_node)
                out[key] = build(value_node)
            return out
        if kind is SequenceNode and tag == _SEQ:
            return [build(item) for item in node.value]
        raise _Unusual

    try:
        return build(node)
    except Exception:  # PyYAML's own constructor decides (and raises) instead
        return loader.construct_document(node)


@dataclass(frozen=True)
class Document:
    """One Kubernetes object read from `source` (a path or "-"), starting at `line`."""

    source: str
    line: int
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return str(ns) if ns else "default"


@dataclass(frozen=True)
class InputError:
    """A problem with the input itself (not a policy violation): file, line and what is wrong."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.source}:{self.line}: {self.message}"
            if self.line
            else f"{self.source}: {self.message}"
        )


@dataclass
class Manifests:
    """Every golive document found, the input errors, and what was skipped."""

    documents: list[Document] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # "apps/v1 Deployment" -> count
    # monitoring.coreos.com PrometheusRules: where the agents' alerts are looked up.
    prometheus_rules: list[Document] = field(default_factory=list)
    # v1 Namespaces: their labels (Pod Security levels) are the agents' namespaceLabels. They
    # are still counted as skipped: nothing in them is decided.
    namespaces: list[Document] = field(default_factory=list)


def is_golive(obj: dict[str, Any]) -> bool:
    api = str(obj.get("apiVersion", ""))
    return api.split("/")[0] == GROUP and obj.get("kind") in KINDS


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Files as given, folders walked for YAML/JSON files in sorted order, "-" for stdin."""
    for raw in paths:
        if raw == "-":
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file() and found.suffix in YAML_SUFFIXES:
                    yield str(found)
        else:
            yield raw


def load(paths: Iterable[str]) -> Manifests:
    out = Manifests()
    for source in expand_paths(paths):
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            out.errors.append(InputError(source, 0, "no such file or folder"))
            continue
        except (OSError, UnicodeDecodeError) as err:
            out.errors.append(InputError(source, 0, f"cannot read: {err}"))
            continue
        parse_into(out, source, text)
    return out


def namespace_labels(out: Manifests) -> dict[str, dict[str, str]]:
    """The labels of every Namespace given, by name; a malformed one is an input error naming
    its field, and gives no labels (never a level golive made up)."""
    found: dict[str, dict[str, str]] = {}
    for doc in out.namespaces:
        meta = doc.obj.get("metadata")
        labels = meta.get("labels") if isinstance(meta, dict) else None
        problem = None
        if not doc.name:
            problem = "metadata.name: expected a name"
        elif labels is not None and not isinstance(labels, dict):
            problem = f"metadata.labels: expected a mapping of strings, found {labels!r}"
        elif isinstance(labels, dict):
            wrong = [
                k for k, v in labels.items() if not isinstance(k, str) or not isinstance(v, str)
            ]
            if wrong:
                problem = f"metadata.labels[{wrong[0]}]: expected a string value"
        if problem is not None:
            out.errors.append(
                InputError(doc.source, doc.line, f"Namespace {doc.name or '?'}: {problem}")
            )
            continue
        found[doc.name] = dict(labels or {})
    return found


def parse_into(out: Manifests, source: str, text: str) -> None:
    """Parse a multi-document YAML stream; a syntax error stops this file only."""
    loader = SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            obj = construct(loader, node)
            add_object(out, source, line, obj)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 0
        problem = err.problem or err.context or "invalid YAML"
        out.errors.append(InputError(source, line, f"malformed YAML: {problem}"))
    except yaml.YAMLError as err:
        out.errors.append(InputError(source, 0, f"malformed YAML: {err}"))
    finally:
        loader.dispose()


def add_object(out: Manifests, source: str, line: int, obj: Any) -> None:
    if obj is None:
        return  # an empty document between `---` separators
    if not isinstance(obj, dict):
        kind = type(obj).__name__
        out.errors.append(
            InputError(source, line, f"expected a Kubernetes object (a mapping), found a {kind}")
        )
        return
    if not obj.get("apiVersion") or not obj.get("kind"):
        out.errors.append(
            InputError(source, line, "not a Kubernetes object: expected apiVersion and kind")
        )
        return
    if obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        for item in obj["items"]:
            add_object(out, source, line, item)
        return
    if is_golive(obj):
        out.documents.append(Document(source, line, obj))
        return
    if str(obj.get("apiVersion", "")).startswith(GROUP + "/"):
        out.errors.append(
            InputError(
                source,
                line,
                f"unknown golive kind {obj.get('kind')!r}; expected one of {', '.join(KINDS)}",
            )
        )
        return
    if is_prometheus_rule(obj):
        out.prometheus_rules.append(Document(source, line, obj))
        return
    if obj.get("apiVersion") == "v1" and obj.get("kind") == "Namespace":
        out.namespaces.append(Document(source, line, obj))
    label = f"{obj.get('apiVersion', '?')} {obj.get('kind', '?')}"
    out.skipped[label] = out.skipped.get(label, 0) + 1
