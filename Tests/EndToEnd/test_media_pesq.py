"""Speech quality through the running gateway: PESQ (ITU-T P.862, narrow band) of the Opus → PCMU
path against the same speech coded straight to PCMU.

The speech is synthesised with espeak-ng and resampled to 48 kHz; aiortc, as the browser, sends
it in real time as its audio track and encodes it to Opus. The gateway decodes the Opus, resamples
to 8 kHz and sends PCMU to the call centre, whose RTP port a test-owned peer holds (SIPp answers
the signalling with that port). The peer's packets are put back together by sequence number and
timestamp, decoded, aligned to the reference by cross-correlation and scored.

The reference is the sent speech resampled to 8 kHz; "direct PCMU" is that reference µ-law
coded and decoded. The criterion of the media issue: the gateway's figure is within 0.2 MOS of
direct PCMU.

aiortc encodes stereo Opus at 96 kb/s. `PESQ_OPUS_BITRATE` (bits/s) and `PESQ_OPUS_CHANNELS`
(1 or 2) set its encoder otherwise, e.g. 32000 and 1 for what Chrome sends by default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import wave
from pathlib import Path

import aiortc.rtcrtpsender
import numpy as np
import pytest
from aiortc.codecs.opus import OpusEncoder
from av import AudioResampler

try:
    from pesq import pesq
    from scipy.signal import correlate, resample_poly
except ImportError as error:  # reported by speech_tools
    missing_python_module: ImportError | None = error
else:
    missing_python_module = None

from media_support import PCMTrack, RTPPeer, WebRTCBrowser, mulaw_decode, mulaw_encode, pcmu_stream, run
from sip_support import Sipp, create_trunk, sipp_binary
from support import Client, ServerProcess

RTP_BASE = 36000 + (os.getpid() % 200) * 20
SERVER_ARGS = ["--session-rate-limit", "10000", "--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 19}", "--public-ip", "127.0.0.1"]

# About eight seconds of speech at 150 words a minute.
TEXT = "Thank you for calling the customer service centre. Please hold the line while we connect you to the next available agent."
LEAD_SECONDS = 0.5  # silence before and after the speech in what the browser sends
MOS_MARGIN = 0.2


@pytest.fixture(scope="module")
def speech_tools() -> None:
    if missing_python_module is not None:
        pytest.fail(f"{missing_python_module}: pip install pesq scipy (scripts/install-deps.sh)")
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")
    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng not found: apt-get install espeak-ng (scripts/install-deps.sh)")


@pytest.fixture
def browser_opus(monkeypatch: pytest.MonkeyPatch) -> str:
    """aiortc's Opus encoder as `PESQ_OPUS_BITRATE` and `PESQ_OPUS_CHANNELS` ask; a description."""
    bitrate_text = os.environ.get("PESQ_OPUS_BITRATE", "")
    channels_text = os.environ.get("PESQ_OPUS_CHANNELS", "")
    if not bitrate_text and not channels_text:
        return "aiortc's own encoder settings (stereo, 96 kb/s)"
    try:
        bitrate = int(bitrate_text or 96_000)
        channels = int(channels_text or 2)
    except ValueError:
        pytest.fail(f"PESQ_OPUS_BITRATE={bitrate_text!r} PESQ_OPUS_CHANNELS={channels_text!r}: whole numbers expected", pytrace=False)
    if not 6_000 <= bitrate <= 510_000 or channels not in (1, 2):
        pytest.fail(f"PESQ_OPUS_BITRATE must be 6000-510000 and PESQ_OPUS_CHANNELS 1 or 2, not {bitrate} and {channels}", pytrace=False)
    original = aiortc.rtcrtpsender.get_encoder

    def configured(codec):
        encoder = original(codec)
        if isinstance(encoder, OpusEncoder):
            encoder.codec.bit_rate = bitrate
            if channels == 1:
                encoder.codec.layout = "mono"
                encoder.resampler = AudioResampler(format="s16", layout="mono", rate=48_000, frame_size=960)
        return encoder

    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", configured)
    return f"{'mono' if channels == 1 else 'stereo'} at {bitrate / 1000:g} kb/s"


