"""Helpers for the browser tests of the Call Me widget (WebClient/callme.js).

- `ShopServer`: a small shop page on 127.0.0.1 (and, for the foreign-origin test, on
  `localhost`, another origin) that embeds the widget with a script tag, records the widget's
  DOM events and the SIP messages on its WebSocket.
- `CallCentre`: a SIP user agent over UDP that answers the gateway's INVITEs. Its media is a
  pluggable `MediaPeer` chosen by the offer (`echo_peer_for`): `AiortcEchoPeer` (aiortc: ICE,
  DTLS-SRTP, Opus) while the gateway passes the browser's SDP through, `RtpEchoPeer` (plain
  RTP, G.711) once the gateway terminates WebRTC itself. Both send the audio back.
  `ImpairedRtpPeer` sends a PCMU stream of its own with known loss or timing jitter.
- `chromium()`: headless Chromium under Selenium with fake media devices.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Protocol
from urllib.parse import parse_qs, urlparse

from sip_support import SipMessage
from support import REPO, free_port

WIDGET_JS = REPO / "WebClient" / "callme.js"
SCREENSHOTS = REPO / "WebClient" / "screenshots"

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
    "--disable-gpu", "--disable-dev-shm-usage", "--window-size=960,720", "--lang=en-US",
]


# --------------------------------------------------------------------------------------------
# Chromium


def chromium(*, fake_ui: bool = True, lang: str = "en-US"):
    """A headless Chromium. With `fake_ui`, media permission prompts are accepted; without it,
    permissions are decided by Chromium's own permission settings (the tests deny them)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert binary, "chromium not found: apt-get install chromium chromium-driver (scripts/install-deps.sh)"
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag if not flag.startswith("--lang=") else f"--lang={lang}")
    if fake_ui:
        options.add_argument("--use-fake-ui-for-media-stream")
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromedriver not found: apt-get install chromium-driver (scripts/install-deps.sh)"
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(20)
    return driver


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, message: str | Callable[[], str] = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"condition not met within {timeout}s: {text}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# The shop page

PAGE_TEXT = {
    "en": {
        "title": "Nordlicht Coffee — Espresso Machine Aurora",
        "shop": "Nordlicht Coffee",
        "nav": ["Coffee", "Machines", "Accessories", "Contact"],
        "product": "Espresso machine “Aurora”",
        "price": "€ 649.00",
        "text": "Dual boiler, PID temperature control and a quiet rotary pump. Questions before you buy? Our baristas are happy to help.",
        "cart": "Add to cart",
    },
    "de": {
        "title": "Nordlicht Kaffee — Espressomaschine Aurora",
        "shop": "Nordlicht Kaffee",
        "nav": ["Kaffee", "Maschinen", "Zubehör", "Kontakt"],
        "product": "Espressomaschine „Aurora“",
        "price": "649,00 €",
        "text": "Zwei Kessel, PID-Temperaturregelung und eine leise Rotationspumpe. Fragen vor dem Kauf? Unsere Baristas helfen gern.",
        "cart": "In den Warenkorb",
    },
}

# Instrumentation of the page (not of the widget): widget events in order, the widget's
# data-state changes, every SIP message the page sends or receives on a WebSocket, and the
# WebSockets themselves (so that a test can cut one).
RECORDER = """
window.__events = [];
for (const name of ["ringing", "connected", "ended", "warning"]) {
  document.addEventListener("callme:" + name, (e) => __events.push({type: name, detail: e.detail, at: Date.now()}));
}
window.__states = [];
new MutationObserver((records) => {
  for (const r of records) if (r.target.localName === "callme-button") __states.push({state: r.target.getAttribute("data-state"), at: Date.now()});
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
window.__sip = [];
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    __sockets.push(this);
    __sip.push({dir: "open", url: String(args[0]), protocols: args[1] || null});
    this.addEventListener("message", (e) => __sip.push({dir: "in", text: String(e.data)}));
    this.addEventListener("close", (e) => __sip.push({dir: "close", code: e.code}));
  }
  send(data) { __sip.push({dir: "out", text: String(data)}); return super.send(data); }
};
"""


