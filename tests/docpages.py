"""The pages whose commands the tests run: README.md and every docs/*.md page, and their command blocks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# A fenced bash or console block, at any indent (a block in a list item is indented), with the
# `<!-- NAME -->` marker on the line before it, if any.
BLOCK = re.compile(
    r"(?:^ *<!-- (?P<marker>[\w:-]+) -->\n)?^(?P<indent> *)```(?P<lang>bash|console)\n(?P<body>.*?)^(?P=indent)```",
    re.M | re.S,
)


def page_name(page):
    return str(page.relative_to(ROOT))


def blocks(page):
    """(marker or None, language, body with the indent removed) for each bash or console block of a page."""
    found = []
    for m in BLOCK.finditer(page.read_text()):
        body = "".join(line.removeprefix(m["indent"]) for line in m["body"].splitlines(keepends=True))
        found.append((m["marker"], m["lang"], body))
    return found


def marked_block(marker):
    """The lines of the one bash block marked `<!-- marker -->`, on whichever page holds it."""
    found = [body for page in PAGES for mark, lang, body in blocks(page) if mark == marker and lang == "bash"]
    assert len(found) == 1, f"{len(found)} bash blocks marked <!-- {marker} --> in {[page_name(p) for p in PAGES]}"
    return found[0].strip().splitlines()


def page_with(prefix):
    """The one line, on any page, that starts with prefix (a table row)."""
    rows = [line for page in PAGES for line in page.read_text().splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, (prefix, rows)
    return rows[0]
