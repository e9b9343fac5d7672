"""Tests cannot hurt each other: a failing test leaks no client into the next one.

pytest keeps a failure (and so its locals) until the next test starts; a socket
left open by the failed test is collected then, and its `ResourceWarning` fails
that innocent test. Each check runs pytest on a small inner module in a child
process, with the project's own configuration (`filterwarnings = error`), so a
socket leaked on purpose can only ever fail the inner run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

INNER = """
import gc
from collections.abc import AsyncIterator

import pytest

from chat_srv.server import ChatServer
from tests.helpers import register


async def test_fails_with_a_client_open(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    assert alice.name == "bob"


def test_innocent() -> None:
    gc.collect()  # as a busy test would, sooner or later
"""

TURNED_OFF = '''

@pytest.fixture(autouse=True)
async def close_test_clients() -> AsyncIterator[None]:
    """Overrides the project's fixture: nothing closes the clients a test left open."""
    yield
'''


@pytest.mark.parametrize("closing", [True, False], ids=["closing", "turned-off"])
def test_a_failing_test_leaks_no_client_into_the_next(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, closing: bool
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # for `tests.conftest` and `tests.helpers`
    pytester.makepyprojecttoml((REPO / "pyproject.toml").read_text())
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]')
    pytester.makepyfile(test_inner=INNER if closing else INNER + TURNED_OFF)
    result = pytester.runpytest_subprocess("test_inner.py", timeout=120)
    output = result.stdout.str()
    if closing:
        result.assert_outcomes(failed=1, passed=1)
        assert "ResourceWarning" not in output
    else:  # the control: without the fixture, the innocent test is failed by the leak
        result.assert_outcomes(failed=2)
        assert "ResourceWarning: unclosed transport" in output
