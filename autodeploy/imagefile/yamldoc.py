"""YAML parsed into nodes that know where they sit in the text: the read-only half of a byte-exact edit.

libyaml (through ruamel.yaml.clib) composes the nodes; nothing here constructs Python objects from
them, so an alias bomb costs nothing until `check_safety` measures it, and no YAML tag resolves.
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate
from typing import Any, Protocol, cast

from ruamel.yaml.error import YAMLError
from ruamel.yaml.tag import Tag

from autodeploy.errors import ImageFileError
from autodeploy.imagefile.nesting import MAX_DEPTH, check_nesting
from autodeploy.imagefile.nogc import no_cyclic_gc

try:  # libyaml is ~8x faster; the pure parser gives the same nodes and marks.
    from ruamel.yaml import cyaml as _cyaml

    _CLoader: Any = _cyaml.CBaseLoader
    _CParser: Any = getattr(_cyaml, "CParser")  # noqa: B009 - not re-exported for type checkers
except (ImportError, AttributeError):  # pragma: no cover - only without ruamel.yaml.clib
    _CLoader = _CParser = None

# libyaml's line breaks (YAML 1.1): marks count lines by these, so offsets must too.
_BREAK_RE = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
# Characters other than "\n" that str.splitlines() or libyaml treat as line breaks.
_ODD_BREAK_RE = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
MAX_EXPANDED_NODES = 100_000

_NO_TAG = Tag(suffix="")


class Mark(Protocol):
    """Where a node starts or ends: 0-based line and column, as libyaml counts them."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class Node(Protocol):
    """A composed node (ruamel.yaml.nodes): `id` is "scalar", "mapping" or "sequence", and `value`
    is a str, a list of (key, value) pairs or a list of nodes; read it through `scalar`, `pairs`
    and `items`. An alias is the very node it names, marks included."""

    @property
    def id(self) -> str: ...

    @property
    def value(self) -> object: ...

    @property
    def start_mark(self) -> Mark: ...

    @property
    def end_mark(self) -> Mark: ...


Pair = tuple[Node, Node]


def scalar(node: Node) -> str:
    return cast(str, node.value) if node.id == "scalar" else ""


def pairs(node: Node) -> list[Pair]:
    return cast("list[Pair]", node.value) if node.id == "mapping" else []


def items(node: Node) -> list[Node]:
    return cast("list[Node]", node.value) if node.id == "sequence" else []


def style(node: Node) -> str | None:
    """A scalar's quoting or block style (`'`, `"`, `|`, `>`), None when plain or a collection."""
    found: str | None = getattr(node, "style", None)
    return found


def is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


class Lines:
    """Line table of a text: mark -> offset, and the text of each line without its break."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        if _ODD_BREAK_RE.search(text):
            self.starts.extend(m.end() for m in _BREAK_RE.finditer(text))
        else:  # only "\n": let C do the counting
            self.starts.extend(accumulate(map(len, text.splitlines(keepends=True))))
            if text and not text.endswith("\n"):
                self.starts.pop()  # the end of the last line is no line start
        # libyaml skips a byte order mark without counting it as a column.
        self._bom = 1 if text.startswith("\ufeff") else 0
        first = _BREAK_RE.search(text)
        self.newline = first.group() if first else "\n"
        self.has_aliases = "*" in text

    def __len__(self) -> int:
        return len(self.starts)

    def offset(self, line: int, column: int) -> int:
        if line >= len(self.starts):  # libyaml ends a text without a final newline one line on
            return len(self.text)
        return self.starts[line] + column + (self._bom if line == 0 else 0)

    def start(self, line: int) -> int:
        return self.offset(line, 0)

    def at(self, mark: Mark) -> int:
        return self.offset(mark.line, mark.column)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def end(self, line: int) -> int:
        """Offset just past the line's content, before its line break."""
        stop = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        content = self.text[self.starts[line] : stop]
        return self.starts[line] + len(content.rstrip("\r\n\x85\u2028\u2029"))

    def next_start(self, line: int) -> int:
        """Offset of the line after `line`, or the end of the text."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    def get(self, line: int) -> str:
        return self.text[self.start(line) : self.end(line)]


if _CLoader is not None:

    class _Composer(_CLoader):  # type: ignore[misc]
        """libyaml's composer without tag resolution: every node keeps its source text only."""

        def descend_resolver(self, *_: object) -> None:
            pass

        def ascend_resolver(self, *_: object) -> None:
            pass

        def resolve(self, *_: object) -> Tag:
            return _NO_TAG  # one shared Tag: building one per node costs a third of the parse


