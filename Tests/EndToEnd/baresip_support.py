"""baresip as a call-centre agent in the tests: a private home directory made from an example
configuration, the agent process, a tone for it to say and what it recorded."""

from __future__ import annotations

import shutil
import subprocess
import time
import wave
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from media_support import tone_analysis
from support import free_port


def write_tone(path: Path, frequency: float, seconds: float = 20, rate: int = 8000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


@contextmanager
def baresip_agent(home: Path, configure: Callable[[int, Path, Path], tuple[str, str]]) -> Iterator[tuple[int, Path, Path]]:
    """Runs baresip from `home` on a free SIP port, saying an 880 Hz tone and recording what it
    hears. `configure(port, says, heard)` returns the texts of its `config` and `accounts`.
    Yields the port, the recordings directory and the log."""
    binary = shutil.which("baresip")
    if binary is None:
        pytest.fail("baresip not found: apt-get install baresip-core (scripts/install-deps.sh)")
    home.mkdir()
    port = free_port()
    says, heard = home / "says.wav", home / "calls"
    heard.mkdir()
    write_tone(says, 880)
    config, accounts = configure(port, says, heard)
    (home / "config").write_text(config)
    (home / "accounts").write_text(accounts)
    log_path = home / "baresip.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-f", str(home)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while b"baresip is ready" not in log_path.read_bytes():
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.05)
            yield port, heard, log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def recorded_tone(heard: Path, log: Path) -> tuple[float, float]:
    """The dominant frequency and level of what baresip decoded (its sndfile `*-dec.wav`)."""

    def recording() -> Path | None:
        files = sorted(heard.glob("*dec*.wav"))
        return files[0] if files and files[0].stat().st_size > 16_000 else None

    deadline = time.monotonic() + 5
    while recording() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    path = recording()
    assert path, f"baresip recorded nothing: {list(heard.iterdir())}\n{log.read_text()}"
    with wave.open(str(path)) as recorded:
        rate = recorded.getframerate()
        samples = np.frombuffer(recorded.readframes(recorded.getnframes()), dtype="<i2")
        if recorded.getnchannels() == 2:
            samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
    return tone_analysis(samples[rate:], rate)
