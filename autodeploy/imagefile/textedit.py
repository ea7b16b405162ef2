"""Edits to a text, queued against the original and applied in one pass: what keeps a rewrite byte-exact."""

from __future__ import annotations

from autodeploy.imagefile.yamldoc import Lines


class Edits:
    """Replacements and insertions against the original text, applied in one pass."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.items: list[tuple[int, int, int, str]] = []

    def replace(self, start: int, end: int, new: str) -> None:
        if self.lines.text[start:end] != new:
            self.items.append((start, end, len(self.items), new))

    def replace_line(self, line: int, new: str) -> None:
        self.replace(self.lines.start(line), self.lines.end(line), new)

    def insert_after(self, line: int, new_lines: list[str]) -> None:
        """Insert whole lines after `line`; keeps a missing final newline missing."""
        nl = self.lines.newline
        at = self.lines.next_start(line)
        text = self.lines.text
        if at == len(text) and (not text or text[-1] not in "\r\n\x85\u2028\u2029"):
            new = nl + nl.join(new_lines)
        else:
            new = "".join(item + nl for item in new_lines)
        self.items.append((at, at, len(self.items), new))

    def apply(self) -> str:
        text = self.lines.text
        out: list[str] = []
        pos = 0
        for start, end, _, new in sorted(self.items):
            if start < pos:
                raise AssertionError("overlapping edits")  # a bug, never the user's input
            out.append(text[pos:start])
            out.append(new)
            pos = end
        out.append(text[pos:])
        return "".join(out)
