"""Fixtures: one server per test module (state shared within the module), plus a factory for
tests that need their own server (restarts, bootstrap, rate limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import shutil

from support import ARTIFACTS, Client, ServerProcess, new_bootstrap_key, server_binary


def pytest_sessionstart(session: pytest.Session) -> None:
    binary = server_binary()
    if not binary.exists():
        pytest.exit(
            f"server binary {binary} not found: build it (swift build) or set SWITCHBOARD_BIN", returncode=1
        )
    shutil.rmtree(ARTIFACTS / "logs", ignore_errors=True)  # logs of this run only


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        servers = getattr(item, "_switchboard_servers", [])
        for server in servers:
            report.sections.append((f"switchboard logs ({server.name})", server.log_tail(60)))


def _remember(request: pytest.FixtureRequest, server: ServerProcess) -> None:
    node = request.node
    if isinstance(node, pytest.Item):
        node._switchboard_servers = getattr(node, "_switchboard_servers", []) + [server]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running server for the whole module, started with a known bootstrap key. A module may
    set `SERVER_ARGS` (a list of extra command-line flags)."""
    args = getattr(request.module, "SERVER_ARGS", ["--session-rate-limit", "10000"])
    name = request.module.__name__.rsplit(".", 1)[-1]
    process = ServerProcess(
        tmp_path_factory.mktemp(name) / "data", bootstrap_key=new_bootstrap_key(), extra_args=args, name=name
    )
    process.start()
    yield process
    process.cleanup()


@pytest.fixture(autouse=True)
def _module_server_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    """Attaches the module server's logs to failures, and if a test crashed the server, fails
    that test and restarts the server on the same ports and data dir so that the rest of the
    module still tests something."""
    if "server" not in request.fixturenames:
        yield
        return
    process: ServerProcess = request.getfixturevalue("server")
    _remember(request, process)
    yield
    if process.crashed():
        tail = process.log_tail(80)
        try:
            process.proc.wait(timeout=30)  # the crash handler may still be writing a backtrace
        except Exception:
            process.kill()
        code, log = process.proc.returncode, process.stderr_path
        process.start(same_ports=True)
        pytest.fail(
            f"the server crashed during this test (exit code {code}); it was restarted for the "
            f"following tests. Full log: {log}\n{tail}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Client:
    """A client authenticated with the bootstrap admin key."""
    return server.client()


@pytest.fixture(scope="module")
def anon(server: ServerProcess) -> Client:
    """A client without an API key."""
    return Client(server.url, None)


@pytest.fixture
def make_server(request: pytest.FixtureRequest, tmp_path: Path):
    """Creates (not starts) servers private to one test; all are stopped at its end."""
    created: list[ServerProcess] = []

    def factory(*, bootstrap_key: str | None = "generate", extra_args=(), data_dir: Path | None = None, name: str = "private") -> ServerProcess:
        key = new_bootstrap_key() if bootstrap_key == "generate" else bootstrap_key
        process = ServerProcess(
            data_dir or tmp_path / f"data{len(created)}", bootstrap_key=key, extra_args=extra_args,
            name=f"{request.node.name}-{name}",
        )
        created.append(process)
        _remember(request, process)
        return process

    yield factory
    for process in created:
        process.cleanup()
