"""Helpers for the SIP interop tests: run SIPp scenarios (Tests/EndToEnd/sipp/) as bounded
background processes, read back the messages they exchanged, set up trunks over REST, and
check call records and digest credentials.

SIPp's own assertions (unexpected messages, `check_it` regexps, timeouts) decide its exit code;
what needs both legs (topology hiding, the call id header against the REST resource, digest
responses SIPp cannot verify) is checked here from SIPp's `-trace_msg` files.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from support import Client, describe, free_port, port_bound

SCENARIOS = Path(__file__).resolve().parent / "sipp"
LOCALHOST = "127.0.0.1"

# SIPp exit codes (sipp(1)): 0 all calls succeeded, 1 at least one failed, 97 stopped by an
# internal command, 99 normal exit without any call processed, 255 fatal error, 254 bind error.
SIPP_BIND_FAILED = 254
SIPP_EXIT = {0: "all calls succeeded", 1: "at least one call failed", 97: "stopped by internal command",
             99: "no call processed", 253: "timeout", 254: "could not bind", 255: "fatal error"}

FINAL_STATUSES = {"completed", "failed", "busy", "no-answer", "canceled"}
CALL_STATUSES = {"initiated", "ringing", "in-progress"} | FINAL_STATUSES

# What a SIPp UAC sends in [caller_headers] when the test does not choose: a harmless header,
# so the scenario line is never empty (SIPp keeps empty keyword lines, which would end the
# header section early).
DEFAULT_CALLER_HEADERS = "User-Agent: switchboard-e2e-sipp"


def sipp_binary() -> str | None:
    return shutil.which(os.environ.get("SIPP", "sipp"))


def scenario(name: str) -> Path:
    path = SCENARIOS / name
    assert path.exists(), f"no SIPp scenario {path}"
    return path


def gateway_emulation_headers(call_id: str = "cal_selftest0001", http_port: int = 1) -> str:
    """The headers the gateway adds to its outbound INVITE, for SIPp-to-SIPp self-tests in which
    a UAC scenario stands in for the gateway."""
    return (
        f"X-Switchboard-Call-Id: {call_id}\r\n"
        f"Call-Info: <http://127.0.0.1:{http_port}/v1/calls/{call_id}>;purpose=info"
    )


# --------------------------------------------------------------------------------------------
# SIP messages from SIPp's -trace_msg file

_COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length",
            "c": "content-type", "k": "supported", "s": "subject", "e": "content-encoding"}
# SIPp separates messages with a line of dashes (and a timestamp); a loss simulated by -lost is
# noted by "UDP message lost (recv)." right after the dropped message, or "... voluntary lost
# (while sending)." for a dropped send (which is not logged itself), with no newline before the
# next separator.
_SEPARATOR = re.compile(r"-{30,}[^\n]*\n")
_DIRECTION = re.compile(r"^(UDP|TCP|TLS|SCTP|WS)\w* message (sent|received)\b[^\n]*\n")
_LOST_RECV = "message lost (recv)."
_LOST_MARKS = re.compile(r"(?:(?:UDP|TCP|TLS|SCTP) message (?:voluntary )?lost \((?:recv|while sending)\)\.)+\s*$")


@dataclass
class SipMessage:
    direction: str  # "sent" | "received"
    transport: str
    text: str
    start_line: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    lost: bool = False  # received, then dropped by SIPp's -lost

    @classmethod
    def parse(cls, direction: str, transport: str, text: str) -> "SipMessage":
        text = text.replace("\r\n", "\n")
        head, _, body = text.partition("\n\n")
        lines = head.strip("\n").split("\n")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # folded continuation
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers.append((_COMPACT.get(key, key), value.strip()))
        message = cls(direction, transport, text, lines[0].strip(), headers, body)
        length = message.header("content-length")
        if length is not None and length.isdigit():
            message.body = body[: int(length)]  # lengths count CRLF bytes; bodies here are short
        return message

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0")

    @property
    def method(self) -> str | None:
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def status(self) -> int | None:
        return None if self.is_request else int(self.start_line.split(" ")[1])

    @property
    def request_uri(self) -> str | None:
        return self.start_line.split(" ")[1] if self.is_request else None

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        key = _COMPACT.get(name.lower(), name.lower())
        return [value for header, value in self.headers if header == key]

    def vias(self) -> list[str]:
        return [part.strip() for value in self.header_values("via") for part in _split_commas(value)]

    @property
    def call_id(self) -> str | None:
        return self.header("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = (self.header("cseq") or "0 ?").split()
        return int(number), method

    def tag(self, header: str) -> str | None:
        value = self.header(header) or ""
        match = re.search(r";\s*tag=([^;>\s,]+)", value.split(">")[-1] if ">" in value else value)
        return match.group(1) if match else None

    @property
    def branch(self) -> str | None:
        vias = self.vias()
        match = re.search(r";\s*branch=([^;\s,]+)", vias[0]) if vias else None
        return match.group(1) if match else None

    def summary(self) -> str:
        return f"{self.direction:8s} {self.start_line}  [{self.header('cseq')}] Call-ID {self.call_id}"


def _split_commas(value: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, ""
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_message_log(text: str) -> list[SipMessage]:
    messages = []
    for chunk in _SEPARATOR.split(text):
        match = _DIRECTION.match(chunk.lstrip("\n"))
        if not match:
            continue
        rest = chunk.lstrip("\n")[match.end():].lstrip("\n")
        lost = match.group(2) == "received" and _LOST_RECV in rest[-200:]
        rest = _LOST_MARKS.sub("", rest)
        if not rest.strip():
            continue
        message = SipMessage.parse(match.group(2), match.group(1), rest)
        message.lost = lost
        messages.append(message)
    return messages


# --------------------------------------------------------------------------------------------
# SIPp processes

# Ports given to the SIPp runs of this process (a run binds its ports only when it starts).
_handed_out: set[int] = set()


def free_sip_port() -> int:
    """A port free now for TCP and UDP that was not given to another SIPp run (whose media
    ports are bound only when it starts)."""
    for _ in range(200):
        port = free_port()
        if port not in _handed_out:
            return port
    raise RuntimeError("no free SIP port found")


def free_media_ports(count: int) -> int:
    """The first of `count` consecutive UDP ports on 127.0.0.1 that are all free now and were
    not given to another SIPp run."""
    for _ in range(200):
        first = free_port()
        block = range(first, first + count)
        if first + count > 65536 or any(port in _handed_out for port in block):
            continue
        probes = []
        try:
            for port in block:
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind((LOCALHOST, port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        _handed_out.update(block)
        return first
    raise RuntimeError(f"no {count} consecutive free UDP ports found")


class Sipp:
    """One SIPp process running one scenario, with its traces in `workdir`.

    UAC: `remote` is where requests go. UAS: no `remote`. Always bounded: `-m calls` and a global
    `-timeout` that counts as a failure (`-timeout_error`)."""

    def __init__(
        self,
        scenario_name: str,
        workdir: Path,
        *,
        name: str,
        remote: tuple[str, int] | None = None,
        transport: str = "udp",
        port: int | None = None,
        calls: int = 1,
        rate: float | None = None,
        rate_period_ms: int | None = None,
        limit: int | None = None,
        duration_ms: int = 0,
        timeout_s: float = 20,
        lost: int | None = None,
        keys: dict[str, str] | None = None,
        sets: dict[str, str] | None = None,
        service: str = "agents",
        extra_args: Iterable[str] = (),
    ) -> None:
        binary = sipp_binary()
        assert binary, "sipp not found: apt-get install sip-tester (or set SIPP)"
        self.binary = binary
        self.scenario = scenario(scenario_name)
        self.workdir = Path(workdir) / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.remote = remote
        self.transport = transport
        self.port = port or free_sip_port()
        _handed_out.add(self.port)
        # SIPp binds the media port and the next three (RTCP, video RTP and RTCP): none may be
        # this run's SIP port or a port another SIPp of the test was given.
        self.media_port = free_media_ports(4)
        self.calls = calls
        self.rate = rate
        self.rate_period_ms = rate_period_ms
        self.limit = limit
        self.duration_ms = duration_ms
        self.timeout_s = timeout_s
        self.lost = lost
        self.keys = dict(keys or {})
        if remote is not None:
            self.keys.setdefault("caller_headers", DEFAULT_CALLER_HEADERS)
        self.sets = dict(sets or {})
        self.service = service
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        # SIPp processes started (more than one when a start lost a port to another process).
        self.starts = 0

    # files
    @property
    def message_file(self) -> Path:
        return self.workdir / "messages.log"

    @property
    def error_file(self) -> Path:
        return self.workdir / "errors.log"

    @property
    def log_file(self) -> Path:
        return self.workdir / "actions.log"

    @property
    def screen_file(self) -> Path:
        return self.workdir / "screen.log"

    @property
    def stdout_file(self) -> Path:
        return self.workdir / "stdout.log"

    def command(self) -> list[str]:
        transport = {"udp": "u1", "tcp": "t1"}[self.transport]
        cmd = [
            self.binary, "-sf", str(self.scenario),
            "-i", LOCALHOST, "-p", str(self.port), "-mp", str(self.media_port), "-t", transport,
            "-m", str(self.calls), "-d", str(self.duration_ms),
            "-timeout", f"{self.timeout_s:g}s", "-timeout_error", "-nostdin",
            "-trace_msg", "-message_file", str(self.message_file),
            "-trace_err", "-error_file", str(self.error_file),
            "-trace_logs", "-log_file", str(self.log_file),
            "-trace_screen", "-screen_file", str(self.screen_file),
        ]
        if self.remote is not None:
            cmd += ["-s", self.service]
        elif self.transport == "tcp":
            # A UAS must not count a call as failed because the peer closed its connection during
            # the final <timewait> (SIPp aborts such calls by default).
            cmd += ["-reconnect_close", "false"]
        if self.rate is not None:
            cmd += ["-r", f"{self.rate:g}"]
        if self.rate_period_ms is not None:
            cmd += ["-rp", str(self.rate_period_ms)]
        if self.limit is not None:
            cmd += ["-l", str(self.limit)]
        if self.lost is not None:
            cmd += ["-lost", str(self.lost)]
        for key, value in self.keys.items():
            cmd += ["-key", key, value]
        for key, value in self.sets.items():
            cmd += ["-set", key, value]
        cmd += self.extra_args
        if self.remote is not None:
            cmd.append(f"{self.remote[0]}:{self.remote[1]}")
        return cmd

    def start(self) -> "Sipp":
        """Starts SIPp; a UAS (and a UDP UAC) is running with its SIP port bound on return.

        The ports were free when they were chosen, but any process of the machine may bind one
        for a moment before SIPp does (every bind to port 0 takes a random free port). SIPp then
        exits with "could not bind"; it is started again, on the same ports (the test may
        already have handed them to the other side), a few times before that counts."""
        for attempt in range(4):
            self.error_file.unlink(missing_ok=True)
            self.starts += 1
            with open(self.stdout_file, "wb") as out:
                self.proc = subprocess.Popen(
                    self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir
                )
            if self.remote is not None and self.transport != "udp":
                return self
            if self._wait_bound() or not self._lost_a_port() or attempt == 3:
                break
            time.sleep(0.1 * (attempt + 1))
        if self.remote is None:
            self.wait_listening()
        return self

    def _wait_bound(self, timeout: float = 10) -> bool:
        """Waits until SIPp itself has bound its SIP port (True) or has exited (False)."""
        kind = socket.SOCK_DGRAM if self.transport == "udp" else socket.SOCK_STREAM
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_bound(self.port, kind, LOCALHOST, pid=self.proc.pid):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        raise AssertionError(f"{self.name} did not bind {self.transport} {self.port} within {timeout}s\n{self.report()}")

    def _lost_a_port(self) -> bool:
        """Whether SIPp exited because a port it was given was taken when it came to bind it."""
        if self.proc.wait() != SIPP_BIND_FAILED or not self.error_file.exists():
            return False
        return "Unable to bind" in self.error_file.read_text(errors="replace")

    def wait_listening(self, timeout: float = 10) -> None:
        """Waits until the UAS has bound its port; fails if SIPp exited instead."""
        if not self._wait_bound(timeout):
            raise AssertionError(f"{self.name} exited early\n{self.report()}")

    def wait(self, timeout: float | None = None) -> int:
        """Waits for the process (default: its own -timeout plus a margin) and returns the exit code."""
        assert self.proc is not None
        limit = timeout if timeout is not None else self.timeout_s + 15
        try:
            self.returncode = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.name} still running {limit}s after start of wait\n{self.report()}")
        return self.returncode

    def run(self, timeout: float | None = None) -> int:
        self.start()
        return self.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.returncode = self.proc.returncode

    # results
    def messages(self) -> list[SipMessage]:
        if not self.message_file.exists():
            return []
        return parse_message_log(self.message_file.read_text(errors="replace"))

    def received(self, method_or_status: str | int | None = None) -> list[SipMessage]:
        """Messages SIPp received and processed (not those its -lost dropped)."""
        return _select([m for m in self.messages() if m.direction == "received" and not m.lost], method_or_status)

    def sent(self, method_or_status: str | int | None = None) -> list[SipMessage]:
        return _select([m for m in self.messages() if m.direction == "sent"], method_or_status)

    def actions_log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def report(self, lines: int = 40) -> str:
        def tail(path: Path, lines: int = lines) -> str:
            if not path.exists():
                return "(none)"
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

        code = self.returncode if self.returncode is not None else (self.proc.poll() if self.proc else None)
        flow = "\n".join("  " + m.summary() for m in self.messages()[-60:]) or "  (no messages)"
        return (
            f"--- SIPp {self.name}: exit {code} ({SIPP_EXIT.get(code, '?') if code is not None else 'running'})\n"
            f"command: {' '.join(self.command())}\n"
            f"--- message flow ({self.message_file})\n{flow}\n"
            f"--- errors ({self.error_file})\n{tail(self.error_file)}\n"
            f"--- actions log\n{tail(self.log_file)}\n"
            f"--- screen ({self.screen_file})\n{tail(self.screen_file, 25)}"
        )


def _select(messages: list[SipMessage], what: str | int | None) -> list[SipMessage]:
    if what is None:
        return messages
    if isinstance(what, int):
        return [m for m in messages if m.status == what]
    return [m for m in messages if m.method == what.upper()]


def assert_success(*runs: Sipp) -> None:
    """Every run exited 0; otherwise fails with all runs' traces."""
    if all(run.returncode == 0 for run in runs):
        return
    raise AssertionError(
        "SIPp runs: " + ", ".join(f"{run.name}={run.returncode}" for run in runs) + "\n" + "\n".join(r.report() for r in runs)
    )


