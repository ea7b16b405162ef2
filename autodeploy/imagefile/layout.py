"""Where spec.values, the banner and the generated keys sit in one image.yaml text.

Every line a rewrite inserts after comes from where an entry stands in the text (`yamldoc.last_line`
given the end of its key), never from a value's own marks alone: an alias carries its anchor's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from autodeploy.errors import ImageFileError
from autodeploy.imagefile import yamldoc
from autodeploy.imagefile.block import (
    GENERATED_KEYS,
    REPO_COMMENT_RE,
    RULE_RE,
    Block,
    block_from_pairs,
    find_banners,
)
from autodeploy.imagefile.yamldoc import Lines, Node, Pair


class Layout:
    """The parsed text and the places in it a rewrite reads or edits."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = Lines(text)
        docs = yamldoc.compose_all(text, path)
        yamldoc.check_safety(docs, text, path)
        self.doc = pick_document(docs, self.lines, path)
        self.spec = self._mapping_entry(self.doc, "spec")
        self.values = self._mapping_entry(self.spec[1], "values") if self.spec else None
        self.step = self._indent_step()
        self.banner: tuple[int, int] | None = None
        self.generated: list[Pair] = []
        self.repo_line: int | None = None
        self._find_banner(text)

    @classmethod
    def of(cls, text: str, path: str) -> Layout:
        """Parsed once per text in a run: the downgrade guard reads each target's block, the plan
        reads it again and rewrites it, and a monorepo deploy has as many texts as targets."""
        return _PARSED.get(text, path, cls)

    def error(self, message: str, node: Node | None = None) -> ImageFileError:
        line = node.start_mark.line + 1 if node is not None else None
        return ImageFileError(message, path=self.path, line=line)

    def _mapping_entry(self, mapping: Node, key: str) -> Pair | None:
        """`spec` or `values`: a block mapping, empty (null or `{}`), or refused with what to do."""
        if not is_block_mapping(mapping):
            return None
        pair = yamldoc.get(mapping, key)
        if pair is None:
            return None
        key_node, value = pair
        dotted = "spec" if key == "spec" else "spec.values"
        if yamldoc.is_alias(value, self.lines, self.key_end(key_node)):
            raise self.error(f"{dotted} is an alias; write the mapping itself there", key_node)
        if not (is_block_mapping(value) or is_empty(value)):
            hint = "; write it one key a line" if value.id == "mapping" else ""
            raise self.error(f"{dotted} must be a block mapping{hint}", key_node)
        return pair

    def key_end(self, key: Node) -> int:
        return self.lines.at(key.end_mark)

    def last_line(self, pair: Pair) -> int:
        """The last line of an entry's own content, from where its key stands."""
        key, value = pair
        if yamldoc.is_null(value) and not value.value:
            return key.end_mark.line
        return yamldoc.last_line(value, self.lines, self.key_end(key))

    @property
    def values_pairs(self) -> list[Pair]:
        return yamldoc.pairs(self.values[1]) if self.values is not None else []

    @property
    def indent(self) -> int:
        """Column of the keys of spec.values (the block's own indentation)."""
        pairs = self.values_pairs
        if pairs:
            return pairs[0][0].start_mark.column
        if self.values is not None:
            return self.values[0].start_mark.column + self.step
        if self.spec is not None:
            return self.spec[0].start_mark.column + 2 * self.step
        return 2 * self.step

    def _indent_step(self) -> int:
        for pair in (self.values, self.spec):
            if pair is not None and is_block_mapping(pair[1]):
                step = yamldoc.pairs(pair[1])[0][0].start_mark.column - pair[0].start_mark.column
                if step > 0:
                    return step
        return 2

    def _find_banner(self, text: str) -> None:
        matches = find_banners(text)
        if not matches:
            for key, _ in self.values_pairs:
                if key.value in GENERATED_KEYS:
                    raise self.error(
                        f"spec.values.{key.value} exists but the generated banner is missing; "
                        "move it into the block autodeploy writes, or delete it",
                        key,
                    )
            return
        if len(matches) > 1:
            second = text.count("\n", 0, matches[1].start()) + 1
            raise ImageFileError("holds the generated banner twice", path=self.path, line=second)
        line = self.lines.line_of(matches[0].start())
        if self.values is None or not self._inside_values(line):
            raise ImageFileError(
                "the generated banner is not inside spec.values; move it there", path=self.path, line=line + 1
            )
        first = line - 1 if line > 0 and RULE_RE.fullmatch(self.lines.get(line - 1)) else line
        last = (
            line + 1 if line + 1 < len(self.lines) and RULE_RE.fullmatch(self.lines.get(line + 1)) else line
        )
        self.banner = (first, last)
        for key, value in self.values_pairs:
            if key.start_mark.line > last:
                self.generated.append((key, value))
            elif key.value in GENERATED_KEYS:
                raise self.error(
                    f"spec.values.{key.value} is above the generated banner; "
                    "everything autodeploy writes must be below it",
                    key,
                )
        stop = self.generated[0][0].start_mark.line if self.generated else self.values_end_line() + 1
        for number in range(last + 1, min(stop, len(self.lines))):
            match = REPO_COMMENT_RE.fullmatch(self.lines.get(number))
            if match:
                self.repo_line = number
                break

    def _inside_values(self, line: int) -> bool:
        assert self.values is not None
        return bool(self.values[0].start_mark.line < line <= self.values_end_line())

    def values_last_line(self) -> int:
        """The last line of spec.values people wrote: its content, then every comment line after it
        indented at least as deep as its keys (commented-out settings stay above the block)."""
        assert self.values is not None
        last = self.last_line(self.values)
        for number in range(last + 1, len(self.lines)):
            line = self.lines.get(number)
            content = line.lstrip(" \t")
            if not content.strip():
                continue
            if not content.startswith("#") or len(line) - len(content) < self.indent:
                break
            last = number
        return last

    def values_end_line(self) -> int:
        """The last line that still belongs to spec.values, comments after its last key included."""
        assert self.values is not None and self.spec is not None
        if self.values_pairs:
            return self._line_before(self.values[1].end_mark)
        line = self.values[0].start_mark.line
        later = [k for k, _ in yamldoc.pairs(self.spec[1]) if k.start_mark.line > line]
        if later:
            return later[0].start_mark.line - 1
        return self._line_before(self.spec[1].end_mark)

    def _line_before(self, mark: yamldoc.Mark) -> int:
        """A collection ends where the next token starts: the line before it, unless text precedes it."""
        line, column = mark.line, mark.column
        if line >= len(self.lines):
            return len(self.lines) - 1
        before = self.lines.text[self.lines.start(line) : self.lines.offset(line, column)]
        return line if before.strip() else line - 1

    def block(self) -> Block:
        source = None
        if self.repo_line is not None:
            match = REPO_COMMENT_RE.fullmatch(self.lines.get(self.repo_line))
            source = match.group(1) or None if match else None
        return block_from_pairs(self.generated, source)