def shop_page(*, widget: str, gateway: str, script_src: str, lang: str | None, context: dict | None, token_url: str | None = None) -> str:
    text = PAGE_TEXT["de" if lang == "de" else "en"]
    data_lang = f' data-lang="{html.escape(lang)}"' if lang else ""
    if token_url:
        data_lang += f' data-token-url="{html.escape(token_url)}"'
    queue = ""
    if context is not None:
        queue = f'window.CallMe = window.CallMe || []; CallMe.push(["setContext", {json.dumps(context)}]);'
    nav = "".join(f"<a href='#'>{html.escape(item)}</a>" for item in text["nav"])
    return f"""<!doctype html>
<html lang="{'de' if lang == 'de' else 'en'}"><head><meta charset="utf-8"><title>{html.escape(text['title'])}</title>
<style>
body{{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1c1917;background:#faf7f2}}
header{{display:flex;align-items:center;gap:32px;padding:14px 32px;background:#292524;color:#fafaf9}}
header strong{{font-size:20px}} header a{{color:#e7e5e4;text-decoration:none;margin-inline-end:20px}}
main{{display:flex;gap:32px;padding:32px;max-width:820px}}
.photo{{flex:none;width:260px;height:260px;border-radius:12px;background:linear-gradient(135deg,#78350f,#d6d3d1)}}
h1{{margin:0 0 8px;font-size:26px}} .price{{font-size:22px;font-weight:700;color:#7c2d12}}
button.cart{{font:inherit;padding:10px 20px;border:0;border-radius:8px;background:#7c2d12;color:#fff}}
</style>
<script>{RECORDER}{queue}</script>
</head><body>
<header><strong>{html.escape(text['shop'])}</strong><nav>{nav}</nav></header>
<main><div class="photo" role="img" aria-label="{html.escape(text['product'])}"></div>
<div><h1>{html.escape(text['product'])}</h1><p class="price">{html.escape(text['price'])}</p>
<p>{html.escape(text['text'])}</p><button class="cart" type="button">{html.escape(text['cart'])}</button></div></main>
<script src="{html.escape(script_src)}" async data-widget="{html.escape(widget)}" data-gateway="{html.escape(gateway)}"{data_lang}></script>
</body></html>"""


