"""The SIPp scenarios of Tests/EndToEnd/sipp/ played against each other, without the gateway.

Each UAC scenario meets the UAS scenario it is paired with in test_sip_b2bua.py (or a
selftest_* stand-in for the gateway's own answers), so a broken scenario shows up here rather
than as a mysterious gateway failure. Also checks that the scenarios' assertions bite (a wrong
final code, a missing X-Switchboard-Call-Id) and the digest arithmetic against RFC 7616.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from sip_support import (
    LOCALHOST,
    Sipp,
    assert_success,
    check_digest,
    digest_response,
    gateway_emulation_headers,
    run_pair,
    sipp_binary,
)


GW = gateway_emulation_headers()


@pytest.fixture(autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


def test_a_port_taken_for_a_moment_only_delays_the_start(tmp_path: Path) -> None:
    """Another process binds the UAS's port just before SIPp does and lets it go 0.25 s later:
    SIPp's first start fails to bind, a later one takes the port, and the call goes through."""
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=15)
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind((LOCALHOST, uas.port))
    threading.Timer(0.25, holder.close).start()
    uas.start()
    assert uas.starts >= 2, "the port was free at the first start: the test did not test the retry"
    uac = Sipp("uac_call.xml", tmp_path, name="uac", remote=(LOCALHOST, uas.port), keys={"caller_headers": GW}, timeout_s=15)
    assert uac.run() == 0, uac.report()
    assert uas.wait() == 0, uas.report()


def test_a_port_that_stays_taken_fails_the_start(tmp_path: Path) -> None:
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=15)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((LOCALHOST, uas.port))
        with pytest.raises(AssertionError, match="could not bind"):
            uas.start()


def pair(tmp_path: Path, uas_scenario: str, uac_scenario: str, *, uas: dict | None = None, uac: dict | None = None,
         transport: str = "udp") -> tuple[Sipp, Sipp]:
    uas_run = Sipp(uas_scenario, tmp_path, name="uas", transport=transport, **{"timeout_s": 15, **(uas or {})})
    uac_options = {"keys": {"caller_headers": GW}, "timeout_s": 15, **(uac or {})}
    uac_options["extra_args"] = [
        arg.replace("{uas_port}", str(uas_run.port)) for arg in uac_options.get("extra_args", [])
    ]
    uac_run = Sipp(uac_scenario, tmp_path, name="uac", transport=transport, remote=(LOCALHOST, uas_run.port), **uac_options)
    run_pair(uas_run, uac_run)
    return uas_run, uac_run


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_call_caller_hangs_up(tmp_path: Path, transport: str) -> None:
    uas, uac = pair(tmp_path, "uas_answer.xml", "uac_call.xml", uac={"duration_ms": 100}, transport=transport)
    assert_success(uas, uac)
    assert [m.method or m.status for m in uac.received()] == [100, 180, 200, 200], uac.report()
    bye = uac.sent("BYE")[0]
    assert bye.request_uri.startswith("sip:agent@127.0.0.1:"), "BYE must go to the 200's Contact"


