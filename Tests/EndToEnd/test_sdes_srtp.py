"""SDES-SRTP on the call centre's leg (a trunk with `srtp: required`), end to end.

baresip (Debian `baresip-core`), configured by `Examples/baresip-agent-srtp`, is the agent: it
accepts only SRTP keyed with SDES (`mediaenc=srtp-mand`, module `srtp.so`), so audio it hears
and audio it sends prove the gateway's protection and unprotection with the exchanged keys.
aiortc plays the browser with a 440 Hz tone over Opus; baresip answers over PCMU with 880 Hz.
The call's media report names the SIP leg's suite, and its round-trip time (from baresip's
reports about the gateway's sender reports) shows SRTCP working both ways.

A trunk that requires SRTP towards a call centre that answers plain RTP/AVP (SIPp) fails the
call with a clear cause: the call centre's leg gets a BYE and the browser a 488.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from baresip_support import baresip_agent, recorded_tone
from media_support import WebRTCBrowser, run, tone_analysis
from sip_support import Sipp, create_trunk, sipp_binary, wait_for_listed_call
from support import Client, ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "Examples" / "baresip-agent-srtp"
RTP_BASE = 43000 + (os.getpid() % 200) * 10
SERVER_ARGS = ["--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 9}", "--public-ip", "127.0.0.1"]
SUITES = {"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"}


@pytest.fixture
def srtp_agent(tmp_path: Path):
    def configure(port: int, says: Path, heard: Path) -> tuple[str, str]:
        config = (EXAMPLE / "config").read_text()
        assert "srtp.so" in config
        config = config.replace("127.0.0.1:5091", f"127.0.0.1:{port}").replace("/tmp/agent-srtp-calls", str(heard))
        config = config.replace("/tmp/agent-says.wav", str(says)).replace("35600-35699", f"{RTP_BASE + 2000}-{RTP_BASE + 2009}")
        accounts = (EXAMPLE / "accounts").read_text()
        assert "mediaenc=srtp-mand" in accounts
        return config, accounts.replace("127.0.0.1:5091", f"127.0.0.1:{port}")

    with baresip_agent(tmp_path / "baresip", configure) as running:
        yield running


def test_trunk_srtp_setting_defaults_off_and_is_validated(admin: Client, server: ServerProcess) -> None:
    plain = create_trunk(admin, name="plain", uri="sip:127.0.0.1:5999")
    assert plain["srtp"] == "off", plain
    secure = create_trunk(admin, name="secure", uri="sip:127.0.0.1:5998", srtp="required")
    assert secure["srtp"] == "required", secure
    assert admin.get(f"/v1/trunks/{secure['id']}").json()["srtp"] == "required"
    changed = admin.patch(f"/v1/trunks/{plain['id']}", {"srtp": "required"})
    assert changed.status_code == 200 and changed.json()["srtp"] == "required", changed.text
    # A PATCH without it leaves it alone.
    renamed = admin.patch(f"/v1/trunks/{plain['id']}", {"name": "renamed"})
    assert renamed.json()["srtp"] == "required", renamed.text
    for bad in ("optional", "on", True, 1):
        response = admin.post("/v1/trunks", {"name": "bad", "uri": "sip:127.0.0.1:5997", "srtp": bad})
        assert response.status_code == 400, (bad, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), response.headers


def test_browser_talks_to_a_baresip_agent_over_sdes_srtp(admin: Client, server: ServerProcess, srtp_agent) -> None:
    port, heard, log = srtp_agent
    trunk = create_trunk(
        admin, name="baresip srtp agent", uri=f"sip:agent@127.0.0.1:{port}", transport="udp", codecs=["PCMU", "PCMA"], srtp="required"
    )
    assert trunk["srtp"] == "required", trunk
    widget = admin.post("/v1/widgets", {"name": "baresip srtp", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"customer": {"name": "Juliana"}}}).json()

    # baresip (libre) reports every 5 s from when its RTP session is made, at the INVITE; its
    # first report can come before the gateway's first SR on this leg (the browser's ICE and
    # DTLS come first), so the call lasts long enough for its second one.
    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/opus"], tone_hz=440).call(talk_seconds=12))
    assert result.status == 200, f"{result.final}\n{log.read_text()}"
    frequency, level = tone_analysis(result.audio(skip_seconds=1.0), result.sample_rate)
    print(f"\nbrowser heard {frequency:.1f} Hz at {level:.1f} dBFS from baresip over SRTP")
    assert abs(frequency - 880) < 8 and level > -24, (frequency, level)

    call = wait_for_listed_call(admin, lambda c: c["status"] == "completed" and "media" in c, widgetId=widget["id"])
    media = call["media"]
    print(f"call media: {media}")
    assert media["callee"].get("srtp") in SUITES, media
    assert media["browser"].get("srtp"), media
    assert media["callee"]["packetsReceived"] > 100 and media["callee"]["packetsSent"] > 100, media
    # A round trip from baresip's reports about the gateway's SR: SRTCP went both ways.
    assert media["callee"].get("roundTripMilliseconds") is not None, media
    # Wrong keys would drop every packet. A single dropped packet from baresip was seen once in
    # two dozen runs on a loaded machine, cause not identified (the gateway logs the first
    # failure of a call at debug level: SRTP or SRTCP, and libsrtp2's reason).
    assert media["callee"]["authenticationFailures"] <= 2, media

    frequency, level = recorded_tone(heard, log)
    print(f"baresip heard {frequency:.1f} Hz at {level:.1f} dBFS from the browser over SRTP")
    assert abs(frequency - 440) < 8 and level > -24, (frequency, level)


def test_plain_rtp_answer_on_an_srtp_trunk_fails_the_call(admin: Client, server: ServerProcess, tmp_path: Path) -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")
    uas = Sipp("uas_answer.xml", tmp_path, name="plain-answer", timeout_s=30).start()
    trunk = create_trunk(admin, name="srtp to plain", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"], srtp="required")
    widget = admin.post("/v1/widgets", {"name": "srtp to plain", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()

    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/PCMU"]).call(talk_seconds=0.5))
    assert result.status == 488, result.final
    call = wait_for_listed_call(admin, lambda c: c["status"] == "failed", widgetId=widget["id"])
    assert call["sipCode"] == 488 and call["hangupBy"] == "system", call
    assert call["hangupCause"] == "SRTP required: the call centre answered RTP/AVP, SRTP (RTP/SAVP) is required", call
    uas.wait(timeout=15)
    # The call centre was offered SRTP only, and its leg was closed with a BYE.
    invite = uas.received("INVITE")[0]
    assert "RTP/SAVP" in invite.body and "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in invite.body, invite.body
    assert "a=crypto:2 AEAD_AES_128_GCM inline:" in invite.body, invite.body
    assert "RTP/AVP" not in invite.body.replace("RTP/SAVP", ""), invite.body
    assert uas.received("BYE"), "the call centre's leg got no BYE"
