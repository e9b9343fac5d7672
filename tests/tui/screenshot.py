"""The picture of the client in README.md and at the top of docs/client.md: the chat
screen at 80×24, in plain text, as the replayed session of the snapshots shows it
(rooms with unread counts and one waiting, a direct conversation, two days of
messages, the users).

    python -m tests.tui.screenshot           # print it
    python -m tests.tui.screenshot --write   # and put it in both pages

`test_screenshot.py` fails while a page shows something else.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.tui.helpers import screen_text
from tests.tui.test_snapshots import logged_in, replay_app

ROOT = Path(__file__).resolve().parents[2]
SIZE = (80, 24)
PAGES = {
    ROOT / "README.md": "It looks like this at 80×24",
    ROOT / "docs" / "client.md": "# chat-tui: the terminal client",
}
"""Each page with a picture, and the text its picture is the first block after."""


async def screenshot() -> str:
    """The chat screen at 80×24 after logging in to the replayed session."""
    with tempfile.TemporaryDirectory() as config:
        app = replay_app(Path(config))
        async with app.run_test(size=SIZE) as pilot:
            await logged_in(pilot)
            text = screen_text(app)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def _block(page: str, after: str) -> tuple[int, int]:
    """Where the first fenced block after `after` starts and ends (its text only)."""
    start = page.index("```\n", page.index(after)) + len("```\n")
    return start, page.index("\n```", start)


def shown(page: Path) -> str:
    """The picture `page` shows."""
    text = page.read_text(encoding="utf-8")
    start, end = _block(text, PAGES[page])
    return text[start:end]


def write(page: Path, picture: str) -> None:
    """Put `picture` in `page`, instead of the one there."""
    text = page.read_text(encoding="utf-8")
    start, end = _block(text, PAGES[page])
    page.write_text(text[:start] + picture + text[end:], encoding="utf-8")


def main() -> None:
    """Print the picture; with `--write`, put it in the pages too."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update README.md and client.md")
    args = parser.parse_args()
    picture = asyncio.run(screenshot())
    print(picture)
    if args.write:
        for page in PAGES:
            write(page, picture)


if __name__ == "__main__":
    main()
