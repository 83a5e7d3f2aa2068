"""MkDocs hook: the README's tour is the site's home page (one source, no copy).

Links in the README are relative to the repository: ``docs/x.md`` becomes ``x.md``, and
links to other repository files (outside the site) become their path in code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_ROOT = Path(__file__).resolve().parent.parent
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _site_link(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if "://" in target or target.startswith("#"):
        return match.group(0)
    if target.startswith("docs/"):
        return f"[{text}]({target.removeprefix('docs/')})"
    path = f"`{target}`"
    return path if text.strip("`") == target else f"{text} ({path})"


def readme_as_home(markdown: str) -> str:
    """The README's markdown with its links rewritten for the site."""
    return _LINK.sub(_site_link, markdown)


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    """Add ``index.md``, generated from README.md."""
    text = (_ROOT / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=readme_as_home(text)))
    return files
