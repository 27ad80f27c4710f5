"""The B2BUA's SIP side against SIPp, over UDP and TCP on 127.0.0.1.

Every test: a SIPp UAS plays the call centre, reachable through trunk "callcentre"
(`uri: sip:127.0.0.1:<uas port>`); trunk "pbx" accepts INVITEs from 127.0.0.1 and sends them to
"callcentre"; a SIPp UAC plays the PBX and calls the gateway's SIP port. Both SIPp runs must exit
0 (their scenarios fail on any unexpected message, missing header or timeout), then the test
checks both legs from SIPp's message traces (topology hiding, X-Switchboard-Call-Id, Call-Info,
digest credentials) and the call record over REST, polling with a deadline.

The scenarios themselves are checked SIPp-to-SIPp in test_sip_scenarios.py. The server runs one
signalling thread (the default is one per core); test_sip_threads.py runs the main scenarios
again with two.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from sip_support import (
    FINAL_STATUSES,
    LOCALHOST,
    Sipp,
    assert_success,
    check_digest,
    create_trunk,
    delete_trunk,
    list_calls,
    run_pair,
    sipp_binary,
    wait_for_call,
    wait_for_listed_call,
)
from support import Client, ServerProcess, describe, free_port, parse_time

SERVER_ARGS = ["--session-rate-limit", "10000", "--sip-threads", "1"]

# Expectations the contract leaves open are named here (see the module's report/README).
REJECT_HANGUP_BY = "callee"  # hangupBy when the callee refuses the call
CANCEL_SIP_CODES = (487, None)  # sipCode of a call cancelled before the answer

# callee's final response -> (what the caller gets, call status)
FAILURE_MAPPING = {
    486: (486, "busy"),
    600: (600, "busy"),
    603: (603, "failed"),
    480: (480, "no-answer"),
    408: (480, "no-answer"),
    404: (404, "failed"),
    500: (502, "failed"),
    503: (503, "failed"),
    504: (502, "failed"),
}

SIPP_TIMEOUT = 10  # seconds; every SIPp run is bounded by this (-timeout, counted as a failure)
ANY = object()


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


@pytest.fixture(scope="module")
def sip_port(server: ServerProcess) -> int:
    """The gateway's SIP port; fails every test quickly if nothing answers SIP on it."""
    if not _answers_sip(server.sip_port):
        pytest.fail(f"the gateway does not answer SIP (OPTIONS over UDP) on 127.0.0.1:{server.sip_port}")
    return server.sip_port


