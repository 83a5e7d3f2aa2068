"""The README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"

pytest_plugins = ["pytester"]


def test_readme_sandbox_example_passes_as_a_users_test(pytester: pytest.Pytester) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [example] = [b for b in blocks if "def test_statuses" in b]
    pytester.makepyfile(test_user=example)
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_links_and_paths_stay_inside_the_repository() -> None:
    root = README.parent.resolve()
    text = README.read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    paths = [p for p in re.findall(r"`([\w./-]+\.md)`", text) if "/" in p]
    assert links, "the README links to docs/cli.md at least"
    for target in links + paths:
        path = (root / target.split("#")[0]).resolve()
        assert path.is_relative_to(root) and path.exists(), target
