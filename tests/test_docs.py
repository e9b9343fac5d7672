"""The documentation agrees with the code: console help, module list, settings, citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from chat_srv.console import render
from chat_srv.console.commands import COMMANDS
from chat_srv.settings import KEYS, option_name, variable_name

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same level."""
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _first_block(text: str) -> str:
    return text.split("```\n", 2)[1]


def test_readme_shows_the_console_help_as_it_is() -> None:
    console = Console(width=200, no_color=True, highlight=False)
    with console.capture() as captured:
        console.print(render.help_table([(c.usage, c.summary) for c in COMMANDS]))
    shown = "".join(line.rstrip() + "\n" for line in captured.get().splitlines())
    excerpt = _first_block(_section(README, "## The administrator's console"))
    assert excerpt == shown, f"paste the console's help into README.md:\n{shown}"


def test_readme_lists_every_server_module() -> None:
    layout = _first_block(_section(README, "## Layout"))
    listed = set(re.findall(r"^  (\S+)", layout, re.M))
    server = ROOT / "chat_srv"
    modules = {p.name for p in server.glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.name}/" for p in server.iterdir() if (p / "__init__.py").exists()}
    assert modules | packages == listed


def test_configuration_names_every_key_its_option_and_its_variable() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {
        row.split("|")[1].strip(" `"): row for row in page.splitlines() if row.startswith("| `")
    }
    for key in KEYS:
        assert key in rows, key
        assert f"`{option_name(key)}`" in rows[key], key
        assert f"`{variable_name(key)}`" in rows[key], key


@pytest.mark.parametrize("page", [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"])
def test_no_page_cites_a_file_the_repository_lacks(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for cited in set(re.findall(r"`([\w./-]+\.md)`", text)):
        candidates = [ROOT / cited, page.parent / cited]
        assert any(c.exists() for c in candidates), f"{page.name} cites {cited}"
