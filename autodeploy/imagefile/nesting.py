"""How deeply a YAML text nests, measured from its characters before any parser sees it.

libyaml's composer (and ruamel's) recurses once per level: `x: ` and 30,000 `[` crash the process
with a segfault. `check_nesting` is linear and errs on the side of counting too deep. A cheap bound
(few brackets, no deeply indented line) lets most files through at once; the others are scanned line
by line, following block indentation, flow brackets, quoted scalars, comments and block scalars.
"""

from __future__ import annotations

import re

from autodeploy.errors import ImageFileError

MAX_DEPTH = 200

# Each block level takes one more column than its parent, or none for a sequence at its key's
# column: a text whose lines all start with fewer than _LEAD spaces, tabs and indicators nests
# fewer than 2 * _LEAD levels in block context. A literal "\n" first keeps the search fast.
_LEAD = MAX_DEPTH // 4
_DEEP_LINE_RE = re.compile(rf"\n[ \t?:-]{{{_LEAD}}}")
_DEEP_START_RE = re.compile(rf"[ \t?:-]{{{_LEAD}}}")
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks to libyaml besides "\n"
_DEEP_ODD_LINE_RE = re.compile(rf"[\r\x85\u2028\u2029][ \t?:-]{{{_LEAD}}}")
_BREAK_RE = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
_LEAD_RE = re.compile(r"[ \t]*((?:[-?:](?:[ \t]+|$))*)")
_SPECIAL_RE = re.compile(r"""[\[\]{}"'#|>]""")
_INDICATOR_RE = re.compile(r"[-?:][ \t]*")
_BLOCK_SCALAR_RE = re.compile(r"[|>][0-9+-]*[ \t]*(?:#[^\r]*)?\r?$")
_OPENS_SCALAR = frozenset(" \t[{,")


def check_nesting(text: str, *, path: str) -> None:
    """Raise ImageFileError (naming the line) when `text` nests deeper than MAX_DEPTH levels of
    block indentation and flow brackets together; safe to call on any text, before any parser."""
    odd = any(brk in text for brk in _ODD_BREAKS)
    deep = (
        _DEEP_START_RE.match(text.lstrip("\ufeff"))
        or _DEEP_LINE_RE.search(text)
        or (odd and _DEEP_ODD_LINE_RE.search(text))
    )
    if not deep and text.count("[") + text.count("{") + 2 * _LEAD < MAX_DEPTH:
        return
    _scan(_BREAK_RE.split(text) if odd else text.split("\n"), path)


def _scan(lines: list[str], path: str) -> None:
    block: list[tuple[int, bool]] = []  # the open block levels: column, and whether a sequence
    flow = 0
    quote = ""  # the quote character of a quoted scalar still open at the end of a line
    scalar_parent = -1  # indentation of the line that opened a block scalar, while inside it
    for number, line in enumerate(lines, start=1):
        content = line.lstrip(" \t")
        indent = len(line) - len(content)
        if scalar_parent >= 0:
            if not content.strip() or indent > scalar_parent:
                continue
            scalar_parent = -1
        if not quote and not flow:
            if not content.strip() or content.startswith("#"):
                continue
            chain = _LEAD_RE.match(line)
            lead = chain.group(1) if chain else ""
            levels = []
            column = indent
            for part in _INDICATOR_RE.findall(lead):
                levels.append((column, part[0] == "-"))
                column += len(part)
            if not levels or line[column:].strip():  # a mapping or scalar after the indicators
                levels.append((column, False))
            column, is_sequence = levels[0]
            while block and _closes(block[-1], column, is_sequence):
                block.pop()
            block.extend(levels)
            start = indent + len(lead)
        else:
            start = 0
        if len(block) + flow > MAX_DEPTH:
            raise _too_deep(path, number)
        if not quote and not _SPECIAL_RE.search(line, start):
            continue
        flow, quote, opens_block_scalar = _scan_line(line, start, flow, quote, len(block), path, number)
        if opens_block_scalar:
            scalar_parent = indent


def _closes(level: tuple[int, bool], column: int, is_sequence: bool) -> bool:
    """Whether a line starting at `column` closes an open level: every level right of it, and one
    at its column unless the line is a sequence entry under a key (a sequence may sit there)."""
    return level[0] > column or (level[0] == column and not (is_sequence and not level[1]))


def _scan_line(
    line: str, start: int, flow: int, quote: str, depth: int, path: str, number: int
) -> tuple[int, str, bool]:
    """Walk one line from `start`: returns the flow depth, the quote still open, and whether the
    line ends by opening a block scalar."""
    index = start
    size = len(line)
    while index < size:
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                continue
            if char == quote:
                if quote == "'" and line[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                quote = ""
            index += 1
            continue
        before = line[index - 1] if index > start else " "
        if char in "\"'" and (index == start or before in _OPENS_SCALAR):
            quote = char
        elif char == "#" and before in " \t":
            break
        elif char in "[{" and (flow or _starts_a_value(line, start, index)):
            flow += 1
            if depth + flow > MAX_DEPTH:
                raise _too_deep(path, number)
        elif char in "]}":
            flow = max(0, flow - 1)
        elif char in "|>" and not flow and before in " \t" and _BLOCK_SCALAR_RE.match(line, index):
            return flow, quote, True
        index += 1
    return flow, quote, False


_PROPERTIES_RE = re.compile(r"(?:[ \t]+[&!][^ \t]*)*[ \t]*$")


def _starts_a_value(line: str, start: int, index: int) -> bool:
    """In block context a bracket opens a flow collection only where a value starts: at the line's
    content, or after `key:` (and an anchor or tag); in `a: b[0]` it is part of a plain scalar.
    Only the 100 characters before it are read, so that a line of brackets stays linear."""
    before = line[max(start, index - 100) : index]
    match = _PROPERTIES_RE.search(" " + before)
    head = (" " + before)[: match.start()] if match else before
    return not head.strip() or head.endswith(":")


def _too_deep(path: str, line: int) -> ImageFileError:
    return ImageFileError(
        f"nests deeper than {MAX_DEPTH} levels; autodeploy refuses it before parsing (flatten it)",
        path=path,
        line=line,
    )
