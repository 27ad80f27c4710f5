"""SIP extensions through the B2BUA, against SIPp: reliable provisional responses (RFC 3262) from
the call centre, and session timers (RFC 4028) on both legs.

As in test_sip_b2bua.py: a SIPp UAS plays the call centre behind trunk "callcentre", trunk "pbx"
admits 127.0.0.1 and sends its calls there, a SIPp UAC plays the PBX. Both SIPp runs must exit 0
(their scenarios check the headers that matter and fail on any unexpected message); the test
then checks what only both traces together show, and the call record over REST.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from sip_support import (
    LOCALHOST,
    Sipp,
    SipMessage,
    assert_success,
    create_trunk,
    delete_trunk,
    parse_message_log,
    run_pair,
    sipp_binary,
    wait_for_call,
)
from support import Client, ServerProcess

SIPP_TIMEOUT = 15


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


@pytest.fixture
def trunks(admin: Client) -> Iterator[Any]:
    """`trunks(uas_port)`: trunk "callcentre" to the UAS, and "pbx" admitting 127.0.0.1 with
    destination "callcentre"; both deleted after the test. Returns the pbx trunk."""
    created: list[str] = []

    def make(uas_port: int) -> dict[str, Any]:
        suffix = uuid.uuid4().hex[:6]
        callcentre = create_trunk(admin, name=f"callcentre {suffix}", uri=f"sip:127.0.0.1:{uas_port}", transport="udp")
        pbx = create_trunk(admin, name=f"pbx {suffix}", uri="sip:127.0.0.1:9", transport="udp",
                           inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})
        created.extend([pbx["id"], callcentre["id"]])
        return pbx

    yield make
    for trunk_id in created:
        delete_trunk(admin, trunk_id)


def uas_for(tmp_path: Path, scenario: str, **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uas", **{"timeout_s": SIPP_TIMEOUT, **options})


def uac_for(tmp_path: Path, scenario: str, server: ServerProcess, **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uac", remote=(LOCALHOST, server.sip_port), **{"timeout_s": SIPP_TIMEOUT, **options})


def timed(run: Sipp) -> list[tuple[dt.datetime, SipMessage]]:
    """The run's messages with the time SIPp logged each one."""
    text = run.message_file.read_text(errors="replace") if run.message_file.exists() else ""
    result = []
    for match in re.finditer(r"-{30,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(.*?)(?=\n-{30,} \d{4}-|\Z)", text, re.S):
        for message in parse_message_log("-" * 40 + "\n" + match.group(2)):
            result.append((dt.datetime.fromisoformat(match.group(1)), message))
    return result


def call_id_of(uas: Sipp) -> str:
    invites = uas.received("INVITE")
    assert invites, "the call centre received no INVITE\n" + uas.report()
    value = invites[0].header("X-Switchboard-Call-Id")
    assert value, invites[0].text
    return value


# --------------------------------------------------------------------------------------------
# 100rel / PRACK


def test_reliable_provisionals_are_pracked_once_and_relayed_unreliably(
    tmp_path: Path, server: ServerProcess, admin: Client, trunks
) -> None:
    uas = uas_for(tmp_path, "uas_100rel.xml")
    trunks(uas.port)
    uac = uac_for(tmp_path, "uac_prack_481.xml", server, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)

    invite = uas.received("INVITE")[0]
    assert re.search(r"\b100rel\b", invite.header("supported") or ""), f"no Supported: 100rel in\n{invite.text}"
    assert re.search(r"\btimer\b", invite.header("supported") or ""), f"no Supported: timer in\n{invite.text}"

    pracks = uas.received("PRACK")
    # One PRACK per RSeq (1 and 2); the first was left unanswered for 1.2 s, so it also came
    # again as a retransmission of the same transaction (same branch and CSeq).
    by_cseq: dict[int, list[SipMessage]] = {}
    for prack in pracks:
        by_cseq.setdefault(prack.cseq[0], []).append(prack)
    assert len(by_cseq) == 2, f"expected PRACKs for RSeq 1 and 2 only, got {[(p.cseq, p.header('rack')) for p in pracks]}"
    first, second = (by_cseq[number] for number in sorted(by_cseq))
    assert [re.sub(r"\s+", " ", p.header("rack") or "") for p in (first[0], second[0])] == ["1 1 INVITE", "2 1 INVITE"]
    assert len(first) >= 2 and len({p.branch for p in first}) == 1, (
        f"the unanswered PRACK was not retransmitted in its transaction: {[(p.branch, p.cseq) for p in first]}"
    )
    assert len(second) == 1, f"the answered PRACK came {len(second)} times"
    ringing = uas.sent(180)[0]
    contact = re.search(r"<([^>]+)>", ringing.header("contact") or "")
    for prack in (first[0], second[0]):
        assert prack.call_id == invite.call_id and prack.tag("from") == invite.tag("from")
        assert prack.tag("to") == ringing.tag("to"), "PRACK not in the early dialog (To tag)"
        assert contact and prack.request_uri == contact.group(1), f"PRACK Request-URI {prack.request_uri}, Contact {contact}"
        assert prack.cseq[0] > invite.cseq[0]

    # The caller: each provisional once (no retransmission or out-of-order one relayed), none
    # reliable, the early media SDP in the 183 and again in the 200 (whose callee 2xx had none).
    assert len(uac.received(180)) == 1, [m.summary() for m in uac.received()]
    early = uac.received(183)
    assert len(early) == 1 and "m=audio" in early[0].body, [m.summary() for m in uac.received()]
    for message in uac.received(180) + early:
        assert not message.header("rseq") and "100rel" not in (message.header("require") or ""), message.text
    answer = uac.received(200)[0]
    assert "m=audio" in answer.body and answer.body.strip() == early[0].body.strip(), answer.text
    assert uac.received(481), "the caller's stray PRACK did not get 481"
    assert not [m for m in uas.received() if m.method == "PRACK" and m.header("rack") and m.cseq[0] > second[0].cseq[0]]

    call = wait_for_call(admin, call_id_of(uas), ["completed"])
    assert call["hangupBy"] == "caller" and call["sipCode"] == 200, call