def _answers_sip(port: int, timeout: float = 4.0) -> bool:
    """Sends a bare OPTIONS over UDP (retransmitted as T1 doubles) and waits for any response."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        local = sock.getsockname()[1]
        branch = "z9hG4bK-probe-" + uuid.uuid4().hex
        request = (
            f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\n"
            f"From: <sip:probe@127.0.0.1>;tag={uuid.uuid4().hex[:10]}\r\n"
            f"To: <sip:probe@127.0.0.1:{port}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        deadline = time.monotonic() + timeout
        wait = 0.5
        while time.monotonic() < deadline:
            sock.sendto(request, (LOCALHOST, port))
            sock.settimeout(min(wait, max(0.01, deadline - time.monotonic())))
            try:
                data, _ = sock.recvfrom(65535)
                if data.startswith(b"SIP/2.0 ") and branch.encode() in data:
                    return True
            except socket.timeout:
                pass
            wait *= 2
    return False


@dataclass
class Trunks:
    callcentre: dict[str, Any]
    pbx: dict[str, Any]


@pytest.fixture
def trunks(admin: Client) -> Iterator[Any]:
    """Factory: `trunks(uas_port, ...)` creates "callcentre" (to the UAS) and "pbx" (inbound from
    127.0.0.1, destination "callcentre"); both are deleted at the end of the test."""
    created: list[str] = []

    def make(uas_port: int, *, transport: str = "udp", username: str | None = None, password: str | None = None,
             allowed_sources: tuple[str, ...] = ("127.0.0.1/32",)) -> Trunks:
        suffix = uuid.uuid4().hex[:6]
        callcentre_body: dict[str, Any] = {
            "name": f"callcentre {suffix}", "uri": f"sip:127.0.0.1:{uas_port}", "transport": transport,
        }
        if username is not None:
            callcentre_body.update(username=username, password=password)
        callcentre = create_trunk(admin, **callcentre_body)
        created.append(callcentre["id"])
        pbx = create_trunk(
            admin, name=f"pbx {suffix}", uri="sip:127.0.0.1:9", transport="udp",
            inbound={"allowedSources": list(allowed_sources), "destination": callcentre["id"]},
        )
        created.insert(0, pbx["id"])
        return Trunks(callcentre, pbx)

    yield make
    for trunk_id in created:
        delete_trunk(admin, trunk_id)


def uas_for(tmp_path: Path, scenario: str, transport: str = "udp", **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uas", transport=transport, **{"timeout_s": SIPP_TIMEOUT, **options})


def uac_for(tmp_path: Path, scenario: str, sip_port: int, transport: str = "udp", **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uac", transport=transport, remote=(LOCALHOST, sip_port),
                **{"timeout_s": SIPP_TIMEOUT, **options})


# --------------------------------------------------------------------------------------------
# Checks over both legs


def _address(port: int) -> re.Pattern[str]:
    return re.compile(rf"127\.0\.0\.1:{port}(?!\d)")


def check_outbound_invite(server: ServerProcess, uac: Sipp, uas: Sipp) -> str:
    """The INVITE the call centre got: the Switchboard headers, and nothing of the caller's leg
    (Call-ID, From tag, Via, Contact); the caller's leg likewise shows nothing of the callee's.
    Returns the call id."""
    uac_invite = uac.sent("INVITE")[0]
    invites = uas.received("INVITE")
    assert invites, "the call centre received no INVITE\n" + uas.report()
    uas_invite = invites[0]

    ids = uas_invite.header_values("X-Switchboard-Call-Id")
    assert len(ids) == 1 and re.fullmatch(r"cal_[A-Za-z0-9_-]+", ids[0]), (
        f"expected one X-Switchboard-Call-Id: cal_…, got {ids}\n{uas_invite.text}"
    )
    call_id = ids[0]
    info = [re.sub(r"\s*;\s*", ";", v) for v in uas_invite.header_values("Call-Info")]
    expected_info = f"<http://127.0.0.1:{server.http_port}/v1/calls/{call_id}>;purpose=info"
    assert expected_info in info, f"expected Call-Info {expected_info}, got {info}\n{uas_invite.text}"

    assert uas_invite.call_id != uac_invite.call_id, "the callee leg reuses the caller's Call-ID"
    leaks = {
        "the caller's Call-ID": uac_invite.call_id,
        "the caller's From tag": uac_invite.tag("from"),
        "the caller's Via branch": uac_invite.branch,
    }
    for what, needle in leaks.items():
        assert needle and needle not in uas_invite.text, f"the callee's INVITE contains {what} ({needle})\n{uas_invite.text}"
    assert not _address(uac.port).search(uas_invite.text), (
        f"the callee's INVITE contains the caller's address 127.0.0.1:{uac.port} (Via/Contact)\n{uas_invite.text}"
    )
    vias = uas_invite.vias()
    assert len(vias) == 1 and re.search(r";\s*branch=z9hG4bK", vias[0]), f"expected the gateway's own single Via, got {vias}"
    assert uas_invite.header("contact"), "the callee's INVITE has no Contact"

    for message in uac.received():
        assert not _address(uas.port).search(message.text), (
            f"the caller received the callee's address 127.0.0.1:{uas.port}\n{message.text}"
        )
        assert uas_invite.call_id not in message.text, f"the caller received the callee leg's Call-ID\n{message.text}"
    return call_id


def check_call(
    admin: Client, call_id: str, *, status: str, trunks: Trunks, sip_code: Any = ANY, hangup_by: Any = ANY,
    answered: bool,
) -> dict[str, Any]:
    call = wait_for_call(admin, call_id, statuses=FINAL_STATUSES)
    problems = []
    if call.get("id") != call_id:
        problems.append(f"id {call.get('id')!r}")
    if call.get("status") != status:
        problems.append(f"status {call.get('status')!r}, expected {status!r}")
    if sip_code is not ANY:
        allowed = sip_code if isinstance(sip_code, tuple) else (sip_code,)
        if call.get("sipCode") not in allowed:
            problems.append(f"sipCode {call.get('sipCode')!r}, expected {' or '.join(map(str, allowed))}")
    if hangup_by is not ANY and call.get("hangupBy") != hangup_by:
        problems.append(f"hangupBy {call.get('hangupBy')!r}, expected {hangup_by!r}")
    source = call.get("source") or {}
    if source.get("type") != "trunk" or source.get("trunkId") != trunks.pbx["id"]:
        problems.append(f"source {source}, expected type trunk, trunkId {trunks.pbx['id']}")
    for name in ("from", "to"):
        if not isinstance(call.get(name), str) or not call.get(name):
            problems.append(f"no `{name}`")
    created, ended = parse_time(call.get("createdAt")), parse_time(call.get("endedAt"))
    if ended < created:
        problems.append("endedAt before createdAt")
    if answered:
        answered_at = parse_time(call.get("answeredAt"))
        if not created <= answered_at <= ended:
            problems.append("answeredAt not between createdAt and endedAt")
        duration = call.get("durationSeconds")
        if not isinstance(duration, (int, float)) or not 0 <= duration < 60:
            problems.append(f"durationSeconds {duration!r}")
    elif call.get("answeredAt") is not None:
        problems.append(f"answeredAt {call.get('answeredAt')!r} on a call that was never answered")
    assert not problems, f"call {call_id}: " + "; ".join(problems) + f"\n{call}"
    listed = [c["id"] for c in list_calls(admin, status=status)]
    assert call_id in listed, f"GET /v1/calls?status={status} does not list {call_id}"
    return call


def statuses(run: Sipp) -> list[int | str]:
    return [m.status or m.method for m in run.received()]


def completed_calls_of(admin: Client, t: Any, count: int, deadline_s: float = 15) -> list[dict[str, Any]]:
    """The calls that came in on trunk pair `t`'s PBX trunk, once `count` of them are recorded
    and all completed, or whatever there is at the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        mine = [c for c in list_calls(admin) if (c.get("source") or {}).get("trunkId") == t.pbx["id"]]
        if len(mine) >= count and all(c.get("status") == "completed" for c in mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.1)