def pick_document(docs: list[Node], lines: Lines, path: str) -> Node:
    """The document holding the banner, else the one HelmRelease, else the one mapping when it
    has no other `kind` (a values file)."""
    mappings = [doc for doc in docs if doc.id == "mapping"]
    if not mappings:
        raise ImageFileError("holds no YAML mapping (is it empty?)", path=path)
    if len(mappings) == 1 and field(mappings[0], "kind") in {None, "HelmRelease"}:
        return mappings[0]
    with_banner = [
        doc for doc in mappings if find_banners(lines.text, lines.at(doc.start_mark), lines.at(doc.end_mark))
    ]
    releases = with_banner or [doc for doc in mappings if field(doc, "kind") == "HelmRelease"]
    if len(mappings) == 1 and not releases:
        kind = yamldoc.get(mappings[0], "kind")
        assert kind is not None
        raise ImageFileError(
            f"is a {yamldoc.scalar(kind[1])}, not a HelmRelease; point --path-template at the "
            "HelmRelease or the patch that holds its spec.values",
            path=path,
            line=kind[0].start_mark.line + 1,
        )
    if not releases:
        raise ImageFileError(
            f"holds {len(mappings)} documents and none is a HelmRelease; point --path-template at one",
            path=path,
        )
    if len(releases) != 1:
        raise ImageFileError(
            f"holds {len(mappings)} documents and autodeploy cannot tell which HelmRelease to edit",
            path=path,
        )
    return releases[0]


def field(mapping: Node, key: str) -> str | None:
    pair = yamldoc.get(mapping, key)
    return yamldoc.scalar(pair[1]) or None if pair else None


def is_block_mapping(node: Node) -> bool:
    return node.id == "mapping" and yamldoc.is_block_collection(node)


def is_empty(node: Node) -> bool:
    """A mapping's placeholder a rewrite may fill: nothing, `~`, `null` or `{}`."""
    return yamldoc.is_null(node) or (node.id == "mapping" and yamldoc.is_flow(node) and not node.value)


class _Parsed:
    """The layouts of recent texts, the least recently used dropped first once the texts kept pass
    `chars` characters in all (the last one is always kept)."""

    def __init__(self, chars: int) -> None:
        self.chars = chars
        self._held = 0
        self._layouts: OrderedDict[tuple[str, str], Layout] = OrderedDict()

    def get(self, text: str, path: str, make: Callable[[str, str], Layout]) -> Layout:
        key = (text, path)
        found = self._layouts.get(key)
        if found is not None:
            self._layouts.move_to_end(key)
            return found
        made = make(text, path)
        self._layouts[key] = made
        self._held += len(text)
        while self._held > self.chars and len(self._layouts) > 1:
            (old, _), _ = self._layouts.popitem(last=False)
            self._held -= len(old)
        return made


_PARSED = _Parsed(chars=8_000_000)  # a run's files: 50 targets of 100 KB each are 5 MB
