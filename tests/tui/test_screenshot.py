"""The picture of the client in README.md and docs/client.md is the client as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.screenshot import PAGES, screenshot, shown


@pytest.mark.parametrize("page", list(PAGES), ids=lambda page: page.name)
async def test_the_pages_show_the_client_as_it_is(page: Path) -> None:
    picture = await screenshot()
    assert shown(page) == picture, f"run: python -m tests.tui.screenshot --write\n{picture}"
