"""A griffe extension: the package's docstrings are reST-flavoured; render them as Markdown.

``::`` literal blocks and ``>>>`` doctest blocks become fenced Python code, ``literal`` becomes
`literal`, and Sphinx roles (:class:`~x.Y`) become code spans (their targets are often private).
Loaded by mkdocs.yml (mkdocstrings' ``extensions``); nothing in the package depends on it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(1)
    return f"`{target.rsplit('.', 1)[-1] if match.group(0).count('~') else target.lstrip('.')}`"


def to_markdown(text: str) -> str:
    """``text`` (a docstring, dedented) in Markdown."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent) :])
                i += 1
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(":"):
            head = line.rstrip()[:-1] if not line.rstrip().endswith(" ::") else line.rstrip()[:-3]
            out.append(_inline(head.rstrip(":") + ":" if head.strip() else ""))
            i += 1
            base = len(line) - len(line.lstrip())
            block = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base):
                block.append(lines[i])
                i += 1
            if not any(b.strip() for b in block):  # a block at the paragraph's own indent: up to a blank line
                while i < len(lines) and lines[i].strip():
                    block.append(lines[i])
                    i += 1
            while block and not block[-1].strip():
                block.pop()
            body = [b for b in block if b.strip()]
            cut = min((len(b) - len(b.lstrip()) for b in body), default=0)
            pad = " " * base
            out += ["", f"{pad}```python", *(pad + b[cut:] for b in block), f"{pad}```", ""]
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out)


def _inline(line: str) -> str:
    return re.sub(r"``(.+?)``", r"`\1`", ROLE.sub(_role, line))


class ReSTToMarkdown(griffe.Extension):
    """Rewrite every loaded docstring with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