def compose_all(text: str, path: str) -> list[Node]:
    """Every document's root node; raises ImageFileError with the line for invalid YAML.
    libyaml's composer recurses once a level, so nesting is measured before it starts."""
    check_nesting(text, path=path)
    with no_cyclic_gc():
        return _compose_all(text, path)


def _compose_all(text: str, path: str) -> list[Node]:
    try:
        if _CLoader is not None:
            loader = _Composer(text)
            try:
                docs: list[Node] = []
                while loader.check_node():
                    docs.append(loader.get_node())
                return docs
            finally:
                loader.dispose()
        from ruamel.yaml import YAML  # pragma: no cover

        return list(YAML(typ="base", pure=True).compose_all(text))  # pragma: no cover
    except YAMLError as exc:
        raise _invalid(exc, path) from exc


def check_syntax(text: str, path: str) -> None:
    """Parse without building nodes: proof that a rewritten text is still valid YAML."""
    try:
        if _CParser is not None:
            parser = _CParser(text)
            try:
                parser.raw_parse()
            finally:
                parser.dispose()
        else:  # pragma: no cover
            from ruamel.yaml import YAML

            for _ in YAML(typ="base", pure=True).parse(text):
                pass
    except YAMLError as exc:
        raise _invalid(exc, path) from exc


def _invalid(exc: YAMLError, path: str) -> ImageFileError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    line = mark.line + 1 if mark is not None else None
    context, first = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and first is not None and "duplicate anchor" in context:
        # YAML 1.2 lets an anchor name be used again; libyaml's composer, which parses here, does not.
        problem = f"an anchor name is used a second time (first on line {first.line + 1}); rename one"
    return ImageFileError(f"invalid YAML: {problem}", path=path, line=line)


def check_safety(docs: list[Node], text: str, path: str) -> None:
    """Refuse alias bombs, recursive aliases, runaway nesting and duplicate keys."""
    # Without an alias every node has one parent, so the walk needs no memory of what it saw.
    has_aliases = "*" in text
    sizes: dict[int, int] = {}
    for doc in docs:
        if has_aliases:
            _expanded_size(doc, sizes, path)
        seen: set[int] = set()
        stack = [doc]
        while stack:
            node = stack.pop()
            if has_aliases:
                if id(node) in seen:
                    continue
                seen.add(id(node))
            # The hot loop of a large file: node.value read directly, not through pairs()/items().
            if node.id == "mapping":
                entries = cast("list[Pair]", node.value)
                _check_duplicate_keys(entries, path)
                for _, value in entries:
                    if value.id != "scalar":
                        stack.append(value)
            elif node.id == "sequence":
                for item in cast("list[Node]", node.value):
                    if item.id != "scalar":
                        stack.append(item)


def _expanded_size(root: Node, sizes: dict[int, int], path: str) -> int:
    """Node count with every alias expanded, as a reader that builds objects would see it."""
    in_progress: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if key not in in_progress:
            if depth > MAX_DEPTH:
                raise ImageFileError(f"nesting deeper than {MAX_DEPTH} levels", path=path)
            in_progress.add(key)
            stack.append((node, depth))
            for child in children:
                if id(child) in in_progress and id(child) not in sizes:
                    raise ImageFileError("recursive alias", path=path, line=child.start_mark.line + 1)
                if id(child) not in sizes:
                    stack.append((child, depth + 1))
            continue
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_EXPANDED_NODES:
            raise ImageFileError(
                f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)",
                path=path,
                line=node.start_mark.line + 1,
            )
        sizes[key] = total
        in_progress.discard(key)
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if node.id == "mapping":
        return [part for pair in pairs(node) for part in pair]
    return items(node)


