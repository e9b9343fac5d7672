"""Fixtures of the TUI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private configuration directory: tests never touch the user's own."""
    path = tmp_path / "config"
    path.mkdir()
    return path
