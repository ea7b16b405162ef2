"""The rewrite: a list of edits to the original text, then proof that only the block changed.

Scalars are replaced where they stand, missing keys inserted after their siblings, the banner
normalized, an empty placeholder (`~`, `{}`) taken out where a mapping must grow. Every other byte
(comments, quoting, key order, indentation, CRLF, a missing final newline, keys people added inside
the block) is kept, and `write_block` proves it before returning.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from autodeploy.errors import ImageFileError
from autodeploy.imagefile import yamldoc
from autodeploy.imagefile.block import (
    BANNER,
    REPO_COMMENT_RE,
    RULE,
    Block,
    Tree,
    block_from_pairs,
    render,
)
from autodeploy.imagefile.layout import Layout, field, is_block_mapping, is_empty, pick_document
from autodeploy.imagefile.nogc import no_cyclic_gc
from autodeploy.imagefile.textedit import Edits
from autodeploy.imagefile.yamldoc import Lines, Node, Pair
from autodeploy.imagefile.yamlscalar import reads_as_string, render_scalar


def read_block(text: str, *, path: str = "image.yaml") -> Block | None:
    """The deployed values of an image.yaml, or None when it holds no generated block."""
    with no_cyclic_gc():
        layout = Layout.of(text, path)
    if layout.banner is None:
        return None
    return layout.block()


def write_block(text: str, block: Block, *, path: str = "image.yaml") -> str:
    """`text` with its generated block set to `block`; raises ImageFileError when that is unsafe."""
    missing = [f.name for f in fields(block) if not getattr(block, f.name)]
    if missing:
        raise ImageFileError(f"cannot write a block without {', '.join(missing)}", path=path)
    with no_cyclic_gc():
        layout = Layout.of(text, path)
        edits = Edits(layout.lines)
        region = _rewrite(layout, block, edits)
        new_text = edits.apply()
        if new_text != text:
            _verify(text, new_text, region, block, path)
        return new_text


def scaffold(release_text: str, block: Block, *, path: str, release_path: str) -> str:
    """A new image.yaml: a HelmRelease patch named after the base release, holding only the block."""
    lines = Lines(release_text)
    docs = yamldoc.compose_all(release_text, release_path)
    yamldoc.check_safety(docs, release_text, release_path)
    release = pick_document(docs, lines, release_path)
    meta = yamldoc.get(release, "metadata")
    name = yamldoc.get(meta[1], "name") if meta and meta[1].id == "mapping" else None
    if name is None or not yamldoc.scalar(name[1]):
        raise ImageFileError("has no metadata.name to name the new image.yaml patch after", path=release_path)
    header = [
        "---",
        f"apiVersion: {render_scalar(field(release, 'apiVersion') or 'helm.toolkit.fluxcd.io/v2')}",
        f"kind: {render_scalar(field(release, 'kind') or 'HelmRelease')}",
        "metadata:",
        f"  name: {render_scalar(yamldoc.scalar(name[1]))}",
    ]
    namespace = field(meta[1], "namespace") if meta else None
    if namespace:
        header.append(f"  namespace: {render_scalar(namespace)}")
    header += ["spec:", "  values:", ""]
    return write_block("\n".join(header), block, path=path)


@dataclass(frozen=True)
class _Region:
    """The span of the old text that a rewrite replaces, and how to find the block inside it."""

    start: int
    end: int
    indent: int
    nesting: tuple[str, ...] = ()  # keys above the block when the rewrite created spec or values


@dataclass(frozen=True)
class _Context:
    """A block mapping that keys may be inserted into: its pairs, indentation and last line."""

    pairs: list[Pair]
    indent: int
    last_line: int


def _rewrite(layout: Layout, block: Block, edits: Edits) -> _Region:
    """Queue the edits that set the block; returns the region of the old text they replace."""
    head = [RULE, BANNER, RULE, f"# GITHUB_REPOSITORY: {block.source_repo}"]
    if layout.banner is None:
        return _append(layout, block, head, edits)
    lines = layout.lines
    pad = " " * layout.indent
    first, last = layout.banner
    canonical = [pad + RULE, pad + BANNER, pad + RULE]
    if [lines.get(n) for n in range(first, last + 1)] != canonical:
        edits.replace(lines.start(first), lines.end(last), lines.newline.join(canonical))
    after = last
    if layout.repo_line is None:
        edits.insert_after(last, [pad + head[3]])
    else:
        edits.replace_line(layout.repo_line, pad + head[3])
        after = layout.repo_line
    region_last = max([after, *(layout.last_line(pair) for pair in layout.generated)])
    _merge(layout, _Context(layout.generated, layout.indent, region_last), block.tree(), "", edits)
    return _Region(lines.start(first), lines.next_start(region_last), layout.indent)


def _append(layout: Layout, block: Block, head: list[str], edits: Edits) -> _Region:
    """No banner yet: add the block at the end of spec.values, creating spec and values if needed."""
    body = render(block.tree(), 0, layout.step)
    lines = layout.lines
    step = layout.step
    if layout.values is not None:
        after = layout.values_last_line()
        start = _clear(layout, layout.values[1], edits)
        edits.insert_after(after, [" " * layout.indent + line for line in head + body])
        at = lines.next_start(after)
        return _Region(min(start, at), at, layout.indent)
    start = len(lines.text)
    if layout.spec is not None:
        key, value = layout.spec
        column = key.start_mark.column
        indent = yamldoc.pairs(value)[0][0].start_mark.column if is_block_mapping(value) else column + step
        new = [" " * indent + "values:"] + [" " * (indent + step) + line for line in head + body]
        nesting: tuple[str, ...] = ("values",)
        after = _after_comments(lines, layout.last_line(layout.spec), indent)
        start = _clear(layout, value, edits)
    else:
        doc = layout.doc
        if not is_block_mapping(doc):
            raise layout.error("the document must be a block mapping", doc)
        indent = yamldoc.pairs(doc)[0][0].start_mark.column
        new = [" " * indent + "spec:", " " * (indent + step) + "values:"]
        new += [" " * (indent + 2 * step) + line for line in head + body]
        nesting = ("spec", "values")
        after = _after_comments(lines, yamldoc.last_line(doc, lines), indent)
    edits.insert_after(after, new)
    at = lines.next_start(after)
    return _Region(min(start, at), at, indent, nesting)


def _after_comments(lines: Lines, last: int, indent: int) -> int:
    """The line after which a mapping grows: its last content line, then every comment line after it
    indented at least `indent` deep (what people commented out stays above what autodeploy adds)."""
    for number in range(last + 1, len(lines)):
        line = lines.get(number)
        content = line.lstrip(" \t")
        if not content.strip():
            continue
        if not content.startswith("#") or len(line) - len(content) < indent:
            break
        last = number
    return last


def _clear(layout: Layout, node: Node, edits: Edits) -> int:
    """Take out a placeholder (`~`, `null`, `{}`) that keys are about to be added under; returns
    where the edit starts (the end of the text when there is none)."""
    lines = layout.lines
    if not is_empty(node) or not (node.value or node.id == "mapping"):
        return len(lines.text)
    start, end = lines.at(node.start_mark), lines.at(node.end_mark)
    while start > 0 and lines.text[start - 1] in " \t":
        start -= 1
    edits.replace(start, end, "")
    return start


def _merge(layout: Layout, ctx: _Context, want: Tree, prefix: str, edits: Edits) -> None:
    """Make the mapping `ctx` hold `want`, editing values in place and inserting what is missing."""
    missing: Tree = {}
    for key, value in want.items():
        dotted = f"{prefix}{key}"
        pair = next(((k, v) for k, v in ctx.pairs if k.id == "scalar" and k.value == key), None)
        if pair is None:
            missing[key] = value
            continue
        key_node, node = pair
        _check_own(layout, key_node, node, dotted)
        if isinstance(value, dict):
            if is_empty(node):
                _clear(layout, node, edits)
                sub = _Context([], key_node.start_mark.column + layout.step, layout.last_line(pair))
            elif is_block_mapping(node):
                pairs = yamldoc.pairs(node)
                sub = _Context(pairs, pairs[0][0].start_mark.column, layout.last_line(pair))
            else:
                raise layout.error(f"{dotted} must be a mapping", key_node)
            _merge(layout, sub, value, f"{dotted}.", edits)
        else:
            _set_scalar(layout, key_node, node, value, dotted, edits)
    if missing:
        new = [" " * ctx.indent + line for line in render(missing, 0, layout.step)]
        edits.insert_after(ctx.last_line, new)


def _check_own(layout: Layout, key: Node, node: Node, dotted: str) -> None:
    """A generated value must be written where it stands: no alias, anchor or explicit tag."""
    lines = layout.lines
    start = lines.at(node.start_mark)
    own = not yamldoc.is_alias(node, lines, lines.at(key.end_mark))
    if not own or lines.text[start : start + 1] in {"&", "*", "!"}:
        raise layout.error(f"{dotted} uses an anchor, alias or tag; autodeploy writes plain values", key)


def _set_scalar(layout: Layout, key: Node, node: Node, value: str, dotted: str, edits: Edits) -> None:
    if node.id != "scalar" or yamldoc.style(node) in {"|", ">"}:
        raise layout.error(f"{dotted} must be a single-line value", key)
    if node.value == value and (yamldoc.style(node) in {"'", '"'} or reads_as_string(value)):
        return
    lines = layout.lines
    start, end = lines.at(node.start_mark), lines.at(node.end_mark)
    new = render_scalar(value)
    if start == end:  # `key:` with no value
        new = " " + new
    edits.replace(start, end, new)


def _verify(old: str, new: str, region: _Region, block: Block, path: str) -> None:
    """Prove the rewrite: bytes outside the region kept, the result parses, the region reads back."""
    tail = len(old) - region.end
    if new[: region.start] != old[: region.start] or new[len(new) - tail :] != old[region.end :]:
        raise AssertionError(f"{path}: rewrite changed bytes outside the generated block")
    yamldoc.check_syntax(new, path)
    region_lines = new[region.start : len(new) - tail].splitlines()
    snippet: list[str] = []
    for line in region_lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            snippet.append("")
        elif line[: region.indent].strip():
            raise AssertionError(f"{path}: rewritten block is not indented under spec.values")
        else:
            snippet.append(line[region.indent :])
    source = next((m.group(1) for m in map(REPO_COMMENT_RE.fullmatch, region_lines) if m), None)
    docs = yamldoc.compose_all("\n".join(snippet), path)
    node: Node | None = docs[0] if docs else None
    for key in region.nesting:
        pair = yamldoc.get(node, key) if node is not None else None
        node = pair[1] if pair else None
    pairs = yamldoc.pairs(node) if node is not None else []
    if block_from_pairs(pairs, source) != block:
        raise AssertionError(f"{path}: rewritten block does not read back as written")