def test_assertion_bites_without_switchboard_headers(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_answer.xml", "uac_call.xml", uac={"keys": {}, "timeout_s": 5})
    assert uas.returncode != 0, "uas_answer.xml accepted an INVITE without X-Switchboard-Call-Id\n" + uas.report()
    assert "X-Switchboard-Call-Id" in uas.error_file.read_text()


def test_callee_hangs_up(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_callee_bye.xml", "uac_callee_bye.xml", uas={"duration_ms": 100})
    assert_success(uas, uac)
    bye = uas.sent("BYE")[0]
    invite = uas.received("INVITE")[0]
    assert bye.tag("from") == uas.sent(200)[-1].tag("to") and bye.tag("to") == invite.tag("from")


def test_cancel_after_ringing(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_cancel.xml", "uac_cancel.xml", uac={"duration_ms": 50})
    assert_success(uas, uac)
    invite, cancel, ack = uac.sent("INVITE")[0], uac.sent("CANCEL")[0], uac.sent("ACK")[0]
    assert cancel.branch == invite.branch == ack.branch, (invite.branch, cancel.branch, ack.branch)
    assert [m.status for m in uac.received()][-2:] == [200, 487]
    assert uas.sent(487)[0].cseq == (1, "INVITE")


@pytest.mark.parametrize("code", [486, 600, 603, 480, 408, 404, 500, 503, 504])
def test_reject(tmp_path: Path, code: int) -> None:
    uas, uac = pair(tmp_path, "uas_reject.xml", "uac_reject.xml", uas={"sets": {"reject_code": str(code)}},
                    uac={"sets": {"expected": str(code)}})
    assert_success(uas, uac)
    invite, ack = uac.sent("INVITE")[0], uac.sent("ACK")[0]
    assert ack.branch == invite.branch, "ACK of a non-2xx must reuse the INVITE's branch"


def test_reject_assertion_bites_on_wrong_code(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_reject.xml", "uac_reject.xml", uas={"sets": {"reject_code": "603"}},
                    uac={"sets": {"expected": "486"}})
    assert uac.returncode == 1, "uac_reject.xml accepted 603 while expecting 486\n" + uac.report()


def test_reject_refuses_unknown_code(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_reject.xml", "uac_reject.xml", uas={"sets": {"reject_code": "499"}, "timeout_s": 3},
                    uac={"sets": {"expected": "499"}, "timeout_s": 3})
    assert uas.returncode != 0 and uac.returncode != 0


def test_reinvite_from_caller(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_reinvite.xml", "uac_reinvite.xml")
    assert_success(uas, uac)
    first, second = uas.received("INVITE")[:2]
    assert second.call_id == first.call_id and second.cseq[0] > first.cseq[0]


def test_reinvite_from_callee(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_send_reinvite.xml", "uac_answer_reinvite.xml", uas={"duration_ms": 50})
    assert_success(uas, uac)
    reinvite = uac.received("INVITE")[0]
    assert "a=sendonly" in reinvite.body


def test_hold_and_resume_from_callee(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_hold_resume.xml", "selftest_uac_hold_resume.xml", uas={"duration_ms": 50},
                    uac={"sets": {"hold_answer": "recvonly"}})
    assert_success(uas, uac)
    hold, resume = uac.received("INVITE")[:2]
    assert "a=sendonly" in hold.body and "a=sendrecv" in resume.body
    assert hold.cseq[0] < resume.cseq[0] < uac.received("BYE")[0].cseq[0]


def test_hold_assertion_bites_on_an_answer_that_does_not_hold(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_hold_resume.xml", "selftest_uac_hold_resume.xml", uas={"duration_ms": 50, "timeout_s": 5},
                    uac={"sets": {"hold_answer": "sendrecv"}, "timeout_s": 5})
    assert uas.returncode != 0, "uas_hold_resume.xml accepted a=sendrecv as the answer to its hold\n" + uas.report()
    assert "a=recvonly" in uas.error_file.read_text(), uas.report()


def test_video_upgrade_from_callee(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_video_reinvite.xml", "selftest_uac_video_reinvite.xml", uas={"duration_ms": 50},
                    uac={"duration_ms": 100, "sets": {"video_port": "0"}})
    assert_success(uas, uac)
    offer = uac.received("INVITE")[0]
    assert "m=audio" in offer.body and "m=video" in offer.body, offer.text


def test_video_assertion_bites_when_video_is_accepted(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "uas_video_reinvite.xml", "selftest_uac_video_reinvite.xml", uas={"duration_ms": 50, "timeout_s": 5},
                    uac={"duration_ms": 100, "sets": {"video_port": "5004"}, "timeout_s": 5})
    assert uas.returncode != 0, "uas_video_reinvite.xml accepted an answer that keeps the video\n" + uas.report()
    assert "m=video 0" in uas.error_file.read_text(), uas.report()


def test_options(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "selftest_uas_probe.xml", "uac_options.xml")
    assert_success(uas, uac)


def test_unknown_method(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "selftest_uas_probe.xml", "uac_unknown_method.xml")
    assert_success(uas, uac)


def test_unknown_method_in_dialog(tmp_path: Path) -> None:
    uas, uac = pair(tmp_path, "selftest_uas_unknown_in_dialog.xml", "uac_unknown_method_in_dialog.xml")
    assert_success(uas, uac)


@pytest.mark.parametrize("qop", ["auth", None])
def test_digest_challenge(tmp_path: Path, qop: str | None) -> None:
    keys = {"realm": "callcentre.test", "nonce": "5f1c9a0e7b", "algorithm": "MD5",
            "challenge_qop": ', qop="auth"' if qop else ""}
    uas, uac = pair(tmp_path, "uas_auth.xml", "selftest_uac_auth.xml", uas={"keys": keys},
                    uac={"extra_args": ["-au", "trunkuser", "-ap", "s3cret",
                                        "-auth_uri", "agents@127.0.0.1:{uas_port}"]})
    assert_success(uas, uac)
    authenticated = uas.received("INVITE")[1]
    check_digest(authenticated, header="Proxy-Authorization", username="trunkuser", password="s3cret",
                 realm="callcentre.test", nonce="5f1c9a0e7b", algorithm="MD5", qop=qop)
    with pytest.raises(AssertionError):
        check_digest(authenticated, header="Proxy-Authorization", username="trunkuser", password="wrong",
                     realm="callcentre.test", nonce="5f1c9a0e7b", algorithm="MD5", qop=qop)


def test_digest_arithmetic_rfc7616() -> None:
    """RFC 7616 section 3.9.1 (HTTP, but the arithmetic is the same)."""
    common = dict(username="Mufasa", realm="http-auth@example.org", password="Circle of Life", method="GET",
                  uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", qop="auth",
                  nc="00000001", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert digest_response(algorithm="MD5", **common) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response(algorithm="SHA-256", **common) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


# Loss is exercised through the gateway only (test_sip_b2bua.py): SIPp-to-SIPp runs with loss
# fail now and then on SIPp's own retransmission handling, which is not what is under test.
