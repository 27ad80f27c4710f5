"""The media plane end to end: an independent WebRTC stack (aiortc) as the browser, SIPp with RTP
echo as the call centre over plain RTP/PCMU.

The browser gets a widget session, speaks SIP over `/sip`, completes ICE and DTLS with the gateway
and sends a 440 Hz tone. The gateway terminates SRTP, bridges to RTP towards SIPp (which echoes
every packet back), and the echo returns to the browser. The test checks the decoded audio that
comes back: its frequency and its level. Once through the transcoding path (the browser offers
Opus only: Opus <-> PCMU) and once through the relay path (the browser offers PCMU: SRTP <-> RTP,
payload untouched).

RTCP is terminated per leg: the gateway's own SR/RR with SDES reach aiortc (its stats gain
`remote-inbound-rtp` and `remote-outbound-rtp` entries) and a test-owned call-centre media peer
(RTCP on the RTP port + 1), and round-trip times from each peer's reports show in the call.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from media_support import RTPPeer, WebRTCBrowser, answer_port, compact, run, tone_analysis
from sip_support import Sipp, body, create_trunk, header, sipp_binary, wait_for_listed_call
from support import Client, ServerProcess, poll

RTP_BASE = 31000 + (os.getpid() % 200) * 20
SERVER_ARGS = ["--session-rate-limit", "10000", "--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 19}", "--public-ip", "127.0.0.1"]

TONE_HZ = 440.0


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


def echo_call_centre(tmp_path: Path, name: str) -> Sipp:
    """A SIPp UAS that answers PCMU and echoes every RTP packet to its sender."""
    return Sipp("uas_answer.xml", tmp_path, name=name, timeout_s=30, extra_args=["-rtp_echo"]).start()


def browser_call(admin: Client, uas: Sipp, codecs: list[str], talk_seconds: float = 4.0):
    trunk = create_trunk(admin, name=f"echo {uas.name}", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
    widget = admin.post("/v1/widgets", {"name": f"media {uas.name}", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"order": "A-1"}}).json()
    browser = WebRTCBrowser(session["websocketUrl"] + "", codecs=codecs, tone_hz=TONE_HZ)
    result = run(browser.call(talk_seconds=talk_seconds))
    return widget, result


def assert_tone_came_back(result, what: str) -> tuple[float, float]:
    audio = result.audio(skip_seconds=1.0)
    rate = result.sample_rate
    assert len(audio) > rate, f"{what}: only {len(audio)} samples came back"
    frequency, level = tone_analysis(audio, rate)
    print(f"{what}: echoed tone {frequency:.1f} Hz at {level:.1f} dBFS ({len(audio) / rate:.1f} s at {rate} Hz)")
    assert abs(frequency - TONE_HZ) < 8, f"{what}: dominant frequency {frequency:.1f} Hz, sent {TONE_HZ} Hz"
    # Sent at -10.5 dBFS (amplitude 0.3): allow codec and G.711 loss, not silence or clipping.
    assert -22 < level < -6, f"{what}: echoed level {level:.1f} dBFS"
    return frequency, level


def test_opus_browser_is_transcoded_to_pcmu_and_back(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-opus")
    widget, result = browser_call(admin, uas, ["audio/opus"])
    assert result.status == 200, result.final
    assert "UDP/TLS/RTP/SAVPF" in result.answer_sdp and "a=ice-lite" in result.answer_sdp
    assert "opus/48000/2" in result.answer_sdp
    assert_tone_came_back(result, "Opus <-> PCMU")
    uas.wait(timeout=15)
    # What the call centre saw: a plain RTP/AVP offer for the gateway's own port, PCMU first.
    invite = uas.received("INVITE")[0]
    assert "m=audio" in invite.body and "RTP/AVP" in invite.body and "SAVPF" not in invite.body
    assert "a=fingerprint" not in invite.body and "a=ice-ufrag" not in invite.body
    call = wait_for_listed_call(admin, lambda c: c["status"] == "completed", widgetId=widget["id"])
    assert call["source"].get("widgetId") == widget["id"], call
    assert call["hangupBy"] == "caller", call


def test_pcmu_browser_is_relayed(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-pcmu")
    widget, result = browser_call(admin, uas, ["audio/PCMU"])
    assert result.status == 200, result.final
    assert "PCMU/8000" in result.answer_sdp and "opus" not in result.answer_sdp
    assert_tone_came_back(result, "PCMU relay")
    uas.wait(timeout=15)
    # One call is far under --media-poll-above: the channels read its datagrams, nothing polls.
    assert poll(lambda: metric(server, READ_BY_CHANNEL) > 300, timeout=10), metric(server, READ_BY_CHANNEL)
    assert metric(server, READ_BY_POLL) == 0


@pytest.mark.parametrize("codecs", [["audio/PCMU"], ["audio/opus"]], ids=["relay", "transcode"])
def test_a_gateway_polling_its_media_sockets_carries_the_tone(make_server, tmp_path: Path, codecs: list[str]) -> None:
    """With --media-poll-above 0 the event loop reads the media sockets itself whatever the rate:
    the browser's ICE checks, DTLS, SRTP and the tone all go through its polls, none through a
    channel's reads."""
    gateway = make_server(extra_args=[
        "--session-rate-limit", "10000", "--rtp-ports", f"{RTP_BASE + 10}-{RTP_BASE + 19}", "--public-ip", "127.0.0.1",
        "--media-poll-above", "0",
    ]).start()
    admin = gateway.client()
    uas = echo_call_centre(tmp_path, f"echo-poll-{codecs[0][6:].lower()}")
    _, result = browser_call(admin, uas, codecs)
    assert result.status == 200, result.final
    assert_tone_came_back(result, f"{codecs[0]}, polled")
    uas.wait(timeout=15)
    assert poll(lambda: metric(gateway, READ_BY_POLL) > 300, timeout=10), metric(gateway, READ_BY_POLL)
    assert metric(gateway, READ_BY_CHANNEL) == 0


