"""Helpers for the end-to-end tests: start the real `switchboard` binary, talk HTTP to it,
and check RFC 9457 problems.

Nothing here knows how the server is implemented; everything goes through the command line,
the environment, the data directory and HTTP on loopback.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import requests

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "OpenAPI" / "openapi.yaml"
ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"

READY_TIMEOUT = float(os.environ.get("SWITCHBOARD_READY_TIMEOUT", "60"))
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 15.0

ALLOWED_ORIGIN = "https://shop.example"
OTHER_ALLOWED_ORIGIN = "http://localhost:3000"
FOREIGN_ORIGIN = "https://evil.example"
DESTINATION = "sip:agents@callcentre.example"

ONE_MIB = 1024 * 1024


def server_binary() -> Path:
    return Path(os.environ.get("SWITCHBOARD_BIN", REPO / ".build" / "debug" / "switchboard"))


def new_bootstrap_key() -> str:
    """A bootstrap admin key in the same shape the server generates (`sbk_` + 43 base64url)."""
    raw = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    return "sbk_" + raw


def free_port() -> int:
    """A port that is currently free for both TCP and UDP on 127.0.0.1 (the SIP port needs both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port found")


def port_bound(port: int, kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1", pid: int | None = None) -> bool:
    """Whether a socket of this machine (of process `pid`, if given) is bound to `host:port`
    (UDP) or listens on it (TCP).

    Read from the kernel's tables, not by binding a probe: a probe holds the port for a moment,
    and a process that binds it in that moment fails with EADDRINUSE."""
    table = "/proc/net/udp" if kind == socket.SOCK_DGRAM else "/proc/net/tcp"
    packed = socket.inet_aton(host)
    wanted = {f"{int.from_bytes(packed, 'little'):08X}:{port:04X}", f"00000000:{port:04X}"}
    inodes: set[str] = set()
    with open(table) as rows:
        next(rows)
        for row in rows:
            fields = row.split()
            if fields[1] in wanted and (kind == socket.SOCK_DGRAM or fields[3] == "0A"):
                inodes.add(fields[9])
    if pid is None or not inodes:
        return bool(inodes)
    return bool(inodes & _socket_inodes(pid))


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` holds (empty once it has exited)."""
    found: set[str] = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


# --------------------------------------------------------------------------------------------
# The server process


class ServerProcess:
    """One `switchboard serve` process with its own ports; logs go to files outside the data dir
    (stdout may carry the bootstrap key, and the data dir is grepped for secrets)."""

    running: "set[ServerProcess]" = set()

    def __init__(
        self,
        data_dir: Path,
        *,
        bootstrap_key: str | None,
        extra_args: Iterable[str] = (),
        name: str = "server",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.bootstrap_key = bootstrap_key
        self.extra_args = list(extra_args)
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self.sip_port = 0
        self.starts = 0
        self.stdout_path: Path | None = None
        self.stderr_path: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        return [
            str(server_binary()),
            "serve",
            "--http-host", "127.0.0.1",
            "--http-port", str(self.http_port),
            "--sip-port", str(self.sip_port),
            "--data-dir", str(self.data_dir),
            *self.extra_args,
        ]

    def start(self, *, bootstrap_key: Any = "unchanged", same_ports: bool = False) -> "ServerProcess":
        """Starts the process (on fresh ports unless `same_ports`) and waits until `/healthz`
        answers 200."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if bootstrap_key != "unchanged":
            self.bootstrap_key = bootstrap_key
        binary = server_binary()
        assert binary.exists(), f"server binary {binary} does not exist (set SWITCHBOARD_BIN)"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not same_ports or not self.http_port:
            self.http_port = free_port()
            self.sip_port = free_port()
            while self.sip_port == self.http_port:
                self.sip_port = free_port()
        self.starts += 1
        logs = ARTIFACTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        stem = f"{self.name}-{os.getpid()}-{self.http_port}-{self.starts}"
        self.stdout_path = logs / f"{stem}.stdout.log"
        self.stderr_path = logs / f"{stem}.stderr.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        if os.environ.get("SWITCHBOARD_BIN"):
            env["SWITCHBOARD_BIN"] = os.environ["SWITCHBOARD_BIN"]
        if self.bootstrap_key is not None:
            env["SWITCHBOARD_BOOTSTRAP_KEY"] = self.bootstrap_key
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=self.data_dir.parent
            )
        ServerProcess.running.add(self)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last_error: str = "no attempt"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(
                    f"{self.name} exited with code {code} before becoming ready\n"
                    f"command: {' '.join(self.command())}\n{self.log_tail()}"
                )
            try:
                response = requests.get(self.url + "/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last_error = f"GET /healthz -> {response.status_code} {response.text[:200]}"
            except requests.RequestException as error:
                last_error = f"GET /healthz -> {type(error).__name__}"
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not ready within {timeout:.0f}s ({last_error})\n{self.log_tail()}")

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; returns the exit code. Fails if it does not exit in time."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                ServerProcess.running.discard(self)
                raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")
        ServerProcess.running.discard(self)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        ServerProcess.running.discard(self)

    def crashed(self) -> bool:
        """Whether the process died or reports a crash (Swift prints the crash before its backtrace)."""
        if self.proc is None:
            return False
        if self.proc.poll() is not None:
            return True
        text = self.stderr_text()
        return "*** Program crashed" in text or "Fatal error:" in text

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.terminate()
            except AssertionError:
                pass
        ServerProcess.running.discard(self)

    # -- logs --------------------------------------------------------------------------------

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path else ""

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def log_tail(self, lines: int = 40) -> str:
        out = self.stdout_text().splitlines()[-lines:]
        err = self.stderr_text().splitlines()[-lines:]
        return (
            f"--- {self.name} stdout ({self.stdout_path}) ---\n" + "\n".join(out)
            + f"\n--- {self.name} stderr ({self.stderr_path}) ---\n" + "\n".join(err)
        )

    def client(self, key: str | None = None) -> "Client":
        return Client(self.url, key if key is not None else self.bootstrap_key)


# --------------------------------------------------------------------------------------------
# HTTP


_NO_BODY = object()
DEFAULT_KEY = object()


class Client:
    """A thin wrapper over `requests` with the admin key as default bearer."""

    def __init__(self, base_url: str, key: str | None) -> None:
        self.base_url = base_url
        self.key = key
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _NO_BODY,
        data: bytes | str | None = None,
        key: Any = DEFAULT_KEY,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        all_headers: dict[str, str] = {}
        use_key = self.key if key is DEFAULT_KEY else key
        if use_key is not None:
            all_headers["Authorization"] = f"Bearer {use_key}"
        body = data
        if json_body is not _NO_BODY:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        return self.session.request(
            method, self.base_url + path, data=body, headers=all_headers, params=params,
            timeout=REQUEST_TIMEOUT, allow_redirects=False,
        )

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = _NO_BODY, **kw: Any) -> requests.Response:
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = _NO_BODY, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # -- domain shortcuts ----------------------------------------------------------------------

    def create_widget(self, **fields: Any) -> dict[str, Any]:
        body = {"name": fields.pop("name", f"widget {uuid.uuid4().hex[:8]}"), "destination": DESTINATION}
        body.update(fields)
        response = self.post("/v1/widgets", body)
        assert response.status_code == 201, describe(response)
        return response.json()

    def create_api_key(self, name: str | None = None) -> dict[str, Any]:
        response = self.post("/v1/api-keys", {"name": name or f"key {uuid.uuid4().hex[:8]}"})
        assert response.status_code == 201, describe(response)
        return response.json()

    def list_all(self, path: str, limit: int = 100) -> list[dict[str, Any]]:
        """Walks a cursor-paginated list to the end, checking the page shape on the way."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(10_000):
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            response = self.get(path, params=params)
            assert response.status_code == 200, describe(response)
            page = response.json()
            assert set(page) >= {"data", "nextCursor"}, f"list page lacks data/nextCursor: {page}"
            assert len(page["data"]) <= limit, f"page of {len(page['data'])} items for limit={limit}"
            items.extend(page["data"])
            after = page["nextCursor"]
            if after is None:
                return items
            assert page["data"], f"empty page with a nextCursor ({after!r}) on {path}"
        raise AssertionError(f"{path}: pagination did not end")


def describe(response: requests.Response, limit: int = 2000) -> str:
    """The request and the response, for assertion messages (these are what a bug report needs)."""
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body_text = body[:limit].decode(errors="replace") + (f"... ({len(body)} bytes)" if len(body) > limit else "")
    else:
        body_text = str(body)[:limit] if body is not None else ""
    request_headers = "\n".join(f"  {k}: {v}" for k, v in request.headers.items())
    response_headers = "\n".join(f"  {k}: {v}" for k, v in response.headers.items())
    text = response.text
    return (
        f"\n>>> {request.method} {request.url}\n{request_headers}\n  {body_text}\n"
        f"<<< {response.status_code} {response.reason}\n{response_headers}\n  "
        + (text[:limit] + ("..." if len(text) > limit else ""))
    )


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def assert_json(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, f"expected {status}" + describe(response)
    assert media_type(response) == "application/json", "expected Content-Type application/json" + describe(response)
    return response.json()


def assert_problem(response: requests.Response, status: int | Iterable[int]) -> dict[str, Any]:
    """Checks an RFC 9457 problem: status, media type, and `type`, `title`, `status` members."""
    allowed = {status} if isinstance(status, int) else set(status)
    assert response.status_code in allowed, f"expected status {sorted(allowed)}" + describe(response)
    assert media_type(response) == "application/problem+json", (
        "expected Content-Type application/problem+json" + describe(response)
    )
    try:
        body = response.json()
    except ValueError:
        raise AssertionError("problem body is not JSON" + describe(response)) from None
    assert isinstance(body, dict), "problem body is not an object" + describe(response)
    assert isinstance(body.get("type"), str) and body["type"], "problem lacks a string `type`" + describe(response)
    assert isinstance(body.get("title"), str) and body["title"], "problem lacks a string `title`" + describe(response)
    assert body.get("status") == response.status_code, (
        f"problem `status` {body.get('status')!r} differs from HTTP status" + describe(response)
    )
    return body


def error_pointers(problem: dict[str, Any]) -> list[str]:
    errors = problem.get("errors") or []
    assert isinstance(errors, list), f"`errors` is not a list: {problem}"
    for entry in errors:
        assert isinstance(entry, dict) and isinstance(entry.get("pointer"), str) and isinstance(
            entry.get("detail"), str
        ), f"malformed errors entry {entry!r} in {problem}"
    return [entry["pointer"] for entry in errors]


def parse_time(text: Any) -> dt.datetime:
    """Parses an RFC 3339 date-time (as `format: date-time` requires) into an aware datetime."""
    assert isinstance(text, str), f"not a date-time string: {text!r}"
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", text
    ), f"not an RFC 3339 date-time: {text!r}"
    value = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    return value


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------------------------
# Raw HTTP (for bodies a server may answer before reading them fully)


def raw_exchange(port: int, head: bytes, body: bytes = b"", timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Sends `head` + `body` over a fresh connection and reads one response, tolerating the
    server answering (and closing) before the whole body was sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(head)
            view = memoryview(body)
            for offset in range(0, len(view), 64 * 1024):
                sock.sendall(view[offset : offset + 64 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early; read what it said
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            received += chunk
            parsed = _parse_response(received)
            if parsed is not None:
                return parsed
        parsed = _parse_response(received, final=True)
        assert parsed is not None, f"no complete HTTP response received; got {received[:500]!r}"
        return parsed
    finally:
        sock.close()


def _parse_response(data: bytes, final: bool = False) -> tuple[int, dict[str, str], bytes] | None:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = data[end + 4 :]
    if "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            return None
        return status, headers, body[:length]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        decoded = _dechunk(body)
        if decoded is None:
            return None
        return status, headers, decoded
    return (status, headers, body) if final else None


def _dechunk(body: bytes) -> bytes | None:
    out = b""
    while True:
        line_end = body.find(b"\r\n")
        if line_end < 0:
            return None
        size = int(body[:line_end].split(b";")[0], 16)
        if size == 0:
            return out
        if len(body) < line_end + 2 + size + 2:
            return None
        out += body[line_end + 2 : line_end + 2 + size]
        body = body[line_end + 2 + size + 2 :]


def assert_raw_problem(status: int, headers: dict[str, str], body: bytes, expected: int, what: str) -> dict[str, Any]:
    message = f"{what}: got {status} {headers} {body[:500]!r}"
    assert status == expected, f"expected {expected}; " + message
    assert headers.get("content-type", "").split(";")[0].strip().lower() == "application/problem+json", message
    problem = json.loads(body)
    assert isinstance(problem.get("type"), str) and isinstance(problem.get("title"), str), message
    assert problem.get("status") == expected, message
    return problem


# --------------------------------------------------------------------------------------------
# Secrets at rest


def secret_needles(secret: str) -> list[bytes]:
    """Byte strings that would reveal `secret` if found on disk: the whole secret, the part after
    its prefix, and the raw random bytes it encodes."""
    needles = [secret.encode()]
    match = re.fullmatch(r"[a-z]{2,5}_(.+)", secret)
    if match:
        body = match.group(1)
        needles.append(body.encode())
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if len(raw) >= 16:
                needles.append(raw)
        except (binascii.Error, ValueError):
            pass
    return needles


def files_containing(directory: Path, secret: str, *, exclude: Iterable[str] = ()) -> list[str]:
    """Files under `directory` (recursively, WAL/journal included) whose bytes contain `secret`."""
    excluded = {Path(directory, name).resolve() for name in exclude}
    hits = []
    needles = secret_needles(secret)
    for path in sorted(Path(directory).rglob("*")):
        if not path.is_file() or path.resolve() in excluded:
            continue
        content = path.read_bytes()
        for needle in needles:
            if needle in content:
                hits.append(f"{path.relative_to(directory)} (contains {needle[:16]!r}...)")
                break
    return hits


def data_dir_listing(directory: Path) -> str:
    return ", ".join(
        f"{p.relative_to(directory)}={p.stat().st_size}B" for p in sorted(Path(directory).rglob("*")) if p.is_file()
    )


def poll(predicate, timeout: float, interval: float = 0.05):
    """Calls `predicate` until it returns something truthy or `timeout` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
