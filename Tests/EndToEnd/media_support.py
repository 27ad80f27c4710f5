"""An independent WebRTC stack (aiortc) as the browser, and the audio checks of the media tests.

`WebRTCBrowser` obtains nothing by itself: it is given a widget session (token and WebSocket URL),
makes an offer with aiortc (ICE candidates on 127.0.0.1 only), speaks SIP over the `/sip`
WebSocket as a browser does (RFC 7118), completes ICE and DTLS with the gateway, sends a tone (or
a given track, such as `PCMTrack` with speech) and records what comes back. `pcmu_stream` puts the
PCMU packets a call-centre peer received back together.
"""

from __future__ import annotations

import asyncio
import fractions
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import websockets

import aioice.ice
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from av import AudioFrame

from sip_support import body, first_line, header, sip_text as sip_message

# Media tests bind and advertise loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

SAMPLE_RATE = 48_000
FRAME = 960  # 20 ms


class ToneTrack(MediaStreamTrack):
    """A sine tone at real-time pace, 20 ms frames at 48 kHz mono."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self.samples = 0
        self.started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.started is None:
            self.started = time.monotonic()
        wait = self.started + self.samples / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = np.arange(self.samples, self.samples + FRAME) / SAMPLE_RATE
        pcm = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.samples += FRAME
        return frame


class PCMTrack(MediaStreamTrack):
    """Mono int16 samples at 48 kHz (a speech file, say) at real-time pace in 20 ms frames, then
    silence for as long as the call lasts. `started` is when the first frame was taken."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError(f"PCMTrack takes mono int16 samples, not {samples.dtype} of shape {samples.shape}")
        self.pcm = samples
        self.samples = 0
        self.started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.started is None:
            self.started = time.monotonic()
        wait = self.started + self.samples / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self.pcm[self.samples:self.samples + FRAME]
        pcm = np.zeros(FRAME, dtype=np.int16)
        pcm[:len(chunk)] = chunk
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.samples += FRAME
        return frame


# G.711 µ-law (the segment-and-bias formulation of ITU-T G.711 with bit inversion), in numpy.
_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def mulaw_encode(samples: np.ndarray) -> np.ndarray:
    """The µ-law codes (uint8) of int16 samples."""
    value = samples.astype(np.int32)
    sign = np.where(value < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(value), _MULAW_CLIP) + _MULAW_BIAS
    # The segment is the position of the highest set bit counted from bit 7 (0...7).
    segment = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    return (~(sign | (segment << 4) | mantissa) & 0xFF).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """The int16 samples of µ-law codes."""
    inverted = ~codes.astype(np.int32) & 0xFF
    segment = (inverted >> 4) & 0x07
    magnitude = (((inverted & 0x0F) << 3) + _MULAW_BIAS << segment) - _MULAW_BIAS
    return np.where(inverted & 0x80, -magnitude, magnitude).astype(np.int16)


def rtp_payload(data: bytes) -> tuple[int, int, int, bytes]:
    """Payload type, sequence number, timestamp and payload of an RTP packet (CSRCs, header
    extension and padding skipped); raises ValueError for what is not RTP."""
    if len(data) < 12 or data[0] >> 6 != 2:
        raise ValueError(f"not RTP: {data[:16].hex()}")
    start = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if len(data) < start + 4:
            raise ValueError(f"truncated RTP extension: {data[:16].hex()}")
        start += 4 + 4 * int.from_bytes(data[start + 2:start + 4], "big")
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)
    if end < start:
        raise ValueError(f"truncated RTP: {data[:16].hex()}")
    return data[1] & 0x7F, int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big"), data[start:end]


@dataclass
class PCMUStream:
    """One received PCMU stream put back together: `samples` at 8 kHz, each packet at the place
    its timestamp gives (relative to the first), gaps as silence."""

    samples: np.ndarray
    packets: int
    duplicates: int
    # Sequence numbers missing between the first and the last packet.
    missing: int
    # 8 kHz samples not covered by any packet between the first and the last.
    gap_samples: int