def test_a_negative_poll_threshold_is_refused_at_startup(tmp_path: Path) -> None:
    import subprocess

    from support import server_binary

    result = subprocess.run(
        [str(server_binary()), "serve", "--media-poll-above=-5", "--data-dir", str(tmp_path / "data"), "--http-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0, result
    assert "--media-poll-above must be 0 or more" in result.stderr, result.stderr


def test_no_codec_in_common_is_488(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-488")
    trunk = create_trunk(admin, name="g722 only", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["G722"])
    widget = admin.post("/v1/widgets", {"name": "488", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()

    def without_audio_codecs(offer: str) -> str:
        # Keep only a video-less audio line with a codec nobody transcodes.
        lines = []
        for line in offer.split("\r\n"):
            if line.startswith("m=audio"):
                parts = line.split(" ")
                line = " ".join(parts[:3] + ["18"])
            if line.startswith("a=rtpmap:") or line.startswith("a=fmtp:") or line.startswith("a=rtcp-fb:"):
                continue
            lines.append(line)
        return "\r\n".join(lines).replace("m=audio", "m=audio", 1) + "a=rtpmap:18 G729/8000\r\n"

    browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"])
    result = run(browser.call(talk_seconds=0.5, offer_transform=without_audio_codecs))
    assert result.status == 488, result.final
    uas.stop()


# --------------------------------------------------------------------------------------------
# Negative paths: each ends the call with a clear cause (or is dropped and counted), never a crash.


def widget_session(admin: Client, uas: Sipp, name: str) -> tuple[dict, dict]:
    trunk = create_trunk(admin, name=name, uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
    widget = admin.post("/v1/widgets", {"name": name, "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()
    return widget, session


def ended_call(admin: Client, widget: dict) -> dict:
    return wait_for_listed_call(admin, lambda c: c["status"] in ("completed", "failed", "canceled"), widgetId=widget["id"], timeout=20)


READ_BY_CHANNEL = 'switchboard_media_datagrams_read_total{by="channel"}'
READ_BY_POLL = 'switchboard_media_datagrams_read_total{by="poll"}'


def metric(server: ServerProcess, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_wrong_dtls_fingerprint_ends_the_call(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-fingerprint")
    widget, session = widget_session(admin, uas, "fingerprint")

    def other_fingerprint(offer: str) -> str:
        lines = []
        for line in offer.split("\r\n"):
            if line.startswith("a=fingerprint:sha-256 "):
                digest = line.split(" ", 1)[1].split(":")
                digest[0] = "%02X" % (int(digest[0], 16) ^ 0xFF)
                line = "a=fingerprint:sha-256 " + ":".join(digest)
            lines.append(line)
        return "\r\n".join(lines)

    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"]).call(talk_seconds=10, offer_transform=other_fingerprint))
    assert result.status == 200, result.final
    assert result.ended_by_peer == "BYE", "the gateway must hang up a call whose DTLS fingerprint does not match"
    call = ended_call(admin, widget)
    assert call["hangupCause"] == "dtls-fingerprint-mismatch", call
    assert call["hangupBy"] == "system", call
    uas.wait(timeout=15)
    assert not server.crashed()


def test_no_ice_checks_ends_the_call(make_server, tmp_path: Path) -> None:
    gateway = make_server(extra_args=["--rtp-ports", f"{RTP_BASE + 10}-{RTP_BASE + 19}", "--public-ip", "127.0.0.1", "--ice-timeout", "2"]).start()
    admin = gateway.client()
    uas = echo_call_centre(tmp_path, "echo-noice")
    widget, session = widget_session(admin, uas, "no ice")

    def foreign_credentials(offer: str) -> str:
        # The browser's checks then carry credentials the gateway does not know: all refused.
        return "\r\n".join(
            "a=ice-ufrag:zzzzzzzz" if line.startswith("a=ice-ufrag:") else line for line in offer.split("\r\n")
        )

    started = time.monotonic()
    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"]).call(talk_seconds=10, offer_transform=foreign_credentials))
    assert result.status == 200, result.final
    assert result.ended_by_peer == "BYE", "the gateway must hang up when no ICE check succeeds"
    assert time.monotonic() - started < 9
    call = ended_call(admin, widget)
    assert call["hangupCause"] == "ice-no-checks", call
    uas.wait(timeout=15)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_a_browser_on_ipv6_reaches_the_gateways_ipv6_candidate(make_server, tmp_path: Path) -> None:
    """With --public-ipv6 the browser leg also binds ::1 and offers it as a second host candidate
    (lower priority than IPv4). A browser with only an IPv6 address (aiortc gathering on ::1
    alone) can only pair with that one: the tone goes there and back through it."""
    if not ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    gateway = make_server(extra_args=[
        "--rtp-ports", f"{RTP_BASE + 20}-{RTP_BASE + 29}", "--public-ip", "127.0.0.1", "--public-ipv6", "::1", "--ice-timeout", "5",
    ]).start()
    admin = gateway.client()
    uas = echo_call_centre(tmp_path, "echo-ipv6")
    widget, session = widget_session(admin, uas, "ipv6")
    import aioice.ice

    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["::1"]
    try:
        browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"], tone_hz=TONE_HZ)
        result = run(browser.call(talk_seconds=4))
    finally:
        aioice.ice.get_host_addresses = original
    assert result.status == 200, result.final
    candidates = re.findall(r"^a=candidate:(\S+) 1 udp (\d+) (\S+) (\d+) typ host", result.answer_sdp, re.M)
    addresses = {address: int(priority) for _, priority, address, _ in candidates}
    assert set(addresses) == {"127.0.0.1", "::1"}, result.answer_sdp
    assert addresses["127.0.0.1"] > addresses["::1"], addresses
    assert_tone_came_back(result, "IPv6 browser leg")
    # The call centre's side stays on IPv4.
    invite = uas.received("INVITE")[0]
    assert "c=IN IP4 127.0.0.1" in invite.body and "::1" not in invite.body, invite.body
    uas.wait(timeout=15)


def test_an_invalid_ipv6_address_is_refused_at_startup(tmp_path: Path) -> None:
    import subprocess

    from support import server_binary

    result = subprocess.run(
        [str(server_binary()), "serve", "--public-ipv6", "127.0.0.1", "--data-dir", str(tmp_path / "data"), "--http-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0, result
    assert "--public-ipv6 127.0.0.1 is not an IPv6 address" in result.stderr, result.stderr


def test_forged_and_malformed_datagrams_are_dropped_and_counted(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-garbage")
    widget, session = widget_session(admin, uas, "garbage")
    failures_before = metric(server, "switchboard_media_srtp_failures_total")
    malformed_before = metric(server, "switchboard_media_malformed_total")

    async def attack(answer_sdp: str) -> None:
        port = answer_port(answer_sdp)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        await asyncio.sleep(1.0)
        for index in range(200):
            # RTP-looking packets the gateway cannot authenticate, from the browser's own network.
            sock.sendto(bytes([0x80, 0x00]) + index.to_bytes(2, "big") + os.urandom(168), ("127.0.0.1", port))
            # RTCP-looking, STUN-looking, DTLS-looking and unclassifiable garbage.
            sock.sendto(bytes([0x80, 0xC8]) + os.urandom(30), ("127.0.0.1", port))
            sock.sendto(bytes([0x00, 0x01, 0x00, 0x08]) + os.urandom(20), ("127.0.0.1", port))
            sock.sendto(bytes([0x17, 0xFE, 0xFD]) + os.urandom(40), ("127.0.0.1", port))
            sock.sendto(bytes([0xFF]) + os.urandom(10), ("127.0.0.1", port))
            await asyncio.sleep(0.002)
        sock.close()

    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"]).call(talk_seconds=5, during=attack))
    assert result.status == 200, result.final
    assert result.ended_by_peer is None, "garbage must not end the call"
    assert_tone_came_back(result, "PCMU relay under garbage")
    uas.wait(timeout=15)
    assert not server.crashed()
    assert poll(lambda: metric(server, "switchboard_media_srtp_failures_total") - failures_before >= 100, timeout=5)
    assert metric(server, "switchboard_media_malformed_total") > malformed_before


def test_a_call_survives_a_new_websocket(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    """The browser's WebSocket drops during the call (a network change); on a new connection with
    the same session it re-INVITEs, and the call and its audio go on."""
    uas = echo_call_centre(tmp_path, "echo-reconnect")
    widget, session = widget_session(admin, uas, "reconnect")
    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"]).call(talk_seconds=3, reconnect_after=1.5))
    assert result.status == 200, result.final
    assert result.reinvite_final.startswith("SIP/2.0 200"), result.reinvite_final
    assert result.ended_by_peer is None
    # Audio kept coming back after the reconnection (the last two seconds of the call).
    tail = result.audio()[-2 * result.sample_rate:]
    frequency, level = tone_analysis(tail, result.sample_rate)
    assert abs(frequency - TONE_HZ) < 8 and level > -24, (frequency, level)
    uas.wait(timeout=15)
    call = ended_call(admin, widget)
    assert call["status"] == "completed" and call["hangupBy"] == "caller" and call["hangupCause"] == "BYE", call


def test_hold_from_the_call_centre_reaches_the_browser(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    """The call centre holds and resumes (uas_hold_resume.xml, which checks the gateway's
    answers); the browser gets the gateway's own re-INVITEs for the same transport and answers
    them; nothing comes back while held, the echoed tone does after the resume."""
    uas = Sipp("uas_hold_resume.xml", tmp_path, name="hold", duration_ms=2000, timeout_s=30, extra_args=["-rtp_echo"]).start()
    widget, session = widget_session(admin, uas, "hold")
    browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"])
    result = run(browser.call(talk_seconds=15))
    assert result.status == 200, result.final
    assert result.ended_by_peer == "BYE", "the call centre hangs up after the resume"
    assert uas.wait(timeout=15) == 0, uas.report()
    invites = [text for text in browser.requests if text.startswith("INVITE ")]
    assert len(invites) == 2, browser.requests
    hold, resume = (body(text) for text in invites)
    assert "a=sendonly" in hold and "a=sendrecv" in resume, (hold, resume)
    for offer in (hold, resume):
        assert "a=setup:actpass" in offer and "a=ice-lite" in offer
        assert offer.split("a=ice-ufrag:", 1)[1].split("\r\n", 1)[0] == result.answer_sdp.split("a=ice-ufrag:", 1)[1].split("\r\n", 1)[0]
    assert "a=recvonly" in browser.reinvite_answers[0] and "a=sendrecv" in browser.reinvite_answers[1], browser.reinvite_answers
    held_at, resumed_at = browser.request_times[0], browser.request_times[1]
    during_hold = [t for t in result.arrivals if held_at + 0.5 < t < resumed_at]
    after_resume = [t for t in result.arrivals if t > resumed_at]
    assert len(during_hold) < 5, f"{len(during_hold)} audio frames came back while on hold"
    assert len(after_resume) > 25, f"only {len(after_resume)} audio frames came back after the resume"
    tail = np.concatenate(result.received[-len(after_resume):])
    frequency, level = tone_analysis(tail, result.sample_rate)
    assert abs(frequency - TONE_HZ) < 8 and level > -24, (frequency, level)
    call = ended_call(admin, widget)
    assert call["status"] == "completed" and call["hangupBy"] == "callee", call


def test_hold_survives_glare_with_the_browser(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    """The browser re-INVITEs just as the gateway's hold re-INVITE arrives: the gateway answers
    the browser's 491 (RFC 3261 §14.2) and, refused with 491 itself, offers the hold again within
    2 s (§14.1); the hold and the resume still reach the browser and the call goes on."""
    uas = Sipp("uas_hold_resume.xml", tmp_path, name="glare", duration_ms=3000, timeout_s=30, extra_args=["-rtp_echo"]).start()
    widget, session = widget_session(admin, uas, "glare")
    browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"], glare=True)
    result = run(browser.call(talk_seconds=20))
    assert result.status == 200, result.final
    assert browser.glare_final.startswith("SIP/2.0 491"), browser.glare_final
    assert result.ended_by_peer == "BYE", "the call centre hangs up after the resume"
    assert uas.wait(timeout=15) == 0, uas.report()
    invites = [text for text in browser.requests if text.startswith("INVITE ")]
    assert [("a=sendonly" in body(t), "a=sendrecv" in body(t)) for t in invites] == [(True, False), (True, False), (False, True)], invites
    assert header(invites[1], "CSeq") != header(invites[0], "CSeq")
    assert browser.request_times[1] - browser.request_times[0] < 2.5, "the retry after 491 waits at most 2 s"
    assert "a=recvonly" in browser.reinvite_answers[0] and "a=sendrecv" in browser.reinvite_answers[1], browser.reinvite_answers
    call = ended_call(admin, widget)
    assert call["status"] == "completed" and call["hangupBy"] == "callee", call


def test_video_from_the_call_centre_is_refused_and_the_audio_goes_on(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    """The call centre re-INVITEs to add video (uas_video_reinvite.xml checks that the answer
    keeps the audio and rejects the video with port 0); the gateway does not anchor video, so it
    answers that itself, the browser hears of nothing, and the tone keeps coming back."""
    uas = Sipp("uas_video_reinvite.xml", tmp_path, name="video", duration_ms=1500, timeout_s=30, extra_args=["-rtp_echo"]).start()
    widget, session = widget_session(admin, uas, "video upgrade")
    browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"])
    result = run(browser.call(talk_seconds=5))
    assert result.status == 200, result.final
    assert result.ended_by_peer is None
    assert browser.requests == [], "the browser must not be asked about video the gateway does not anchor"
    assert uas.wait(timeout=15) == 0, uas.report()
    answer = [m for m in uas.received(200) if m.cseq == (1, "INVITE")][0]
    assert re.search(r"^m=audio [1-9]\d* RTP/AVP 0", answer.body, re.M) and re.search(r"^m=video 0 ", answer.body, re.M), answer.body
    # Audio kept coming back after the re-INVITE (sent 1.5 s into the call): the last two seconds.
    tail = result.audio()[-2 * result.sample_rate:]
    frequency, level = tone_analysis(tail, result.sample_rate)
    assert abs(frequency - TONE_HZ) < 8 and level > -24, (frequency, level)
    call = ended_call(admin, widget)
    assert call["status"] == "completed" and call["hangupBy"] == "caller", call
    assert not server.crashed()


def test_another_session_cannot_take_a_call_over(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    uas = echo_call_centre(tmp_path, "echo-takeover")
    widget, session = widget_session(admin, uas, "takeover")
    other = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()
    browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"])
    outcome = {}

    async def intrude(answer_sdp: str) -> None:
        # Someone with another session replays the dialog's identifiers on their own socket.
        import websockets
        async with websockets.connect(other["websocketUrl"], subprotocols=["sip"]) as ws:
            await ws.send(browser._request("BYE", 5))
            text = await asyncio.wait_for(ws.recv(), timeout=5)
            outcome["status"] = text.split("\r\n", 1)[0]

    result = run(browser.call(talk_seconds=3, during=intrude))
    assert result.status == 200, result.final
    assert outcome.get("status", "").startswith("SIP/2.0 481"), outcome
    assert result.ended_by_peer is None
    assert_tone_came_back(result, "after a takeover attempt")
    uas.wait(timeout=15)


# --------------------------------------------------------------------------------------------
# RTCP: the gateway reports on each leg (RFC 3550 §6.4) and measures each leg's round-trip time.


def ssrc_lines(sdp: str) -> dict[int, str]:
    """`a=ssrc:<ssrc> cname:<cname>` of an SDP, as {ssrc: cname}."""
    found = {}
    for line in sdp.split("\r\n"):
        if line.startswith("a=ssrc:") and " cname:" in line:
            ssrc, cname = line[len("a=ssrc:"):].split(" cname:", 1)
            found[int(ssrc)] = cname.strip()
    return found


def completed_call_media(admin: Client, widget: dict) -> dict:
    """GET /v1/calls/{id} of the widget's completed call once its media report is in."""
    listed = wait_for_listed_call(admin, lambda c: c["status"] == "completed", widgetId=widget["id"], timeout=20)

    def media() -> dict | None:
        call = admin.get(f"/v1/calls/{listed['id']}").json()
        return call if call.get("media") else None

    assert poll(media, timeout=10), f"no media report on {listed['id']}"
    return media()["media"]


@pytest.mark.parametrize("codecs", [["audio/PCMU"], ["audio/opus"]], ids=["relay", "transcode"])
def test_the_browser_gets_the_gateways_reports_and_the_call_its_round_trip(
    admin: Client, server: ServerProcess, tmp_path: Path, codecs: list[str]
) -> None:
    uas = echo_call_centre(tmp_path, f"echo-rtcp-{codecs[0][6:].lower()}")
    widget, session = widget_session(admin, uas, f"rtcp {codecs[0]}")
    result = run(WebRTCBrowser(session["websocketUrl"], codecs=codecs, tone_hz=TONE_HZ).call(talk_seconds=10))
    assert result.status == 200, result.final
    announced = ssrc_lines(result.answer_sdp)
    assert len(announced) == 1, result.answer_sdp
    (gateway_ssrc, gateway_cname), = announced.items()
    # A CNAME of its own per call (RFC 7022), not the host's or the other leg's.
    assert len(gateway_cname) == 16 and gateway_cname != "switchboard", gateway_cname

    # aiortc builds remote-inbound-rtp from the gateway's report blocks about its stream, with
    # the round-trip time when a block carries the LSR of its last SR.
    inbound = result.stats_of("remote-inbound-rtp")
    assert len(inbound) == 1, f"aiortc got no report block from the gateway: {sorted(result.stats)}"
    report = inbound[0]
    assert report.ssrc == gateway_ssrc, (report.ssrc, gateway_ssrc)
    print(f"aiortc: packetsLost {report.packetsLost}, fractionLost {report.fractionLost}, RTT {report.roundTripTime}, jitter {report.jitter}")
    assert 0 <= report.packetsLost <= 5, report
    assert 0 <= report.fractionLost <= 13, report  # at most 5% (x/256)
    assert report.packetsReceived > 100, report  # ~50 packets a second for 10 s, minus the set-up
    assert report.roundTripTime is not None, "no block carried the LSR of aiortc's last SR"
    assert -0.005 < report.roundTripTime < 0.5, report
    # And from the gateway's SRs: what it sent aiortc, under the announced SSRC.
    outbound = result.stats_of("remote-outbound-rtp")
    assert len(outbound) == 1 and outbound[0].ssrc == gateway_ssrc, outbound
    received = result.stats_of("inbound-rtp")[0].packetsReceived
    assert 20 <= outbound[0].packetsSent <= received + 5, (outbound[0].packetsSent, received)
    uas.wait(timeout=15)

    # The gateway's round-trip time from aiortc's receiver reports about its SRs.
    media = completed_call_media(admin, widget)
    rtt = media["browser"].get("roundTripMilliseconds")
    print(f"gateway: browser-leg RTT {rtt} ms, MOS {media['meanOpinionScore']}")
    assert rtt is not None, media
    assert 0 <= rtt < 500, media
    assert media["meanOpinionScore"] > 4, media


def test_the_call_centre_gets_the_gateways_reports_on_the_next_port(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    """A test-owned peer is the call centre's media: it sends its own PCMU stream with three
    packets left out, SRs every second, and a block about the gateway's stream once it had an
    SR. The gateway's RTCP must come to the RTP port + 1 with its SSRC on that leg, a sane SR,
    a report block about the peer that shows exactly the loss, and a BYE at the end."""
    with RTPPeer() as peer:
        uas = Sipp("uas_answer_media_peer.xml", tmp_path, name="rtcp-peer", timeout_s=30, keys={"rtp_peer_port": str(peer.port)}).start()
        widget, session = widget_session(admin, uas, "rtcp peer")
        result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"], tone_hz=TONE_HZ).call(talk_seconds=8))
        assert result.status == 200, result.final
        uas.wait(timeout=15)
        time.sleep(0.5)
    assert peer.received_rtp, "the gateway sent no RTP to the peer"
    assert not peer.rtcp_on_rtp_port, "RTCP came to the RTP port although rtcp-mux was not negotiated"
    rtp_ssrcs = {int.from_bytes(data[8:12], "big") for _, data, _ in peer.received_rtp}
    assert len(rtp_ssrcs) == 1, rtp_ssrcs
    (gateway_ssrc,) = rtp_ssrcs
    # The browser's SSRC and CNAME do not cross the bridge (topology hiding).
    browser_side = ssrc_lines(result.offer_sdp) | ssrc_lines(result.answer_sdp)
    assert gateway_ssrc not in browser_side, (gateway_ssrc, browser_side)
    rtp_source = peer.received_rtp[0][2]
    reports = peer.reports()
    assert reports, "no RTCP reached the call centre's RTCP port"
    for _, _, address in peer.received_rtcp:
        assert address == (rtp_source[0], rtp_source[1] + 1), (address, rtp_source)

    for arrival, packets in reports:
        # Compound: a report first, then SDES with a CNAME (RFC 3550 §6.1).
        assert packets[0].packet_type in (200, 201) and packets[0].ssrc == gateway_ssrc, packets
        assert packets[1].packet_type == 202 and packets[1].ssrc == gateway_ssrc, packets
        cname = packets[1].cname.decode()
        assert len(cname) == 16 and cname not in browser_side.values(), (cname, browser_side)

    # The first report is an SR (the gateway relays the browser's audio) consistent with the
    # RTP it sent: counts, and an NTP/RTP timestamp pair on the stream's 8 kHz clock.
    arrival, packets = reports[0]
    sr = packets[0]
    assert sr.packet_type == 200, packets
    sr_wallclock = (sr.ntp >> 32) + (sr.ntp & 0xFFFFFFFF) / 2**32 - 2_208_988_800
    assert abs(sr_wallclock - arrival) < 2, (sr_wallclock, arrival)

    def behind(timestamp: int) -> int:
        """How far (in 8 kHz units) an RTP timestamp is behind the SR's, modulo 2^32."""
        return ((sr.rtp_timestamp - timestamp + 2**31) % 2**32) - 2**31

    stream = [(t, int.from_bytes(data[4:8], "big")) for t, data, _ in peer.received_rtp]
    sent_before = [ts for _, ts in stream if behind(ts) >= 0]
    assert abs(sr.packet_count - len(sent_before)) <= 3, (sr.packet_count, len(sent_before))
    assert sr.octet_count == 160 * sr.packet_count, (sr.octet_count, sr.packet_count)
    # Each packet's timestamp minus its arrival (in seconds) is at most the sender's offset
    # (delays only add); the least delayed packets around the SR show it. The SR's pair must
    # give the same offset.
    offsets = [(sr.rtp_timestamp - behind(ts)) / 8000 - t for t, ts in stream if abs(t - arrival) < 1]
    sr_offset = sr.rtp_timestamp / 8000 - sr_wallclock
    print(f"SR: {sr.packet_count} packets ({len(sent_before)} seen), timestamp mapping off by {1000 * (max(offsets) - sr_offset):.1f} ms")
    assert offsets and abs(max(offsets) - sr_offset) < 0.04, (max(offsets), sr_offset)

    # Report blocks about the peer: exactly the three packets it left out, over a base after
    # the probation packet (RFC 3550 A.1), and LSR/DLSR from its SRs.
    blocks = [(t, block) for t, packets in reports for block in packets[0].blocks]
    assert blocks and all(block.ssrc == peer.ssrc for _, block in blocks), blocks
    first_time, first = blocks[0]
    assert first.cumulative_lost == 3, first
    expected = first.highest_sequence - peer.first_sequence
    assert first.fraction_lost == (3 << 8) // expected, (first, expected)
    assert first.jitter < 400, first  # under 50 ms at 8 kHz on loopback
    with_lsr = [(t, block) for t, block in blocks if block.lsr]
    assert with_lsr, f"no block carried the LSR of the peer's SRs: {blocks}"
    sent_lsrs = {compact(ntp): sent for sent, ntp in peer.sent_srs}
    for t, block in with_lsr:
        assert block.lsr in sent_lsrs, (hex(block.lsr), [hex(x) for x in sent_lsrs])
        assert 0 <= block.dlsr / 65536 <= t - sent_lsrs[block.lsr] + 0.05, (block, t - sent_lsrs[block.lsr])
    # The last compound says goodbye.
    last_packets = reports[-1][1]
    assert last_packets[-1].packet_type == 203 and last_packets[-1].sources == [gateway_ssrc], last_packets

    # The call-centre leg's round-trip time from the peer's blocks about the gateway's SRs.
    media = completed_call_media(admin, widget)
    rtt = media["callee"].get("roundTripMilliseconds")
    print(f"gateway: call-centre-leg RTT {rtt} ms, {len(reports)} reports")
    assert rtt is not None, media
    assert 0 <= rtt < 500, media
    assert media["callee"]["packetsLost"] == 3, media