# --------------------------------------------------------------------------------------------
# Session timers


def refresh_times(uas: Sipp, method: str) -> list[float]:
    """Seconds from the ACK of the answer to each refresh the UAS received."""
    messages = [(t, m) for t, m in timed(uas) if m.direction == "received"]
    acks = [t for t, m in messages if m.method == "ACK"]
    assert acks, "no ACK for the answer\n" + uas.report()
    start = acks[0]
    refreshes = [t for t, m in messages if m.method == method and m.tag("to") and t > start]
    return [(t - start).total_seconds() for t in refreshes]


@pytest.mark.parametrize("scenario,method", [("uas_timer_update.xml", "UPDATE"), ("uas_timer_reinvite.xml", "INVITE")],
                         ids=["update", "reinvite"])
def test_gateway_refreshes_callee_at_half_the_interval(
    tmp_path: Path, server: ServerProcess, admin: Client, trunks, scenario: str, method: str
) -> None:
    uas = uas_for(tmp_path, scenario)
    trunks(uas.port)
    uac = uac_for(tmp_path, "uac_call.xml", server, duration_ms=5000)
    run_pair(uas, uac)
    assert_success(uas, uac)
    times = refresh_times(uas, method)
    assert len(times) == 2, f"expected 2 refreshes in 5 s with Session-Expires: 4, got {times}"
    gaps = [times[0], times[1] - times[0]]
    assert all(1.6 <= gap <= 2.8 for gap in gaps), f"refreshes should come every 2 s (half of 4 s): {gaps}"
    # Refreshes stay on the callee's leg: the caller sees none of them.
    assert not uac.received("UPDATE") and not uac.received("INVITE"), [m.summary() for m in uac.received()]
    if method == "INVITE":
        acks = [m for m in uas.received("ACK") if m.cseq[0] > 1]
        assert len(acks) == 2, f"each refresh re-INVITE needs its ACK: {[m.cseq for m in uas.received('ACK')]}"
    call = wait_for_call(admin, call_id_of(uas), ["completed"])
    assert call["hangupBy"] == "caller", call


def test_session_ends_when_callee_does_not_refresh(tmp_path: Path, server: ServerProcess, admin: Client, trunks) -> None:
    uas = uas_for(tmp_path, "uas_timer_uas.xml")
    trunks(uas.port)
    uac = uac_for(tmp_path, "uac_callee_bye.xml", server)
    run_pair(uas, uac)
    assert_success(uas, uac)
    assert uas.received("BYE") and uac.received("BYE"), "the gateway must send BYE on both legs"
    messages = [(t, m) for t, m in timed(uas) if m.direction == "received"]
    ack = next(t for t, m in messages if m.method == "ACK")
    bye = next(t for t, m in messages if m.method == "BYE")
    # Session-Expires: 4 with the callee refreshing: BYE at 4 − min(32, 4/3) ≈ 2.7 s.
    assert 2.2 <= (bye - ack).total_seconds() <= 3.6, f"BYE {(bye - ack).total_seconds():.2f} s after the ACK"
    call = wait_for_call(admin, call_id_of(uas), ["completed"])
    assert call["hangupBy"] == "system" and call["hangupCause"] == "session timer expired", call


def test_caller_session_timer_from_inbound_trunk(tmp_path: Path, server: ServerProcess, admin: Client, trunks) -> None:
    # uas_reinvite.xml fails on anything but the one re-INVITE: the UPDATE refreshes must not
    # reach the call centre.
    uas = uas_for(tmp_path, "uas_reinvite.xml")
    trunks(uas.port)
    uac = uac_for(tmp_path, "uac_session_timer.xml", server)
    run_pair(uas, uac)
    assert_success(uas, uac)
    assert not uas.received("UPDATE")
    callee_invite = uas.received("INVITE")[0]
    assert not callee_invite.header("session-expires"), "the caller's Session-Expires leaked to the callee leg"
    rejected = uac.received(422)
    assert rejected and rejected[0].cseq == (3, "UPDATE") and rejected[0].header("min-se") == "90", [m.summary() for m in uac.received()]
    call = wait_for_call(admin, call_id_of(uas), ["completed"])
    assert call["hangupBy"] == "caller", call


def test_too_small_session_interval_gets_422(tmp_path: Path, server: ServerProcess, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")  # never started: nothing may reach it
    trunks(uas.port)
    uac = uac_for(tmp_path, "uac_session_too_small.xml", server)
    uac.run()
    assert_success(uac)
    response = uac.received(422)[0]
    assert response.header("min-se") == "90", response.text