# --------------------------------------------------------------------------------------------
# Calls


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_call_bridged_and_caller_hangs_up(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int,
                                          trunks, transport: str) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml", transport)
    t = trunks(uas.port, transport=transport)
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, transport, duration_ms=200)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    assert 180 in statuses(uac), f"the callee's 180 was not relayed: {statuses(uac)}"
    assert uas.received("BYE"), "the caller's BYE was not relayed"
    call = check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="caller", answered=True)
    assert call["durationSeconds"] >= 0.1, f"durationSeconds {call['durationSeconds']} for a 0.2 s call"


def test_callee_hangs_up(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_callee_bye.xml", duration_ms=200)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_callee_bye.xml", sip_port)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    bye = uac.received("BYE")[0]
    assert bye.call_id == uac.sent("INVITE")[0].call_id and bye.tag("to") == uac.sent("INVITE")[0].tag("from")
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="callee", answered=True)


def test_caller_cancels_while_ringing(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_cancel.xml")
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_cancel.xml", sip_port, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    check_call(admin, call_id, status="canceled", trunks=t, sip_code=CANCEL_SIP_CODES, hangup_by="caller", answered=False)


@pytest.mark.parametrize("callee_code", list(FAILURE_MAPPING))
def test_callee_failure_mapping(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks,
                                callee_code: int) -> None:
    caller_code, status = FAILURE_MAPPING[callee_code]
    uas = uas_for(tmp_path, "uas_reject.xml", sets={"reject_code": str(callee_code)})
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_reject.xml", sip_port, sets={"expected": str(caller_code)})
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    check_call(admin, call_id, status=status, trunks=t, sip_code=callee_code, hangup_by=REJECT_HANGUP_BY, answered=False)


def test_reinvite_from_caller_is_relayed(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_reinvite.xml")
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_reinvite.xml", sip_port, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    first, second = uas.received("INVITE")[:2]
    assert second.call_id == first.call_id and second.cseq[0] > first.cseq[0], "the re-INVITE is not in the callee's dialog"
    assert second.tag("to") == uas.sent(200)[0].tag("to")
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="caller", answered=True)


def test_reinvite_from_callee_is_relayed(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_send_reinvite.xml", duration_ms=100)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_answer_reinvite.xml", sip_port)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    reinvite = uac.received("INVITE")[0]
    assert reinvite.call_id == uac.sent("INVITE")[0].call_id, "the re-INVITE is not in the caller's dialog"
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="caller", answered=True)


