"""Limits of the signalling plane: the maximum call duration, and the refusal budget for
sources that match no trunk (so the gateway cannot be used to reflect traffic)."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest

from sip_support import LOCALHOST, Sipp, assert_success, create_trunk, run_pair, sipp_binary, wait_for_call
from support import Client, ServerProcess

# Two signalling threads whatever the machine: an unknown source's requests spread over both by
# Call-ID, and the refusal budget is still the process's, not each thread's.
SERVER_ARGS = ["--session-rate-limit", "10000", "--max-call-duration", "1", "--sip-threads", "2"]


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


def options(port: int, local: int) -> bytes:
    return (
        f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{uuid.uuid4().hex};rport\r\n"
        f"From: <sip:probe@127.0.0.1>;tag={uuid.uuid4().hex[:10]}\r\n"
        f"To: <sip:probe@127.0.0.1:{port}>\r\n"
        f"Call-ID: {uuid.uuid4().hex}@127.0.0.1\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_unknown_sources_get_a_bounded_number_of_refusals(server: ServerProcess) -> None:
    # No trunk admits 127.0.0.1 yet in this module's server.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        local = sock.getsockname()[1]
        for _ in range(60):
            sock.sendto(options(server.sip_port, local), (LOCALHOST, server.sip_port))
        sock.settimeout(1.0)
        answers = []
        try:
            while True:
                data, _ = sock.recvfrom(65535)
                answers.append(data.split(b"\r\n", 1)[0])
        except socket.timeout:
            pass
    assert answers, "an unknown source got no answer at all"
    assert all(line == b"SIP/2.0 403 Forbidden" for line in answers), answers[:3]
    assert len(answers) <= 15, f"{len(answers)} refusals for 60 requests in under a second: the budget is 10 a second"


def test_calls_end_at_the_maximum_duration(tmp_path: Path, server: ServerProcess, admin: Client) -> None:
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=15)
    callcentre = create_trunk(admin, name="callcentre", uri=f"sip:127.0.0.1:{uas.port}")
    create_trunk(admin, name="pbx", uri="sip:127.0.0.1:9", inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})
    uac = Sipp("uac_callee_bye.xml", tmp_path, name="uac", timeout_s=15, remote=(LOCALHOST, server.sip_port))
    started = time.monotonic()
    run_pair(uas, uac)
    assert_success(uas, uac)
    elapsed = time.monotonic() - started
    assert uac.received("BYE") and uas.received("BYE"), "both legs must get a BYE from the gateway"
    call = wait_for_call(admin, uas.received("INVITE")[0].header("X-Switchboard-Call-Id"), ["completed"])
    assert call["hangupBy"] == "system" and "maximum" in call["hangupCause"], call
    assert 0.9 <= call["durationSeconds"] <= 3.0 and elapsed < 10, (call["durationSeconds"], elapsed)
