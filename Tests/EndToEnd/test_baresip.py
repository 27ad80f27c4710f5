"""A browser call to a real softphone: baresip (Debian `baresip-core`) as the auto-answering agent,
configured by `Examples/baresip-agent` (only its paths and ports are changed here).

aiortc plays the browser and sends a 440 Hz tone over Opus; baresip answers over PCMU and plays
an 880 Hz tone. The gateway transcodes both ways. The test checks what each side heard: the
browser's decoded audio and the file baresip recorded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baresip_support import baresip_agent, recorded_tone
from media_support import WebRTCBrowser, run, tone_analysis
from sip_support import create_trunk, wait_for_listed_call
from support import Client, ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "Examples" / "baresip-agent"
RTP_BASE = 37000 + (os.getpid() % 200) * 10
SERVER_ARGS = ["--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 9}", "--public-ip", "127.0.0.1"]


@pytest.fixture
def agent(tmp_path: Path):
    def configure(port: int, says: Path, heard: Path) -> tuple[str, str]:
        config = (EXAMPLE / "config").read_text()
        config = config.replace("127.0.0.1:5090", f"127.0.0.1:{port}").replace("/tmp/agent-calls", str(heard)).replace("/tmp/agent-says.wav", str(says))
        config = config.replace("35500-35599", f"{RTP_BASE + 200}-{RTP_BASE + 209}")
        return config, (EXAMPLE / "accounts").read_text().replace("127.0.0.1:5090", f"127.0.0.1:{port}")

    with baresip_agent(tmp_path / "baresip", configure) as running:
        yield running


def test_browser_talks_to_a_baresip_agent(admin: Client, server: ServerProcess, agent) -> None:
    port, heard, log = agent
    trunk = create_trunk(admin, name="baresip agent", uri=f"sip:agent@127.0.0.1:{port}", transport="udp", codecs=["PCMU", "PCMA"])
    widget = admin.post("/v1/widgets", {"name": "baresip", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"customer": {"name": "Juliana"}}}).json()

    result = run(WebRTCBrowser(session["websocketUrl"], codecs=["audio/opus"], tone_hz=440).call(talk_seconds=4))
    assert result.status == 200, f"{result.final}\n{log.read_text()}"
    audio = result.audio(skip_seconds=1.0)
    frequency, level = tone_analysis(audio, result.sample_rate)
    print(f"\nbrowser heard {frequency:.1f} Hz at {level:.1f} dBFS from baresip")
    assert abs(frequency - 880) < 8 and level > -24, (frequency, level)

    call = wait_for_listed_call(admin, lambda c: c["status"] == "completed", widgetId=widget["id"])
    assert call["media"]["mode"] == "transcode", call

    # What baresip heard: its sndfile module records the decoded stream (`*-dec.wav`).
    frequency, level = recorded_tone(heard, log)
    print(f"baresip heard {frequency:.1f} Hz at {level:.1f} dBFS from the browser")
    assert abs(frequency - 440) < 8 and level > -24, (frequency, level)