def synthesise_speech(workdir: Path) -> np.ndarray:
    """The text spoken by espeak-ng, resampled to 48 kHz mono int16 with its peak at -3 dBFS and
    LEAD_SECONDS of silence on either side."""
    path = workdir / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(path), TEXT], check=True, capture_output=True, timeout=30)
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2, (wav.getnchannels(), wav.getsampwidth())
        rate = wav.getframerate()
        speech = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    assert len(speech) > rate, f"espeak-ng made {len(speech)} samples at {rate} Hz"
    divisor = np.gcd(48_000, rate)
    speech = resample_poly(speech, 48_000 // divisor, rate // divisor)
    speech *= 10 ** (-3 / 20) * 32767 / np.max(np.abs(speech))
    lead = np.zeros(int(LEAD_SECONDS * 48_000))
    return np.round(np.concatenate([lead, speech, lead])).astype(np.int16)


def to_8k(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(resample_poly(samples.astype(np.float64), 1, 6)), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def align(received: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, int, float]:
    """`received` shifted onto `reference` by the lag of their cross-correlation peak and cut (or
    padded with silence) to its length; with the lag in samples and the normalised peak."""
    x = received.astype(np.float64)
    y = reference.astype(np.float64)
    correlation = correlate(x, y, mode="full", method="fft")
    best = int(np.argmax(correlation))
    lag = best - (len(y) - 1)
    aligned = np.zeros(len(y), dtype=np.int16)
    start, stop = max(lag, 0), min(lag + len(y), len(x))
    if stop > start:
        aligned[start - lag:stop - lag] = received[start:stop]
    peak = correlation[best] / (np.linalg.norm(x[start:stop]) * np.linalg.norm(y) + 1e-9)
    return aligned, lag, float(peak)


def test_the_numpy_mulaw_codec_is_g711() -> None:
    """The codec the scores rest on: known codes, and for every int16 decode(encode(x)) is
    monotonic, idempotent and within half a step of x (a step is 1/16 of its segment)."""
    assert list(mulaw_encode(np.array([0, -1, 32767, -32768, 100, -100], dtype=np.int16))) == [0xFF, 0x7F, 0x80, 0x00, 0xF2, 0x72]
    assert list(mulaw_decode(np.array([0x00, 0x80, 0xFF, 0x7F, 0xF2, 0x72], dtype=np.uint8))) == [-32124, 32124, 0, 0, 104, -104]
    everything = np.arange(-32768, 32768).astype(np.int16)
    decoded = mulaw_decode(mulaw_encode(everything))
    assert np.all(np.diff(decoded.astype(np.int32)) >= 0)
    assert np.array_equal(mulaw_decode(mulaw_encode(decoded)), decoded)
    magnitude = np.abs(everything.astype(np.int32))
    error = np.abs(decoded.astype(np.int32) - everything.astype(np.int32))
    within = magnitude <= 32124  # beyond the last code, clipping
    assert np.all(32 * error[within] <= magnitude[within] + 0x84), int(np.max(32 * error[within] - magnitude[within]))


def rtp(sequence: int, timestamp: int, payload: bytes, *, payload_type: int = 0, csrcs: int = 0, extension: bytes = b"", padding: int = 0) -> bytes:
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | csrcs
    header = bytes([first, payload_type]) + sequence.to_bytes(2, "big") + timestamp.to_bytes(4, "big") + (0x1234).to_bytes(4, "big")
    header += bytes(4 * csrcs)
    if extension:
        header += b"\xbe\xde" + (len(extension) // 4).to_bytes(2, "big") + extension
    return header + payload + (bytes(padding - 1) + bytes([padding]) if padding else b"")


def test_the_call_centres_stream_is_put_back_by_sequence_and_timestamp() -> None:
    """Reordered, duplicated and missing packets across the wrap of both counters, with CSRCs,
    a header extension, padding and a packet of another payload type in between."""
    frames = [mulaw_encode(np.full(160, value, dtype=np.int16)).tobytes() for value in (1000, 2000, 3000, 4000)]
    first_timestamp = 2**32 - 160
    packets = [
        rtp(65535, first_timestamp, frames[0]),
        rtp(1, (first_timestamp + 320) % 2**32, frames[2], csrcs=2, extension=b"\x10\xaa\x00\x00", padding=3),  # ahead of 0
        rtp(0, (first_timestamp + 160) % 2**32, frames[1]),
        rtp(1, (first_timestamp + 320) % 2**32, frames[2]),  # a duplicate
        rtp(2, (first_timestamp + 400) % 2**32, b"\x00\x01\x02\x03", payload_type=101),  # telephone-event
        rtp(3, (first_timestamp + 640) % 2**32, frames[3]),  # #2 is missing: 160 samples of silence
    ]
    stream = pcmu_stream(packets)
    assert (stream.packets, stream.duplicates, stream.missing, stream.gap_samples) == (4, 1, 1, 160), stream
    levels = [int(np.median(stream.samples[i * 160:(i + 1) * 160])) for i in range(5)]
    expected = [int(mulaw_decode(mulaw_encode(np.array([v], dtype=np.int16)))[0]) for v in (1000, 2000, 3000, 0, 4000)]
    assert levels == expected, (levels, expected)
    with pytest.raises(ValueError):
        pcmu_stream([b"\x00" * 20])


@pytest.mark.slow
def test_speech_through_opus_to_pcmu_scores_within_0_2_mos_of_direct_pcmu(
    speech_tools: None, admin: Client, server: ServerProcess, tmp_path: Path, browser_opus: str
) -> None:
    sent = synthesise_speech(tmp_path)
    reference = to_8k(sent)
    direct = mulaw_decode(mulaw_encode(reference))

    with RTPPeer(skip=range(0)) as peer:
        uas = Sipp("uas_answer_media_peer.xml", tmp_path, name="pesq-peer", timeout_s=60, keys={"rtp_peer_port": str(peer.port)}).start()
        trunk = create_trunk(admin, name="pesq", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "pesq", "destination": trunk["id"]}).json()
        session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()
        track = PCMTrack(sent)
        browser = WebRTCBrowser(session["websocketUrl"], codecs=["audio/opus"], track=track)
        result = run(browser.call(talk_seconds=len(sent) / 48_000 + 1.0))
        assert result.status == 200, result.final
        assert "opus/48000/2" in result.answer_sdp, result.answer_sdp
        uas.wait(timeout=15)
        time.sleep(0.2)
    assert track.samples >= len(sent), f"the browser sent {track.samples} of {len(sent)} samples"
    (outbound,) = result.stats_of("outbound-rtp")
    print(
        f"browser: Opus {browser_opus}; {outbound.packetsSent} packets, "
        f"{outbound.bytesSent * 8 / (outbound.packetsSent * 20):.1f} kb/s of payload on average"
    )

    datagrams = [data for _, data, _ in peer.received_rtp]
    stream = pcmu_stream(datagrams, payload_type=0)
    received = stream.samples
    print(
        f"call centre received {stream.packets} PCMU packets ({len(received) / 8000:.2f} s), "
        f"{stream.missing} missing, {stream.duplicates} duplicated, {stream.gap_samples} samples of gaps"
    )
    assert len(received) >= len(reference), f"only {len(received)} samples reached the call centre, sent {len(reference)}"
    degraded, lag, peak = align(received, reference)
    for name, samples in (("reference", reference), ("direct-pcmu", direct), ("through-gateway", degraded)):
        write_wav(tmp_path / f"{name}.wav", samples)
    print(f"aligned at {lag / 8:.1f} ms into the call centre's stream, normalised correlation {peak:.3f}")
    assert peak > 0.8, f"what reached the call centre is not the speech sent (correlation {peak:.3f} at lag {lag})"

    direct_score = pesq(8000, reference.astype(np.float64), direct.astype(np.float64), "nb")
    gateway_score = pesq(8000, reference.astype(np.float64), degraded.astype(np.float64), "nb")
    print(
        f"PESQ-NB: speech → PCMU directly {direct_score:.3f}; browser Opus → gateway → PCMU {gateway_score:.3f} "
        f"(difference {direct_score - gateway_score:.3f}, allowed {MOS_MARGIN})"
    )
    assert gateway_score >= direct_score - MOS_MARGIN, (
        f"PESQ through the gateway {gateway_score:.3f} is more than {MOS_MARGIN} below direct PCMU {direct_score:.3f} "
        f"(the signals: {tmp_path}/*.wav)"
    )
