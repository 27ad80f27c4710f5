"""A browser call to a real softphone: baresip (Debian `baresip-core`) as the auto-answering agent,
configured by `Examples/baresip-agent` (only its paths and ports are changed here).

aiortc plays the browser and sends a 440 Hz tone over Opus; baresip answers over PCMU and plays
an 880 Hz tone. The gateway transcodes both ways. The test checks what each side heard: the
browser's decoded audio and the file baresip recorded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from media_support import WebRTCBrowser, run, tone_analysis
from sip_support import create_trunk, wait_for_listed_call
from support import Client, ServerProcess, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "Examples" / "baresip-agent"
RTP_BASE = 37000 + (os.getpid() % 200) * 10
SERVER_ARGS = ["--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 9}", "--public-ip", "127.0.0.1"]


def write_tone(path: Path, frequency: float, seconds: float = 20, rate: int = 8000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


@pytest.fixture
def agent(tmp_path: Path):
    binary = shutil.which("baresip")
    if binary is None:
        pytest.fail("baresip not found: apt-get install baresip-core (scripts/install-deps.sh)")
    home = tmp_path / "baresip"
    home.mkdir()
    port = free_port()
    says, heard = home / "says.wav", home / "calls"
    heard.mkdir()
    write_tone(says, 880)
    config = (EXAMPLE / "config").read_text()
    config = config.replace("127.0.0.1:5090", f"127.0.0.1:{port}").replace("/tmp/agent-calls", str(heard)).replace("/tmp/agent-says.wav", str(says))
    config = config.replace("35500-35599", f"{RTP_BASE + 200}-{RTP_BASE + 209}")
    (home / "config").write_text(config)
    (home / "accounts").write_text((EXAMPLE / "accounts").read_text().replace("127.0.0.1:5090", f"127.0.0.1:{port}"))
    log = open(home / "baresip.log", "wb")
    process = subprocess.Popen([binary, "-f", str(home)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while b"baresip is ready" not in (home / "baresip.log").read_bytes():
        assert process.poll() is None and time.monotonic() < deadline, (home / "baresip.log").read_text()
        time.sleep(0.05)
    yield port, heard, home / "baresip.log"
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


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
    def recording() -> Path | None:
        files = sorted(heard.glob("*dec*.wav"))
        return files[0] if files and files[0].stat().st_size > 16_000 else None

    deadline = time.monotonic() + 5
    while recording() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert recording(), f"baresip recorded nothing: {list(heard.iterdir())}\n{log.read_text()}"
    with wave.open(str(recording())) as recorded:
        rate = recorded.getframerate()
        samples = np.frombuffer(recorded.readframes(recorded.getnframes()), dtype="<i2")
        if recorded.getnchannels() == 2:
            samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
    frequency, level = tone_analysis(samples[rate:], rate)
    print(f"baresip heard {frequency:.1f} Hz at {level:.1f} dBFS from the browser")
    assert abs(frequency - 440) < 8 and level > -24, (frequency, level)