def pcmu_stream(datagrams: list[bytes], payload_type: int = 0) -> PCMUStream:
    """Orders the PCMU packets of one stream by (unwrapped) sequence number and lays their
    decoded payloads out on the timestamp axis."""
    packets = []
    for data in datagrams:
        kind, sequence, timestamp, payload = rtp_payload(data)
        if kind == payload_type and payload:
            packets.append((sequence, timestamp, payload))
    if not packets:
        return PCMUStream(np.zeros(0, dtype=np.int16), 0, 0, 0, 0)
    # Unwrap 16-bit sequence numbers and 32-bit timestamps relative to the first packet.
    first_sequence, first_timestamp = packets[0][0], packets[0][1]
    unwrapped = {}
    duplicates = 0
    for sequence, timestamp, payload in packets:
        index = ((sequence - first_sequence + 0x8000) % 0x10000) - 0x8000
        offset = ((timestamp - first_timestamp + 2**31) % 2**32) - 2**31
        if index in unwrapped:
            duplicates += 1
            continue
        unwrapped[index] = (offset, payload)
    ordered = [unwrapped[index] for index in sorted(unwrapped)]
    base = min(offset for offset, _ in ordered)
    length = max(offset - base + len(payload) for offset, payload in ordered)
    samples = np.zeros(length, dtype=np.int16)
    covered = np.zeros(length, dtype=bool)
    for offset, payload in ordered:
        at = offset - base
        samples[at:at + len(payload)] = mulaw_decode(np.frombuffer(payload, dtype=np.uint8))
        covered[at:at + len(payload)] = True
    missing = (max(unwrapped) - min(unwrapped) + 1) - len(unwrapped)
    return PCMUStream(samples, len(unwrapped), duplicates, missing, int(length - covered.sum()))