@pytest.mark.parametrize(
    "algorithm,qop", [("MD5", "auth"), ("MD5", None), ("SHA-256", "auth")], ids=["md5-qop", "md5-rfc2069", "sha256-qop"]
)
def test_digest_challenge_from_callee_trunk(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int,
                                            trunks, algorithm: str, qop: str | None) -> None:
    realm, nonce, username, password = "callcentre.test", uuid.uuid4().hex, "switchboard", "pw-" + uuid.uuid4().hex[:12]
    uas = uas_for(tmp_path, "uas_auth.xml", keys={
        "realm": realm, "nonce": nonce, "algorithm": algorithm, "challenge_qop": f', qop="{qop}"' if qop else "",
    })
    t = trunks(uas.port, username=username, password=password)
    assert "password" not in get_trunk(admin, t.callcentre["id"]), "GET /v1/trunks/{id} returned the password"
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    first, second = uas.received("INVITE")[:2]
    assert second.call_id == first.call_id and second.tag("from") == first.tag("from"), "the retry is not the same call"
    assert second.cseq[0] > first.cseq[0], f"the retry's CSeq {second.cseq} does not increase on {first.cseq}"
    assert any(ack.cseq == (first.cseq[0], "ACK") for ack in uas.received("ACK")), "the 407 was not ACKed"
    check_digest(second, header="Proxy-Authorization", username=username, password=password, realm=realm,
                 nonce=nonce, algorithm=algorithm, qop=qop)
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="caller", answered=True)


def get_trunk(admin: Client, trunk_id: str) -> dict[str, Any]:
    response = admin.get(f"/v1/trunks/{trunk_id}")
    assert response.status_code == 200, describe(response)
    return response.json()


def test_caller_cannot_inject_switchboard_headers(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int,
                                                  trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")
    trunks(uas.port)
    spoofed = "cal_spoofed0000000000"
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, keys={"caller_headers": (
        f"X-Switchboard-Call-Id: {spoofed}\r\n"
        f"Call-Info: <http://127.0.0.1:{server.http_port}/v1/calls/{spoofed}>;purpose=info"
    )})
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)  # exactly one X-Switchboard-Call-Id
    assert call_id != spoofed and spoofed not in uas.received("INVITE")[0].text


# --------------------------------------------------------------------------------------------
# Hang-up through the API


def test_api_hangup_of_answered_call(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_callee_bye.xml", sip_port)
    uas.start()
    uac.start()
    try:
        call = wait_for_listed_call(
            admin, lambda c: (c.get("source") or {}).get("trunkId") == t.pbx["id"] and c.get("status") == "in-progress",
        )
        response = admin.post(f"/v1/calls/{call['id']}/hangup")
        assert response.status_code == 200, describe(response)
        assert response.json().get("id") == call["id"], describe(response)
    finally:
        uac.wait()
        uas.wait()
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    assert call_id == call["id"]
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="api", answered=True)


