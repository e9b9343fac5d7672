"""Developer sessions: `nox` runs lint, types and tests; `nox -s bench` a short benchmark."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "types", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
LINT = nox.project.dependency_groups(PYPROJECT, "lint")
TYPES = nox.project.dependency_groups(PYPROJECT, "types")
TESTS = nox.project.dependency_groups(PYPROJECT, "test")
BENCH = nox.project.dependency_groups(PYPROJECT, "bench")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting."""
    session.install(*LINT)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """Mypy, strict, over the packages, the tests and this file."""
    session.install("-e", ".", *TYPES)
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, SQLite and MySQL alike (see README for CHAT_TEST_MYSQL)."""
    session.install("-e", ".", *TESTS)
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """A short benchmark run (about a minute): every scenario, chat-server and ngIRCd.

    Not part of the default sessions. ngIRCd comes from Debian (`apt-get install
    ngircd`) and is skipped when missing; MariaDB is not used in the short run.
    Full runs: see benchmarks/README.md.
    """
    session.install("-e", ".", *BENCH)
    session.run("python", "-m", "benchmarks.run", "all", "--quick", *session.posargs)