def tone_analysis(samples: np.ndarray, rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """The dominant frequency (Hz) and the RMS level (dBFS) of mono int16 samples."""
    if len(samples) < rate // 10:
        return 0.0, -120.0
    x = samples.astype(np.float64) / 32768
    rms = float(np.sqrt(np.mean(x**2)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    frequency = float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])
    return frequency, 20 * np.log10(max(rms, 1e-9))


@dataclass
class CallResult:
    final: str = ""
    answer_sdp: str = ""
    received: list[np.ndarray] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE
    ended_by_peer: str | None = None
    reinvite_final: str = ""
    # When each received audio frame arrived (time.monotonic()).
    arrivals: list[float] = field(default_factory=list)
    offer_sdp: str = ""
    # aiortc's getStats() just before the hang-up: RTCStats objects by id.
    stats: dict = field(default_factory=dict)

    def stats_of(self, kind: str) -> list:
        """The stats entries of one type ("remote-inbound-rtp", "remote-outbound-rtp", ...)."""
        return [entry for entry in self.stats.values() if getattr(entry, "type", None) == kind]

    @property
    def status(self) -> int:
        parts = self.final.split(" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

    def audio(self, skip_seconds: float = 0.0) -> np.ndarray:
        if not self.received:
            return np.zeros(0, dtype=np.int16)
        samples = np.concatenate(self.received)
        return samples[int(skip_seconds * self.sample_rate):]


class WebRTCBrowser:
    """One browser call through the gateway: aiortc media, SIP over the widget WebSocket."""

    def __init__(
        self, websocket_url: str, *, codecs: list[str] | None = None, tone_hz: float = 440.0, glare: bool = False,
        track: MediaStreamTrack | None = None,
    ) -> None:
        self.websocket_url = websocket_url
        self.codecs = codecs  # e.g. ["audio/opus"] or ["audio/PCMU"]
        self.tone_hz = tone_hz
        # What the browser sends: a tone of `tone_hz` unless another track is given.
        self.track = track
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:10]
        self.remote_tag: str | None = None
        self.cseq = 1
        self.pc = RTCPeerConnection()
        self.result = CallResult()
        self._recording: asyncio.Task | None = None
        # In-dialog requests from the gateway other than BYE, as received, with when they came;
        # and the answers to its re-INVITEs.
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self.reinvite_answers: list[str] = []
        # With `glare`, the first re-INVITE from the gateway crosses a re-INVITE of the browser's
        # own: that one's final response is kept here, and the gateway's is answered 491.
        self.glare = glare
        self.glare_final = ""

    def _request(self, method: str, cseq: int, body_text: str = "", content_type: str = "application/sdp") -> str:
        uri = "sip:callcentre@switchboard.invalid"
        to = f"<{uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/WSS a7x2.invalid;branch=z9hG4bK{uuid.uuid4().hex[:12]}",
            "Max-Forwards: 70",
            f'From: "Shopper" <sip:shopper@a7x2.invalid>;tag={self.tag}',
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            "Contact: <sip:shopper@a7x2.invalid;transport=ws;ob>",
        ]
        if body_text:
            lines.append(f"Content-Type: {content_type}")
        return sip_message(lines, body_text)

    async def _record(self, track) -> None:
        try:
            while True:
                frame = await track.recv()
                pcm = frame.to_ndarray()
                if pcm.ndim == 2 and pcm.shape[0] > 1:
                    pcm = pcm.mean(axis=0).astype(np.int16)
                elif frame.layout.name == "stereo":
                    pcm = pcm.reshape(-1, 2).mean(axis=1).astype(np.int16)
                self.result.sample_rate = frame.sample_rate
                self.result.received.append(pcm.reshape(-1).astype(np.int16))
                self.result.arrivals.append(time.monotonic())
        except Exception:
            return

    async def _final(self, ws, method: str, timeout: float = 20) -> str:
        """The next final response to `method` on `ws`."""
        while True:
            text = await asyncio.wait_for(ws.recv(), timeout=timeout)
            line = first_line(text)
            if line.startswith("SIP/2.0") and method in (header(text, "CSeq") or "") and int(line.split(" ")[1]) >= 200:
                return text

    async def _talk(self, ws, seconds: float) -> None:
        """Keeps the call up for `seconds`, answering a BYE from the gateway."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.result.ended_by_peer is None:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=max(0.05, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if first_line(text).startswith("BYE"):
                self.result.ended_by_peer = "BYE"
                await ws.send(self._ok(text))
            elif not first_line(text).startswith(("SIP/2.0", "ACK")) and text.strip():
                self.requests.append(text)
                self.request_times.append(time.monotonic())
                if first_line(text).startswith("INVITE"):
                    await self._answer_reinvite(ws, text)

    async def _answer_reinvite(self, ws, request: str) -> None:
        """A re-INVITE from the gateway (hold, resume): aiortc answers its offer."""
        if self.glare and not self.glare_final:
            own = self._request("INVITE", self.cseq, self.pc.localDescription.sdp)
            await ws.send(own)
            final = await self._final(ws, "INVITE")
            self.glare_final = first_line(final)
            # The ACK of a non-2xx belongs to the INVITE's transaction: its branch, the response's To.
            ack = [f"ACK {own.split(' ', 2)[1]} SIP/2.0"] + [
                f"{name}: {header(source, name)}" for name, source in (("Via", own), ("Max-Forwards", own), ("From", own), ("To", final), ("Call-ID", own))
            ] + [f"CSeq: {self.cseq} ACK"]
            await ws.send(sip_message(ack))
            self.cseq += 1
            await ws.send(self._ok(request, status="491 Request Pending"))
            return
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body(request), type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as error:  # the test sees the refusal in reinvite_answers
            self.reinvite_answers.append(f"488 {error!r}")
            await ws.send(self._ok(request, status="488 Not Acceptable Here"))
            return
        self.reinvite_answers.append(self.pc.localDescription.sdp)
        await ws.send(self._ok(request, self.pc.localDescription.sdp))

    async def call(
        self, talk_seconds: float = 4.0, offer_transform=None, hangup: bool = True, during=None, reconnect_after: float | None = None
    ) -> CallResult:
        """Places the call, talks for `talk_seconds` after the answer (or until the gateway sends
        BYE), hangs up (BYE). `during(answer_sdp)`, if given, is awaited once right after the ACK."""
        transceiver = self.pc.addTransceiver(self.track or ToneTrack(self.tone_hz), direction="sendrecv")
        if self.codecs:
            capabilities = RTCRtpSender.getCapabilities("audio").codecs
            transceiver.setCodecPreferences([c for c in capabilities if c.mimeType in self.codecs])

        @self.pc.on("track")
        def on_track(track) -> None:
            self._recording = asyncio.ensure_future(self._record(track))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        if offer_transform:
            offer = offer_transform(offer)
        self.result.offer_sdp = offer
        ws = await websockets.connect(self.websocket_url, subprotocols=["sip"], open_timeout=10)
        try:
            await ws.send(self._request("INVITE", 1, offer))
            text = await self._final(ws, "INVITE")
            self.result.final = first_line(text)
            to = header(text, "To") or ""
            if ";tag=" in to:
                self.remote_tag = to.split(";tag=", 1)[1].split(";")[0]
            if self.result.status >= 300:
                await ws.send(self._request("ACK", 1))
                await self.pc.close()
                return self.result
            self.result.answer_sdp = body(text)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.result.answer_sdp, type="answer"))
            await ws.send(self._request("ACK", 1))
            if during is not None:
                asyncio.ensure_future(during(self.result.answer_sdp))
            self.cseq = 2
            if reconnect_after is not None:
                # A network change: the WebSocket drops, a new one carries the dialog on with a
                # re-INVITE, as the widget does.
                await self._talk(ws, reconnect_after)
                await ws.close()
                await asyncio.sleep(0.5)
                ws = await websockets.connect(self.websocket_url, subprotocols=["sip"], open_timeout=10)
                await ws.send(self._request("INVITE", self.cseq, self.pc.localDescription.sdp))
                text = await self._final(ws, "INVITE")
                self.result.reinvite_final = first_line(text)
                await ws.send(self._request("ACK", self.cseq))
                self.cseq += 1
            await self._talk(ws, talk_seconds)
            self.result.stats = dict(await self.pc.getStats())
            if hangup and self.result.ended_by_peer is None:
                await ws.send(self._request("BYE", self.cseq))
                try:
                    await self._final(ws, "BYE", timeout=5)
                except asyncio.TimeoutError:
                    pass
        finally:
            await ws.close()
        if self._recording:
            self._recording.cancel()
        await self.pc.close()
        return self.result

    @staticmethod
    def _ok(request: str, sdp: str = "", status: str = "200 OK") -> str:
        lines = [f"SIP/2.0 {status}"] + [
            f"{name}: {header(request, name)}" for name in ("Via", "From", "To", "Call-ID", "CSeq") if header(request, name)
        ]
        if sdp:
            lines += ["Contact: <sip:shopper@a7x2.invalid;transport=ws;ob>", "Content-Type: application/sdp"]
        return sip_message(lines, sdp)


def run(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


def answer_port(sdp: str) -> int:
    """The port of the first audio line of an SDP."""
    for line in sdp.split("\r\n"):
        if line.startswith("m=audio "):
            return int(line.split(" ")[1])
    raise AssertionError(f"no audio line in {sdp!r}")


# --------------------------------------------------------------------------------------------
# RTCP as the call centre sees it: a test-owned RTP/RTCP peer and a compound-packet parser.


def ntp_now() -> int:
    """The 64-bit NTP timestamp of the wallclock."""
    now = time.time() + 2_208_988_800
    return (int(now) << 32) | int((now % 1) * (1 << 32))


def compact(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp (LSR, RFC 3550 §6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass
class ReportBlock:
    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int


@dataclass
class RTCPPacket:
    packet_type: int
    count: int
    ssrc: int
    ntp: int = 0
    rtp_timestamp: int = 0
    packet_count: int = 0
    octet_count: int = 0
    blocks: list[ReportBlock] = field(default_factory=list)
    cname: bytes | None = None
    sources: list[int] = field(default_factory=list)


def parse_rtcp(data: bytes) -> list[RTCPPacket]:
    """The packets of a compound RTCP packet; raises ValueError when the lengths do not add up."""
    packets = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 8 or data[offset] >> 6 != 2:
            raise ValueError(f"not RTCP at {offset}: {data.hex()}")
        count = data[offset] & 0x1F
        packet_type = data[offset + 1]
        length = 4 * (int.from_bytes(data[offset + 2:offset + 4], "big") + 1)
        body = data[offset:offset + length]
        if len(body) != length:
            raise ValueError(f"truncated RTCP: {data.hex()}")
        packet = RTCPPacket(packet_type, count, int.from_bytes(body[4:8], "big"))
        blocks_at = None
        if packet_type == 200:
            packet.ntp = int.from_bytes(body[8:16], "big")
            packet.rtp_timestamp = int.from_bytes(body[16:20], "big")
            packet.packet_count = int.from_bytes(body[20:24], "big")
            packet.octet_count = int.from_bytes(body[24:28], "big")
            blocks_at = 28
        elif packet_type == 201:
            blocks_at = 8
        elif packet_type == 202 and count >= 1 and len(body) >= 10 and body[8] == 1:
            packet.cname = body[10:10 + body[9]]
        elif packet_type == 203:
            packet.sources = [int.from_bytes(body[4 + 4 * i:8 + 4 * i], "big") for i in range(count)]
        if blocks_at is not None:
            for index in range(count):
                block = body[blocks_at + 24 * index:blocks_at + 24 * (index + 1)]
                lost = int.from_bytes(block[5:8], "big")
                packet.blocks.append(
                    ReportBlock(
                        ssrc=int.from_bytes(block[0:4], "big"),
                        fraction_lost=block[4],
                        cumulative_lost=lost - (1 << 24) if lost & 0x800000 else lost,
                        highest_sequence=int.from_bytes(block[8:12], "big"),
                        jitter=int.from_bytes(block[12:16], "big"),
                        lsr=int.from_bytes(block[16:20], "big"),
                        dlsr=int.from_bytes(block[20:24], "big"),
                    )
                )
        packets.append(packet)
        offset += length
    return packets


def rtp_port_pair():
    """Two non-blocking UDP sockets on 127.0.0.1: RTP on an even port, RTCP on the next."""
    import socket

    while True:
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port % 2:
                raise OSError("odd port")
            rtcp.bind(("127.0.0.1", port + 1))
            break
        except OSError:
            rtp.close()
            rtcp.close()
    rtp.setblocking(False)
    rtcp.setblocking(False)
    return rtp, rtcp


class RTPPeer:
    """The call centre's media, owned by the test: RTP on an even port of 127.0.0.1 and RTCP on
    the next. Once the gateway's RTP arrives, it sends its own PCMU stream back (SSRC `ssrc`,
    20 ms apart, sequence numbers `skip` left out: known loss) and every second an SR, with a
    report block about the gateway's stream once the gateway's SR has come. It records every
    datagram it gets, with the time it arrived."""

    def __init__(self, ssrc: int = 0x5EE05EE0, first_sequence: int = 1000, skip: range = range(1010, 1013)) -> None:
        import socket
        import threading

        self.ssrc = ssrc
        self.first_sequence = first_sequence
        self.skip = skip
        self.rtp, self.rtcp = rtp_port_pair()
        self.port = self.rtp.getsockname()[1]
        self.received_rtp: list[tuple[float, bytes, tuple]] = []
        self.received_rtcp: list[tuple[float, bytes, tuple]] = []  # on the RTCP port
        self.rtcp_on_rtp_port: list[bytes] = []
        self.sent_srs: list[tuple[float, int]] = []  # (time, NTP)
        self.sent_rtp = 0
        self._gateway_sr: tuple[int, float] | None = None  # (LSR, arrival)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RTPPeer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.rtp.close()
        self.rtcp.close()

    def _sr(self, gateway_ssrc: int | None) -> bytes:
        ntp = ntp_now()
        self.sent_srs.append((time.time(), ntp))
        blocks = b""
        if self._gateway_sr is not None and gateway_ssrc is not None:
            lsr, arrival = self._gateway_sr
            dlsr = int((time.time() - arrival) * 65536)
            blocks = gateway_ssrc.to_bytes(4, "big") + bytes(8) + bytes(4) + lsr.to_bytes(4, "big") + dlsr.to_bytes(4, "big")
        count = len(blocks) // 24
        sr = bytes([0x80 | count, 200]) + ((28 + len(blocks)) // 4 - 1).to_bytes(2, "big") + self.ssrc.to_bytes(4, "big")
        sr += ntp.to_bytes(8, "big") + (self.sent_rtp * 160).to_bytes(4, "big")
        sr += self.sent_rtp.to_bytes(4, "big") + (self.sent_rtp * 160).to_bytes(4, "big") + blocks
        cname = b"agent-media"
        chunk = self.ssrc.to_bytes(4, "big") + bytes([1, len(cname)]) + cname + b"\0"
        chunk += b"\0" * (-len(chunk) % 4)
        sdes = bytes([0x81, 202]) + ((4 + len(chunk)) // 4 - 1).to_bytes(2, "big") + chunk
        return sr + sdes

    def _run(self) -> None:
        import select

        gateway: tuple | None = None
        gateway_ssrc: int | None = None
        sequence = self.first_sequence
        next_rtp = next_sr = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            readable, _, _ = select.select([self.rtp, self.rtcp], [], [], 0.005)
            datagrams = []
            for sock in readable:
                # Everything queued, so arrival times lag the kernel's as little as possible.
                while True:
                    try:
                        data, address = sock.recvfrom(2048)
                    except BlockingIOError:
                        break
                    datagrams.append((sock, data, address, time.time()))
            for sock, data, address, arrival in datagrams:
                if sock is self.rtp:
                    if len(data) >= 2 and 200 <= data[1] <= 204:
                        self.rtcp_on_rtp_port.append(data)
                        continue
                    self.received_rtp.append((arrival, data, address))
                    gateway = address
                    gateway_ssrc = int.from_bytes(data[8:12], "big")
                else:
                    self.received_rtcp.append((arrival, data, address))
                    try:
                        for packet in parse_rtcp(data):
                            if packet.packet_type == 200:
                                self._gateway_sr = (compact(packet.ntp), arrival)
                    except ValueError:
                        pass
            if gateway is None:
                continue
            if now >= next_rtp:
                next_rtp = now + 0.02 if next_rtp == 0 else next_rtp + 0.02
                while sequence in self.skip:
                    sequence += 1
                header = bytes([0x80, 0]) + (sequence & 0xFFFF).to_bytes(2, "big")
                header += ((sequence - self.first_sequence) * 160 & 0xFFFFFFFF).to_bytes(4, "big") + self.ssrc.to_bytes(4, "big")
                self.rtp.sendto(header + b"\xff" * 160, gateway)
                self.sent_rtp += 1
                sequence += 1
            if now >= next_sr:
                next_sr = now + 1.0
                self.rtcp.sendto(self._sr(gateway_ssrc), (gateway[0], gateway[1] + 1))

    def reports(self) -> list[tuple[float, list[RTCPPacket]]]:
        """The compound packets that came to the RTCP port, parsed, with their arrival times."""
        return [(arrival, parse_rtcp(data)) for arrival, data, _ in self.received_rtcp]


@dataclass
class FeedbackMessage:
    """One RTPFB/PSFB message of an RTCP packet: its type (205 or 206), FMT, sender and media
    SSRCs, the lost sequence numbers of a generic NACK and the (SSRC, sequence number) entries of
    a FIR."""

    packet_type: int
    fmt: int
    sender: int
    media: int
    lost: list[int] = field(default_factory=list)
    fir: list[tuple[int, int]] = field(default_factory=list)


def feedback_messages(data: bytes) -> list[FeedbackMessage]:
    """The transport- and payload-specific feedback messages (RFC 4585, RFC 5104) of a compound
    RTCP packet; raises ValueError when the lengths do not add up."""
    messages = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4 or data[offset] >> 6 != 2:
            raise ValueError(f"not RTCP at {offset}: {data.hex()}")
        fmt, packet_type = data[offset] & 0x1F, data[offset + 1]
        length = 4 * (int.from_bytes(data[offset + 2:offset + 4], "big") + 1)
        packet = data[offset:offset + length]
        if len(packet) != length:
            raise ValueError(f"truncated RTCP: {data.hex()}")
        offset += length
        if packet_type not in (205, 206) or length < 12:
            continue
        message = FeedbackMessage(packet_type, fmt, int.from_bytes(packet[4:8], "big"), int.from_bytes(packet[8:12], "big"))
        fci = packet[12:]
        if packet_type == 205 and fmt == 1:
            for at in range(0, len(fci) - 3, 4):
                pid, blp = int.from_bytes(fci[at:at + 2], "big"), int.from_bytes(fci[at + 2:at + 4], "big")
                message.lost += [pid] + [(pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1]
        elif packet_type == 206 and fmt == 4:
            message.fir = [(int.from_bytes(fci[at:at + 4], "big"), fci[at + 4]) for at in range(0, len(fci) - 7, 8)]
        messages.append(message)
    return messages


class VideoEchoPeer:
    """The call centre's video, owned by the test: RTP on an even port of 127.0.0.1 and RTCP on
    the next. It sends the video the gateway sends it back to where it came from, under its own
    SSRC (`ssrc`), sequence numbers, timestamps and payload as they came. `skip(n)` leaves the
    next `n` packets out of the echo (known loss); a generic NACK for them is answered by sending
    them again, once. `send_pli()` and `send_fir()` ask the gateway's stream for a keyframe
    (empty RR + PLI or FIR, from the RTCP port to the gateway's `rtcp_port`). It records the RTP
    it gets, every feedback message, on either port, and the layout of each compound packet."""

    def __init__(self, ssrc: int = 0x11223344) -> None:
        import socket
        import threading

        self.ssrc = ssrc
        self.rtp, self.rtcp = rtp_port_pair()
        self.port = self.rtp.getsockname()[1]
        self.lock = threading.Lock()
        self.gateway: tuple | None = None  # where the gateway's video RTP comes from
        self.gateway_ssrcs: set[int] = set()
        self.payload_types: set[int] = set()
        self.rtp_received = 0
        self.echoed = 0
        self.skipped: list[int] = []
        self.retransmitted: list[int] = []
        self.feedback: list[tuple[str, FeedbackMessage]] = []  # ("rtcp" or "rtp" port, message)
        self.compounds: list[list[tuple[int, int, int]]] = []  # per compound packet: (type, count or FMT, sender SSRC) of each
        self.malformed_rtcp: list[bytes] = []
        self.fir_sequence = 0
        self._to_skip = 0
        self._history: dict[int, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "VideoEchoPeer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.rtp.close()
        self.rtcp.close()

    def skip(self, count: int) -> None:
        with self.lock:
            self._to_skip = count

    def nacks(self) -> list[FeedbackMessage]:
        with self.lock:
            return [m for _, m in self.feedback if m.packet_type == 205 and m.fmt == 1]

    def _empty_rr(self) -> bytes:
        return bytes([0x80, 201]) + (1).to_bytes(2, "big") + self.ssrc.to_bytes(4, "big")

    def send_pli(self, media_ssrc: int, rtcp_port: int) -> None:
        pli = bytes([0x80 | 1, 206]) + (2).to_bytes(2, "big") + self.ssrc.to_bytes(4, "big") + media_ssrc.to_bytes(4, "big")
        self.rtcp.sendto(self._empty_rr() + pli, ("127.0.0.1", rtcp_port))

    def send_fir(self, media_ssrc: int, rtcp_port: int) -> None:
        # RFC 5104 §4.3.1: the media source field is 0, the FCI names the SSRC; a new request
        # has a new sequence number.
        self.fir_sequence = (self.fir_sequence + 1) & 0xFF
        fir = bytes([0x80 | 4, 206]) + (4).to_bytes(2, "big") + self.ssrc.to_bytes(4, "big") + bytes(4)
        fir += media_ssrc.to_bytes(4, "big") + bytes([self.fir_sequence]) + bytes(3)
        self.rtcp.sendto(self._empty_rr() + fir, ("127.0.0.1", rtcp_port))

    def _feedback(self, data: bytes, port: str) -> None:
        try:
            messages = feedback_messages(data)
        except ValueError:
            self.malformed_rtcp.append(data)
            return
        layout = []
        offset = 0
        while offset + 8 <= len(data):
            layout.append((data[offset + 1], data[offset] & 0x1F, int.from_bytes(data[offset + 4:offset + 8], "big")))
            offset += 4 * (int.from_bytes(data[offset + 2:offset + 4], "big") + 1)
        with self.lock:
            self.feedback += [(port, m) for m in messages]
            self.compounds.append(layout)
        for message in messages:
            if message.packet_type == 205 and message.fmt == 1 and message.media == self.ssrc and self.gateway is not None:
                for sequence in message.lost:
                    packet = self._history.get(sequence)
                    if packet is not None and sequence not in self.retransmitted:
                        self.rtp.sendto(packet, self.gateway)
                        self.retransmitted.append(sequence)

    def _run(self) -> None:
        import select

        while not self._stop.is_set():
            readable, _, _ = select.select([self.rtp, self.rtcp], [], [], 0.01)
            for sock in readable:
                while True:
                    try:
                        data, address = sock.recvfrom(2048)
                    except BlockingIOError:
                        break
                    if len(data) < 12 or data[0] >> 6 != 2:
                        continue
                    if sock is self.rtcp or 200 <= data[1] <= 206:
                        self._feedback(data, "rtcp" if sock is self.rtcp else "rtp")
                        continue
                    self._echo(data, address)

    def _echo(self, data: bytes, address: tuple) -> None:
        with self.lock:
            self.gateway = address
            self.gateway_ssrcs.add(int.from_bytes(data[8:12], "big"))
            self.payload_types.add(data[1] & 0x7F)
            self.rtp_received += 1
            sequence = int.from_bytes(data[2:4], "big")
            packet = data[:8] + self.ssrc.to_bytes(4, "big") + data[12:]
            self._history[sequence] = packet
            self._history.pop((sequence - 512) & 0xFFFF, None)
            if self._to_skip > 0:
                self._to_skip -= 1
                self.skipped.append(sequence)
                return
            self.echoed += 1
        self.rtp.sendto(packet, address)
