"""`--unknown-source drop`: SIP requests from sources that no trunk admits get no answer at all
(the default, `reject`, answers 403 within a budget: test_sip_limits.py)."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid

from sip_support import LOCALHOST, create_trunk, delete_trunk
from support import Client, ServerProcess, server_binary

SERVER_ARGS = ["--session-rate-limit", "10000", "--unknown-source", "drop"]


def request(method: str, port: int, local: int, *, to_tag: str | None = None) -> bytes:
    to = f"<sip:probe@127.0.0.1:{port}>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{uuid.uuid4().hex};rport\r\n"
        f"From: <sip:probe@127.0.0.1>;tag={uuid.uuid4().hex[:10]}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {uuid.uuid4().hex}@127.0.0.1\r\n"
        f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:probe@127.0.0.1:{local}>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def answers(port: int, messages: list[str], wait: float) -> list[bytes]:
    """Sends the requests from one socket and collects the status lines that come back in `wait` s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        local = sock.getsockname()[1]
        for method in messages:
            sock.sendto(request(method, port, local), (LOCALHOST, port))
        sock.sendto(b"NOT SIP AT ALL\r\n\r\n", (LOCALHOST, port))
        lines = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = sock.recvfrom(65535)
                lines.append(data.split(b"\r\n", 1)[0])
            except socket.timeout:
                break
        return lines


def admitted_options_answer(port: int, timeout: float = 5) -> bytes | None:
    """One OPTIONS, retransmitted until an answer arrives."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        message = request("OPTIONS", port, sock.getsockname()[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.sendto(message, (LOCALHOST, port))
            sock.settimeout(0.5)
            try:
                return sock.recvfrom(65535)[0].split(b"\r\n", 1)[0]
            except socket.timeout:
                continue
    return None


def test_requests_from_unknown_sources_are_dropped(server: ServerProcess, admin: Client) -> None:
    # INVITE (which would otherwise get 100 and 403), OPTIONS, a CANCEL that matches nothing
    # (otherwise 481), a BYE (403) and an unparsable datagram: all unanswered.
    got = answers(server.sip_port, ["INVITE", "OPTIONS", "CANCEL", "BYE"], wait=1.5)
    assert got == [], f"an unknown source got answers in drop mode: {got}"

    # The same source, once a trunk admits it, is answered: the silence was the policy.
    trunk = create_trunk(admin, name="pbx", uri="sip:127.0.0.1:9", inbound={"allowedSources": ["127.0.0.1/32"], "destination": "sip:127.0.0.1:9"})
    try:
        assert admitted_options_answer(server.sip_port) == b"SIP/2.0 200 OK"
    finally:
        delete_trunk(admin, trunk["id"])


def test_unknown_source_flag_is_validated(tmp_path) -> None:
    result = subprocess.run(
        [str(server_binary()), "serve", "--data-dir", str(tmp_path), "--unknown-source", "ignore"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0 and "--unknown-source" in result.stderr, (result.returncode, result.stderr[-500:])


def test_unknown_source_is_read_from_the_environment(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SWITCHBOARD_UNKNOWN_SOURCE": "ignore"}
    result = subprocess.run(
        [str(server_binary()), "serve", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=30, env=env,
    )
    assert result.returncode != 0 and "--unknown-source" in result.stderr, (result.returncode, result.stderr[-500:])