def _check_duplicate_keys(entries: list[Pair], path: str) -> None:
    seen: set[object] = set()
    for key, _ in entries:
        if key.id != "scalar" or key.value == "<<":
            continue
        if key.value in seen:
            raise ImageFileError(f"duplicate key {key.value!r}", path=path, line=key.start_mark.line + 1)
        seen.add(key.value)


def get(mapping: Node, key: str) -> Pair | None:
    """The (key node, value node) pair for a scalar key of a mapping node."""
    for key_node, value in pairs(mapping):
        if key_node.id == "scalar" and key_node.value == key:
            return key_node, value
    return None


def is_null(node: Node) -> bool:
    return bool(node.id == "scalar" and not style(node) and node.value in {"", "~", "null", "Null", "NULL"})


def is_block_collection(node: Node) -> bool:
    return node.id != "scalar" and not is_flow(node) and bool(node.value)


# An alias where an entry's value starts: after the `:`, `-` or `?` and any comments, `*` and its
# anchor name, which ends at a space or flow indicator.
_ALIAS_RE = re.compile(r"(?:[\s:?-]|#[^\n]*)*(\*[^\s,\[\]{}]+)")


def is_alias(node: Node, lines: Lines, after: int) -> bool:
    """True when the node that the text holds at or after offset `after` (the end of its key, say)
    is an alias. An alias is the very node it names, marks included: they point at the anchor,
    which always comes earlier."""
    return lines.at(node.start_mark) < after


def content_end(node: Node, lines: Lines, after: int = -1) -> tuple[int, int]:
    """(start, end) offsets of the last piece of the node's own content (not the comments after
    it), for the occurrence of `node` that sits at or after offset `after`. Where an alias stands
    comes from the text, never from its marks, which are the anchor's."""
    while True:
        start = lines.at(node.start_mark)
        match = _ALIAS_RE.match(lines.text, after) if start < after else None
        if match is not None:
            return match.start(1), match.end(1)
        if not is_block_collection(node):
            return start, lines.at(node.end_mark)
        if node.id == "mapping":
            key, node = pairs(node)[-1]
            after = lines.at(key.end_mark)
        else:
            after = _last_entry_start(node, lines) if lines.has_aliases else -1
            node = items(node)[-1]


_ENTRY_RE = re.compile(r"-(?=[ \t\r\n])")


def _last_entry_start(sequence: Node, lines: Lines) -> int:
    """Offset of the `-` of a block sequence's last entry, found in the text (an entry that is an
    alias has its anchor's marks): the last line of the sequence with a `-` at the first one's column."""
    first = _ENTRY_RE.search(lines.text, lines.at(sequence.start_mark))
    if first is None:  # pragma: no cover - a block sequence has a first entry
        raise AssertionError("block sequence without an entry")
    line = lines.line_of(first.start())
    column = first.start() - lines.start(line)
    found = first.start()
    for number in range(line + 1, min(sequence.end_mark.line + 1, len(lines))):
        text = lines.get(number)
        entry = text[column : column + 1] == "-" and text[column + 1 : column + 2] in {"", " ", "\t"}
        if entry and not text[:column].strip():
            found = lines.start(number) + column
    return found


def last_line(node: Node, lines: Lines, after: int = -1) -> int:
    """The last line that holds any of the node's own content (see `content_end`)."""
    start, end = content_end(node, lines, after)
    line = lines.line_of(end)
    # A block scalar ends at the start of the line after its last line break.
    if end == lines.start(line) and line > lines.line_of(start):
        return line - 1
    return line