def run_pair(uas: Sipp, uac: Sipp) -> tuple[int, int]:
    """Starts the UAS, runs the UAC to its end, then waits for the UAS."""
    uas.start()
    try:
        uac.run()
    finally:
        try:
            uas.wait()
        finally:
            uas.stop()
    return uas.returncode, uac.returncode


# --------------------------------------------------------------------------------------------
# Digest (RFC 7616 / RFC 2617)

_HASHES: dict[str, Callable[[bytes], Any]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def digest_response(
    *, algorithm: str, username: str, realm: str, password: str, method: str, uri: str, nonce: str,
    qop: str | None = None, nc: str | None = None, cnonce: str | None = None,
) -> str:
    h = lambda text: _HASHES[algorithm.upper()](text.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return h(f"{ha1}:{nonce}:{ha2}")


def parse_digest(value: str) -> dict[str, str]:
    scheme, _, rest = value.strip().partition(" ")
    assert scheme.lower() == "digest", f"not a Digest credential: {value!r}"
    params = {}
    for match in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        params[match.group(1).lower()] = match.group(3) if match.group(3) is not None else match.group(2)
    return params


def check_digest(
    request: SipMessage, *, header: str, username: str, password: str, realm: str, nonce: str,
    algorithm: str, qop: str | None,
) -> dict[str, str]:
    """Asserts `request` carries a correct Digest credential for the given challenge."""
    value = request.header(header)
    assert value, f"{request.start_line}: no {header} header\n{request.text}"
    params = parse_digest(value)
    problems = []
    for name, expected in (("username", username), ("realm", realm), ("nonce", nonce)):
        if params.get(name) != expected:
            problems.append(f"{name}={params.get(name)!r}, expected {expected!r}")
    got_algorithm = params.get("algorithm", "MD5")
    if got_algorithm.upper() != algorithm.upper():
        problems.append(f"algorithm={got_algorithm!r}, expected {algorithm!r}")
    if params.get("uri") != request.request_uri:
        problems.append(f"uri={params.get('uri')!r} differs from the Request-URI {request.request_uri!r}")
    if qop:
        if params.get("qop") != qop:
            problems.append(f"qop={params.get('qop')!r}, expected {qop!r}")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", params.get("nc", "")):
            problems.append(f"nc={params.get('nc')!r} is not 8 hex digits")
        if not params.get("cnonce"):
            problems.append("no cnonce")
    if not problems:
        expected_response = digest_response(
            algorithm=algorithm, username=username, realm=realm, password=password, method=request.method,
            uri=params["uri"], nonce=nonce, qop=params.get("qop") if qop else None, nc=params.get("nc"),
            cnonce=params.get("cnonce"),
        )
        if params.get("response", "").lower() != expected_response:
            problems.append(f"response={params.get('response')!r}, expected {expected_response!r}")
    assert not problems, f"bad {header}: " + "; ".join(problems) + f"\n{value}"
    return params


# --------------------------------------------------------------------------------------------
# Gateway set-up and call records


def create_trunk(admin: Client, **body: Any) -> dict[str, Any]:
    response = admin.post("/v1/trunks", body)
    assert response.status_code == 201, describe(response)
    trunk = response.json()
    assert str(trunk.get("id", "")).startswith("trk_"), f"trunk id is not trk_…: {trunk}"
    assert "password" not in trunk, f"trunk returned its password: {trunk}"
    return trunk


def delete_trunk(admin: Client, trunk_id: str) -> None:
    response = admin.delete(f"/v1/trunks/{trunk_id}")
    assert response.status_code in (200, 204, 404), describe(response)


def get_call(admin: Client, call_id: str) -> dict[str, Any]:
    response = admin.get(f"/v1/calls/{call_id}")
    assert response.status_code == 200, describe(response)
    return response.json()


def wait_for_call(admin: Client, call_id: str, statuses: Iterable[str] = FINAL_STATUSES, timeout: float = 10) -> dict[str, Any]:
    """Polls GET /v1/calls/{id} until its status is one of `statuses`."""
    wanted = set(statuses)
    deadline = time.monotonic() + timeout
    call = get_call(admin, call_id)
    while call.get("status") not in wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        call = get_call(admin, call_id)
    assert call.get("status") in wanted, f"call {call_id} is {call.get('status')!r} after {timeout}s, expected one of {sorted(wanted)}: {call}"
    return call


def list_calls(admin: Client, **params: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        query = {"limit": 100, **params}
        if after:
            query["after"] = after
        response = admin.get("/v1/calls", params=query)
        assert response.status_code == 200, describe(response)
        page = response.json()
        assert set(page) >= {"data", "nextCursor"}, f"calls page lacks data/nextCursor: {page}"
        calls.extend(page["data"])
        after = page["nextCursor"]
        if not after:
            return calls
    raise AssertionError("GET /v1/calls pagination did not end")


def wait_for_listed_call(admin: Client, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10, **params: Any) -> dict[str, Any]:
    """Polls GET /v1/calls (with filters `params`) until a call satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        matches = [call for call in list_calls(admin, **params) if predicate(call)]
        if matches:
            return matches[-1]
        if time.monotonic() >= deadline:
            raise AssertionError(f"no call matching the test in GET /v1/calls {params} within {timeout}s: {list_calls(admin)[-5:]}")
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# SIP text, for scripted peers that speak SIP over a WebSocket


def sip_text(lines: list[str], body: str = "") -> str:
    """A SIP message from its start line and headers, with Content-Length and the body."""
    return "\r\n".join(lines + [f"Content-Length: {len(body.encode())}", "", body])


def first_line(text: str) -> str:
    return text.split("\r\n", 1)[0]


def header(text: str, name: str) -> str | None:
    """The first value of header `name` (long form) in a SIP message's text."""
    for line in text.split("\r\n")[1:]:
        if not line:
            break
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def body(text: str) -> str:
    return text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
