"""The documentation site: docs/*.md built by MkDocs (mkdocs.yml) with --strict, so a broken link or
anchor, or a page left out of the nav, fails the build; and every fenced block renders as code."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from docpages import PAGES

pytest.importorskip("mkdocs", reason="MkDocs is in the test extra: pip install '.[test]'")


def build(root, site):
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_site_builds_strictly_with_every_page_and_picture(tmp_path):
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for page in PAGES[1:]:
        html = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        fences = len(re.findall(r"^ *```\w", page.read_text(), re.M))
        # Python-Markdown renders a fence inside a list item as inline text: each must become a <pre>.
        assert html.read_text().count("<pre><code") == fences, page.name
    for picture in (ROOT / "docs").glob("*.png"):
        assert (tmp_path / "site" / picture.name).read_bytes() == picture.read_bytes()
    assert "serve-page.png" in (tmp_path / "site" / "serve" / "index.html").read_text()


@pytest.mark.parametrize(
    "damage,says",
    [
        (lambda docs: (docs / "extra.md").write_text("# Extra\n"), 'not included in the "nav"'),
        (lambda docs: (docs / "index.md").open("a").write("\n[gone](gone.md)\n"), "gone.md"),
        (lambda docs: (docs / "index.md").open("a").write("\n[gone](training.md#no-such-part)\n"), "no-such-part"),
        (lambda docs: (docs / "index.md").open("a").write("\n![gone](gone.png)\n"), "gone.png"),
    ],
    ids=["page-left-out-of-the-nav", "broken-link", "broken-anchor", "missing-picture"],
)
def test_a_broken_site_fails_the_build(tmp_path, damage, says):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    damage(tmp_path / "docs")
    result = build(tmp_path, tmp_path / "site")
    assert result.returncode != 0
    assert says in result.stderr


def test_the_readmes_links_reach_the_pages_and_their_parts(tmp_path):
    """The README is outside the site, so MkDocs does not check it: each relative link must name a file
    that exists, and each #part a heading of that page."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((?!https?://)([^)#\s]+)(?:#([^)\s]+))?\)", readme)
    assert len(links) >= 15
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for target, part in links:
        assert (ROOT / target).is_file(), target
        if part:
            page = Path(target).relative_to("docs").with_suffix("")
            html = tmp_path / "site" / ("" if page.name == "index" else page) / "index.html"
            assert f'id="{part}"' in html.read_text(), (target, part)