class ShopServer:
    """Serves `/shop` (query: widget, gateway, lang, context as JSON, script=local|gateway,
    token_url) and `/callme.js` (the working copy of WebClient/callme.js) on 127.0.0.1, and, as
    the shop's backend, `POST /token`: `mint(request_json)` returns the response (status, JSON)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mint: Callable[[dict], tuple[int, Any]] | None = None
        self.token_requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                if urlparse(self.path).path != "/token" or server.mint is None:
                    self.send_error(404)
                    return
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                server.token_requests.append(request)
                status, answer = server.mint(request)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/callme.js":
                    body, kind = WIDGET_JS.read_bytes(), "text/javascript; charset=utf-8"
                elif url.path == "/shop":
                    script = query.get("script_src") or f"http://{self.headers.get('Host')}/callme.js"
                    context = json.loads(query["context"]) if "context" in query else None
                    body = shop_page(
                        widget=query["widget"], gateway=query["gateway"], script_src=script,
                        lang=query.get("lang"), context=context, token_url=query.get("token_url"),
                    ).encode()
                    kind = "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def foreign_origin(self) -> str:
        """The same server under another origin (not in the widget's allowedOrigins)."""
        return f"http://localhost:{self.port}"

    def url(self, *, origin: str | None = None, **query: Any) -> str:
        from urllib.parse import urlencode

        return f"{origin or self.origin}/shop?" + urlencode({k: v for k, v in query.items() if v is not None})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# The call centre's media


class MediaPeer(Protocol):
    """The call centre's media for one call: answers the SDP offer the INVITE carries."""

    async def answer(self, offer_sdp: str) -> str: ...

    async def close(self) -> None: ...


def _loopback_only_ice() -> None:
    """aiortc gathers host candidates from every interface; the tests keep ICE on 127.0.0.1."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]


class AiortcEchoPeer:
    """A WebRTC peer (aiortc) that sends back the audio it receives."""

    def __init__(self) -> None:
        _loopback_only_ice()
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: host candidates only
        self.received_audio = False

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self.received_audio = True
                self.pc.addTrack(track)  # echo

    async def answer(self, offer_sdp: str) -> str:
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        await self.pc.close()


class RtpEchoPeer:
    """A plain RTP peer (RFC 3550, G.711) on 127.0.0.1 that sends every packet it receives back
    to where it came from (symmetric RTP), under its own SSRC."""

    SSRC = bytes.fromhex("5ca11ab1")

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.packets = 0

    async def answer(self, offer_sdp: str) -> str:
        media = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", offer_sdp, re.M)
        assert media, f"no RTP/AVP audio in the offer:\n{offer_sdp}"
        offered = media.group(2).split()
        codec = "0" if "0" in offered else "8" if "8" in offered else offered[0]
        events = re.search(r"^a=rtpmap:(\d+) telephone-event/8000", offer_sdp, re.M)
        peer = self

        class Echo(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if len(data) >= 12 and data[0] >> 6 == 2 and peer.transport:
                    peer.packets += 1
                    peer.transport.sendto(data[:8] + RtpEchoPeer.SSRC + data[12:], addr)

        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = self.transport.get_extra_info("sockname")[1]
        payloads = codec + (f" {events.group(1)}" if events else "")
        lines = [
            "v=0", f"o=callcentre 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            f"m=audio {port} RTP/AVP {payloads}",
            f"a=rtpmap:{codec} {'PCMU' if codec == '0' else 'PCMA' if codec == '8' else 'PCMU'}/8000",
        ]
        if events:
            lines += [f"a=rtpmap:{events.group(1)} telephone-event/8000", f"a=fmtp:{events.group(1)} 0-16"]
        lines += ["a=ptime:20", "a=sendrecv"]
        self.local_sdp = "\r\n".join(lines) + "\r\n"
        return self.local_sdp

    async def close(self) -> None:
        if self.transport:
            self.transport.close()


class ImpairedRtpPeer:
    """A plain RTP peer (PCMU, `frame_ms` per packet) on 127.0.0.1 that sends a stream of its own
    to the gateway once the gateway's RTP arrives (symmetric RTP), with known impairments: the
    frames whose index `drop(n)` is true are never sent (their sequence numbers and timestamps
    are skipped: loss), and frame n leaves `schedule(n)` seconds after the first (default
    n × frame_ms; its RTP timestamp is always n × 8 × frame_ms, so another schedule is timing
    jitter). Its payload is PCMU silence; it counts what it sent, left out and received."""

    SSRC = 0x1A77E4ED

    def __init__(self, *, drop: Callable[[int], bool] = lambda n: False, schedule: Callable[[int], float] | None = None, frame_ms: int = 20) -> None:
        import socket

        self.drop = drop
        self.frame_ms = frame_ms
        self.schedule = schedule or (lambda n: n * frame_ms / 1000)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.sent = 0
        self.dropped = 0
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def answer(self, offer_sdp: str) -> str:
        media = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", offer_sdp, re.M)
        assert media and "0" in media.group(2).split(), f"no PCMU in the offer:\n{offer_sdp}"
        port = self.sock.getsockname()[1]
        self._thread.start()
        return "\r\n".join([
            "v=0", "o=callcentre 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            f"m=audio {port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000", f"a=ptime:{self.frame_ms}", "a=sendrecv",
        ]) + "\r\n"

    def _run(self) -> None:
        gateway = None
        while gateway is None and not self._stop.is_set():
            try:
                data, address = self.sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2 and not 200 <= data[1] <= 204:
                gateway = address
                self.received += 1
        self.sock.setblocking(False)
        samples = 8 * self.frame_ms
        start = time.monotonic()
        n = 0
        while not self._stop.is_set():
            wait = start + self.schedule(n) - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)
                continue
            while True:  # the gateway's stream is only counted
                try:
                    self.sock.recvfrom(2048)
                    self.received += 1
                except (BlockingIOError, OSError):
                    break
            if self.drop(n):
                self.dropped += 1
            else:
                header = bytes([0x80, 0x80 if n == 0 else 0]) + (n & 0xFFFF).to_bytes(2, "big")
                header += (n * samples & 0xFFFFFFFF).to_bytes(4, "big") + self.SSRC.to_bytes(4, "big")
                try:
                    self.sock.sendto(header + b"\xff" * samples, gateway)
                except OSError:
                    pass
                self.sent += 1
            n += 1

    async def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 5)
        self.sock.close()


def echo_peer_for(offer_sdp: str) -> MediaPeer:
    """The call centre's echo for the offer the gateway sends: WebRTC when the browser's SDP is
    passed through, plain RTP when the gateway terminates WebRTC itself."""
    return AiortcEchoPeer() if "UDP/TLS/RTP/SAVPF" in offer_sdp else RtpEchoPeer()


# --------------------------------------------------------------------------------------------
# The call centre's signalling


@dataclass
class CentreCall:
    invite: SipMessage
    source: tuple[str, int]
    tag: str
    peer: MediaPeer | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    answered: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    log: list[str] = field(default_factory=list)


class CallCentre:
    """A SIP user agent on UDP 127.0.0.1 that takes the gateway's calls.

    `mode`: "answer" (100, 180, then 200 with the media peer's answer), "busy" (486), or "ring"
    (100, 180, and the answer waits for `answer_ringing()`)."""

    def __init__(self, peer_factory: Callable[[str], MediaPeer]) -> None:
        self.peer_factory = peer_factory
        self.port = free_port()
        self.mode = "answer"
        self.calls: dict[str, CentreCall] = {}
        self.received: list[SipMessage] = []
        self.errors: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self._bind())

    def _run(self, coroutine: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _bind(self) -> None:
        centre = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                try:
                    centre._receive(data.decode("utf-8", "replace"), addr)
                except Exception as error:  # a broken message must show up in the test, not kill the loop
                    centre.errors.append(f"{type(error).__name__}: {error}")

        self.transport, _ = await self.loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", self.port))

    # -- test-facing ---------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def reset(self, mode: str = "answer") -> None:
        self.mode = mode
        self.calls.clear()
        self.received.clear()
        self.errors.clear()

    def invites(self) -> list[SipMessage]:
        return [m for m in list(self.received) if m.method == "INVITE" and not m.tag("to")]

    def requests(self, method: str) -> list[SipMessage]:
        return [m for m in list(self.received) if m.method == method]

    def only_call(self, timeout: float = 15) -> CentreCall:
        wait_until(lambda: self.calls, timeout, message="no INVITE reached the call centre")
        assert len(self.calls) == 1, f"expected one call, got {len(self.calls)}"
        return next(iter(self.calls.values()))

    def answer_ringing(self) -> None:
        for call in list(self.calls.values()):
            self.loop.call_soon_threadsafe(call.release.set)

    def hang_up(self, call: CentreCall) -> SipMessage:
        """Sends BYE from the call centre and returns the gateway's final response."""
        return self._run(self._bye(call))

    def reinvite(self, call: CentreCall, direction: str, *, method: str = "INVITE", address: str | None = None) -> SipMessage:
        """Offers the call's media again with `direction` (`sendonly` holds, `sendrecv`
        resumes) in a re-INVITE (its 2xx ACKed) or an UPDATE, optionally with another `c=`
        address (`0.0.0.0`: RFC 2543 hold), and returns the gateway's final response."""
        return self._run(self._reinvite(call, direction, method, address))

    def close(self) -> None:
        async def shutdown() -> None:
            for call in self.calls.values():
                if call.peer:
                    await call.peer.close()
            self.transport.close()

        try:
            self._run(shutdown(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

    # -- SIP -----------------------------------------------------------------------------------

    def _send(self, text: str, addr: tuple[str, int]) -> None:
        self.transport.sendto(text.encode(), addr)

    def _response(self, request: SipMessage, status: int, reason: str, *, tag: str | None, body: str = "", extra: list[str] = ()) -> str:
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {via}" for via in request.header_values("via")]
        to = request.header("to") or ""
        if tag and "tag=" not in to:
            to += f";tag={tag}"
        lines += [f"From: {request.header('from')}", f"To: {to}", f"Call-ID: {request.call_id}", f"CSeq: {request.header('cseq')}"]
        lines += list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def _receive(self, text: str, addr: tuple[str, int]) -> None:
        if not text.strip():
            return
        message = SipMessage.parse("received", "UDP", text)
        # SipMessage normalises line ends to LF; keep the body exactly as sent (CRLF) for SDP.
        raw_body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
        message.body = raw_body
        self.received.append(message)
        if message.is_request:
            self._request(message, addr)
        else:
            call = self.calls.get(message.call_id or "")
            if call:
                call.log.append(f"response {message.status} {message.header('cseq')}")
                method, waiter = getattr(call, "waiter", (None, None))
                if waiter and message.cseq[1] == method and message.status and message.status >= 200 and not waiter.done():
                    waiter.set_result(message)

    def _request(self, request: SipMessage, addr: tuple[str, int]) -> None:
        method = request.method
        call = self.calls.get(request.call_id or "")
        if method == "INVITE" and call is None:
            call = CentreCall(invite=request, source=addr, tag=uuid.uuid4().hex[:10])
            self.calls[request.call_id] = call
            self._send(self._response(request, 100, "Trying", tag=None), addr)
            self.loop.create_task(self._take_call(call))
        elif method == "INVITE":
            pass  # a retransmission; the task in progress answers it
        elif method == "ACK" and call:
            call.acked.set()
        elif method == "BYE" and call:
            self._send(self._response(request, 200, "OK", tag=None), addr)
            call.log.append("bye received")
            self.loop.create_task(self._end(call))
        elif method == "CANCEL" and call:
            self._send(self._response(request, 200, "OK", tag=call.tag), addr)
            if not call.answered:
                call.answered = True  # no 200 any more
                self._send(self._response(call.invite, 487, "Request Terminated", tag=call.tag), call.source)
                call.log.append("canceled")
                self.loop.create_task(self._end(call))
        elif method == "OPTIONS":
            self._send(self._response(request, 200, "OK", tag=uuid.uuid4().hex[:8]), addr)
        else:
            self._send(self._response(request, 481 if call is None else 200, "Call Does Not Exist" if call is None else "OK", tag=None), addr)

    async def _take_call(self, call: CentreCall) -> None:
        invite, addr = call.invite, call.source
        contact = f"Contact: <sip:agent@127.0.0.1:{self.port}>"
        if self.mode == "busy":
            call.answered = True
            self._send(self._response(invite, 486, "Busy Here", tag=call.tag), addr)
            return
        self._send(self._response(invite, 180, "Ringing", tag=call.tag, extra=[contact]), addr)
        if self.mode == "ring":
            await call.release.wait()
        if call.answered:
            return
        call.peer = self.peer_factory(invite.body)
        answer = await call.peer.answer(invite.body)
        if call.answered:
            return
        call.answered = True
        record_route = [f"Record-Route: {v}" for v in invite.header_values("record-route")]
        ok = self._response(invite, 200, "OK", tag=call.tag, body=answer, extra=[contact, *record_route])
        # Over UDP the 2xx is retransmitted until the ACK arrives (RFC 3261 §13.3.1.4).
        interval = 0.5
        for _ in range(7):
            self._send(ok, addr)
            try:
                await asyncio.wait_for(call.acked.wait(), interval)
                return
            except asyncio.TimeoutError:
                interval = min(interval * 2, 4)
        self.errors.append("no ACK for the 200 OK")

    def _in_dialog(self, call: CentreCall, method: str, cseq: int, body: str = "") -> str:
        invite = call.invite
        target = re.search(r"<([^>]+)>", invite.header("contact") or "")
        request_uri = target.group(1) if target else invite.request_uri
        to = invite.header("from")
        frm = (invite.header("to") or "") + f";tag={call.tag}"
        routes = [f"Route: {v}" for v in invite.header_values("record-route")]
        lines = [
            f"{method} {request_uri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
            "Max-Forwards: 70", f"From: {frm}", f"To: {to}", f"Call-ID: {invite.call_id}", f"CSeq: {cseq} {method}",
            f"Contact: <sip:agent@127.0.0.1:{self.port}>", *routes,
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    async def _transaction(self, call: CentreCall, text: str, method: str) -> SipMessage:
        call.waiter = (method, self.loop.create_future())  # type: ignore[attr-defined]
        self._send(text, call.source)
        return await asyncio.wait_for(call.waiter[1], 10)  # type: ignore[attr-defined]

    async def _bye(self, call: CentreCall) -> SipMessage:
        call.cseq = getattr(call, "cseq", 1) + 1  # type: ignore[attr-defined]
        response = await self._transaction(call, self._in_dialog(call, "BYE", call.cseq), "BYE")  # type: ignore[attr-defined]
        await self._end(call)
        return response

    async def _reinvite(self, call: CentreCall, direction: str, method: str = "INVITE", address: str | None = None) -> SipMessage:
        sdp = getattr(call.peer, "local_sdp", None)
        assert sdp, "a re-INVITE needs the plain RTP answer of RtpEchoPeer"
        call.sdp_version = getattr(call, "sdp_version", 1) + 1  # type: ignore[attr-defined]
        body = re.sub(r"a=(sendrecv|sendonly|recvonly|inactive)", f"a={direction}", sdp)
        body = body.replace("o=callcentre 1 1 ", f"o=callcentre 1 {call.sdp_version} ")  # type: ignore[attr-defined]
        if address:
            body = body.replace("c=IN IP4 127.0.0.1", f"c=IN IP4 {address}")
        call.cseq = getattr(call, "cseq", 1) + 1  # type: ignore[attr-defined]
        response = await self._transaction(call, self._in_dialog(call, method, call.cseq, body), method)  # type: ignore[attr-defined]
        if method == "INVITE" and response.status and 200 <= response.status < 300:
            self._send(self._in_dialog(call, "ACK", call.cseq), call.source)  # type: ignore[attr-defined]
        return response

    async def _end(self, call: CentreCall) -> None:
        call.ended.set()
        if call.peer:
            await call.peer.close()


# --------------------------------------------------------------------------------------------
# The widget in the page


class WidgetPage:
    """The shop page with the widget, in one Selenium driver."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str, *, wait_ready: bool = True) -> "WidgetPage":
        self.driver.get(url)
        if wait_ready:
            wait_until(lambda: self.js("return !!document.querySelector('callme-button')?.shadowRoot"), 10,
                       message=lambda: f"the widget did not render; console: {self.console()}")
            # Wait until the widget has asked the gateway for its public view (or failed to).
            self.js_async("const done = arguments[0]; document.querySelector('callme-button')._ready.then(() => done(true), () => done(false));")
        return self

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args: Any) -> Any:
        return self.driver.execute_async_script(script, *args)

    def console(self) -> list[str]:
        try:
            return [entry["message"] for entry in self.driver.get_log("browser")]
        except Exception:
            return []

    @property
    def host(self) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, "callme-button")

    def shadow(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.host.shadow_root.find_element(By.CSS_SELECTOR, selector)

    def state(self) -> str:
        return self.js("return document.querySelector('callme-button').getAttribute('data-state')")

    def wait_state(self, *states: str, timeout: float = 15) -> str:
        return wait_until(lambda: self.state() in states and self.state(), timeout,
                          message=lambda: f"state {self.state()!r}, wanted {states}; events {self.events()}; console {self.console()[-5:]}")

    def events(self) -> list[dict]:
        return self.js("return window.__events")

    def states(self) -> list[str]:
        """The widget's data-state values in order, repeats folded."""
        states: list[str] = []
        for entry in self.js("return window.__states"):
            if not states or states[-1] != entry["state"]:
                states.append(entry["state"])
        return states

    def event_types(self) -> list[str]:
        return [event["type"] for event in self.events() if event["type"] != "warning"]

    def sip(self) -> list[dict]:
        return self.js("return window.__sip")

    def text(self, selector: str) -> str:
        return self.js("return document.querySelector('callme-button').shadowRoot.querySelector(arguments[0]).textContent", selector)

    def active(self) -> str | None:
        """What has the keyboard focus inside the widget: its data-action, digit, or class."""
        return self.js(
            """const host = document.querySelector('callme-button');
               if (document.activeElement !== host) return null;
               const el = host.shadowRoot.activeElement;
               return el ? (el.dataset.action || (el.dataset.digit && 'digit-' + el.dataset.digit) || el.className) : null;"""
        )

    def stats(self) -> dict:
        return self.js_async(
            """const done = arguments[arguments.length - 1];
               CallMe.getStats().then((r) => done({summary: r.summary && {
                   inbound: r.summary.inbound, outbound: r.summary.outbound, source: r.summary.source,
                   packetsReceived: r.summary.packetsReceived, packetsSent: r.summary.packetsSent,
                   packetsLost: r.summary.packetsLost, jitter: r.summary.jitter, roundTripTime: r.summary.roundTripTime,
                   audioLevelIn: r.summary.audioLevelIn, audioLevelOut: r.summary.audioLevelOut},
                 transport: r.stats.filter((s) => s.type === 'transport').map((s) => ({dtlsState: s.dtlsState, iceState: s.iceState})),
                 types: r.stats.map((s) => s.type)}), (e) => done({error: String(e)}));"""
        )


# --------------------------------------------------------------------------------------------
# Two-way audio from getStats() energy deltas


def _sip_header(text: str, name: str) -> str | None:
    for line in text.split("\r\n")[1:]:
        if not line:
            break
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def rms(before: dict | None, after: dict | None) -> float:
    assert before and after, f"missing stats entry: {before} {after}"
    energy = after["totalAudioEnergy"] - before["totalAudioEnergy"]
    duration = after["totalSamplesDuration"] - before["totalSamplesDuration"]
    assert duration > 0, f"no audio samples in the interval: {before} -> {after}"
    return math.sqrt(max(energy, 0) / duration)


def measure_audio(page: WidgetPage, seconds: float = 1.5) -> tuple[float, float, dict]:
    """RMS level received (inbound-rtp) and sent (media-source) over `seconds` of call audio."""
    def ready() -> dict | None:
        stats = page.stats()["summary"]
        return stats if stats and stats["inbound"] and stats["source"] and stats["inbound"].get("totalSamplesDuration") else None

    def answer_lines() -> list[str]:
        answers = [m["text"] for m in page.sip() if m["dir"] == "in" and m["text"].startswith("SIP/2.0 200") and "INVITE" in (_sip_header(m["text"], "CSeq") or "")]
        return [line for line in (answers or [""])[0].split("\r\n") if line.startswith(("a=setup", "a=fingerprint", "a=candidate", "m=", "a=ice-"))]

    first = wait_until(ready, 10, message=lambda: f"no audio received; transport {page.stats()['transport']}; the gateway's answer: {answer_lines()}")
    wait_until(lambda: page.stats()["summary"]["inbound"]["totalSamplesDuration"] - first["inbound"]["totalSamplesDuration"] >= seconds,
               seconds + 8, message="inbound audio did not advance")
    last = page.stats()["summary"]
    return rms(first["inbound"], last["inbound"]), rms(first["source"], last["source"]), last