def test_api_hangup_while_ringing_cancels(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_cancel.xml")
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_reject.xml", sip_port, sets={"expected": "487"})
    uas.start()
    uac.start()
    try:
        call = wait_for_listed_call(
            admin, lambda c: (c.get("source") or {}).get("trunkId") == t.pbx["id"] and c.get("status") == "ringing",
        )
        response = admin.post(f"/v1/calls/{call['id']}/hangup")
        assert response.status_code == 200, describe(response)
    finally:
        uac.wait()
        uas.wait()
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    check_call(admin, call_id, status="canceled", trunks=t, sip_code=CANCEL_SIP_CODES, hangup_by="api", answered=False)


# --------------------------------------------------------------------------------------------
# Out-of-dialog requests, unknown sources, unknown methods


def test_options_gets_200(tmp_path: Path, sip_port: int, trunks) -> None:
    trunks(free_port())
    uac = uac_for(tmp_path, "uac_options.xml", sip_port)
    uac.run()
    assert_success(uac)


def test_unknown_method_outside_dialog(tmp_path: Path, sip_port: int, trunks) -> None:
    trunks(free_port())
    uac = uac_for(tmp_path, "uac_unknown_method.xml", sip_port)
    uac.run()
    assert_success(uac)


def test_unknown_method_inside_dialog(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")  # fails if FOO reaches the callee
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_unknown_method_in_dialog.xml", sip_port)
    run_pair(uas, uac)
    assert_success(uas, uac)
    call_id = check_outbound_invite(server, uac, uas)
    check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="caller", answered=True)


def test_invite_from_unknown_source_is_forbidden(tmp_path: Path, sip_port: int, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")  # never started: nothing must reach it
    trunks(uas.port, allowed_sources=("127.0.0.2/32",))  # a CIDR only; no traffic goes there
    uac = uac_for(tmp_path, "uac_reject.xml", sip_port, sets={"expected": "403"})
    uac.run()
    assert_success(uac)


# --------------------------------------------------------------------------------------------
# Loss


@pytest.mark.parametrize("lossy", ["caller-leg", "callee-leg"])
def test_lossy_udp_ten_calls(tmp_path: Path, admin: Client, sip_port: int, trunks, lossy: str) -> None:
    """10 calls at 5/s with SIPp dropping 10 % of the messages it sends and receives on one leg:
    the gateway's retransmissions (and SIPp's) must complete every call."""
    uas = uas_for(tmp_path, "uas_answer_at_once.xml", calls=10, lost=10 if lossy == "callee-leg" else None, timeout_s=40)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, calls=10, rate=5, rate_period_ms=1000,
                  lost=10 if lossy == "caller-leg" else None, timeout_s=40)
    run_pair(uas, uac)
    assert_success(uas, uac)
    mine = completed_calls_of(admin, t, 10)
    assert len(mine) == 10, f"{len(mine)} calls recorded for 10 placed: {[c.get('status') for c in mine]}"
    bad = [c for c in mine if c.get("status") != "completed" or c.get("hangupBy") != "caller"]
    assert not bad, f"calls not completed by the caller: {bad}"


# --------------------------------------------------------------------------------------------
# State after calls


def _sip_gauges(server: ServerProcess) -> dict[str, float]:
    """The signalling cores' gauges from /metrics, summed over cores (and sides)."""
    text = requests.get(server.url + "/metrics", timeout=5).text
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^(switchboard_sip_[a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$", line)
        if match:
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(3))
    return totals


def _idle(gauges: dict[str, float]) -> bool:
    return gauges.get("switchboard_sip_calls") == 0 and gauges.get("switchboard_sip_call_index_entries") == 0


def _gauges_once_idle(server: ServerProcess, deadline_s: float = 8.0) -> dict[str, float]:
    """The gauges as soon as they show no call and no index entry, or the last read at the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        gauges = _sip_gauges(server)
        if _idle(gauges) or time.monotonic() > deadline:
            return gauges
        time.sleep(0.2)


def test_ended_calls_leave_no_state_behind(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int,
                                           trunks) -> None:
    """Ten answered calls, each hung up by the caller: once they have ended, the core holds no
    call and no index entry for them (transactions may still wait out their timers). Last in
    the module: every call of the tests before it (cancelled, refused, re-INVITEd, hung up over
    the API, lossy) must have left nothing behind either."""
    before = _gauges_once_idle(server)
    for name in ("switchboard_sip_calls", "switchboard_sip_call_index_entries", "switchboard_sip_transactions"):
        assert name in before, f"{name} missing from /metrics: {before}"
    assert _idle(before), f"state left by the calls of earlier tests: {before}"
    uas = uas_for(tmp_path, "uas_answer_at_once.xml", calls=10)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, calls=10, rate=10, rate_period_ms=1000)
    run_pair(uas, uac)
    assert_success(uas, uac)
    mine = completed_calls_of(admin, t, 10)
    assert len(mine) == 10 and all(c.get("status") == "completed" for c in mine), [c.get("status") for c in mine]
    time.sleep(1.2)  # past the 1 s sampling period: every read from here on was sampled after the calls
    after = _gauges_once_idle(server)
    assert after["switchboard_sip_transactions"] > before["switchboard_sip_transactions"], \
        f"the calls' transactions (waiting out Timer J/L) are not counted: {before} -> {after}"
    assert _idle(after), f"calls or index entries outlived their calls: {before} -> {after}"
