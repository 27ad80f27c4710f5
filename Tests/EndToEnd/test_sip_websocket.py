"""A browser-style RFC 7118 client over the `/sip` WebSocket, bridged to a SIPp call centre.

The client is scripted here (Python `websockets`): it holds a widget session token, speaks SIP
over the WebSocket with `.invalid` Via/Contact hosts as browsers do, and puts an arbitrary
Request-URI in its INVITE. The gateway must route the call to the widget's destination only,
carry the caller context to the call centre as headers, answer over the live connection, and
relay hang-ups both ways.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import websockets

from sip_support import Sipp, first_line, header, sipp_binary, sip_text as message, wait_for_call
from support import Client, ServerProcess

CONTEXT = {"customer": {"id": "C-1042", "name": "Juliana"}, "order": "A-77812", "page": "/orders/A-77812"}
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


class BrowserLeg:
    """The SIP dialog state of one scripted browser call."""

    def __init__(self, request_uri: str) -> None:
        self.request_uri = request_uri
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:10]
        self.remote_tag: str | None = None

    def request(self, method: str, cseq: int, body: str = "") -> str:
        to = f"<{self.request_uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")
        lines = [
            f"{method} {self.request_uri} SIP/2.0",
            f"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK{uuid.uuid4().hex[:12]}",
            "Max-Forwards: 70",
            f"From: \"Shopper\" <sip:shopper@df7jal23ls0d.invalid>;tag={self.tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            "Contact: <sip:shopper@df7jal23ls0d.invalid;transport=ws;ob>",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        return message(lines, body)


async def read_until_final(ws, timeout: float = 10) -> list[str]:
    responses: list[str] = []
    while True:
        text = await asyncio.wait_for(ws.recv(), timeout)
        responses.append(text)
        status = int(first_line(text).split(" ")[1]) if text.startswith("SIP/2.0") else 0
        if status >= 200:
            return responses


def setup_widget(admin: Client, uas_port: int) -> tuple[dict, dict]:
    trunk = admin.post("/v1/trunks", {"name": "callcentre", "uri": f"sip:127.0.0.1:{uas_port}"}).json()
    widget = admin.post("/v1/widgets", {"name": "ws shop", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": CONTEXT})
    assert session.status_code == 201, session.text
    return widget, session.json()


def test_browser_call_reaches_only_the_widget_destination_with_context(tmp_path: Path, server: ServerProcess, admin: Client) -> None:
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=15).start()
    uas.wait_listening()
    widget, session = setup_widget(admin, uas.port)
    leg = BrowserLeg("sip:someone-else@evil.example")

    async def call() -> list[str]:
        async with websockets.connect(session["websocketUrl"], subprotocols=["sip"]) as ws:
            assert ws.subprotocol == "sip"
            await ws.send(leg.request("INVITE", 1, SDP))
            responses = await read_until_final(ws)
            final = responses[-1]
            assert first_line(final) == "SIP/2.0 200 OK", "\n\n".join(responses)
            leg.remote_tag = header(final, "To").split("tag=")[1]
            await ws.send(leg.request("ACK", 1))
            await asyncio.sleep(0.3)
            await ws.send(leg.request("BYE", 2))
            bye_answer = await asyncio.wait_for(ws.recv(), 10)
            assert first_line(bye_answer) == "SIP/2.0 200 OK", bye_answer
            return responses

    responses = asyncio.run(call())
    assert uas.wait() == 0, "the SIPp call centre failed"
    codes = [first_line(r).split(" ")[1] for r in responses]
    assert "180" in codes, f"ringing was not relayed over the WebSocket: {codes}"

    invite = uas.received("INVITE")[0]
    assert invite.request_uri is not None and "evil.example" not in invite.request_uri, invite.request_uri
    assert "invalid" not in (invite.header("Contact") or "") and all("invalid" not in v for v in invite.vias())
    assert invite.header("X-Switchboard-Widget-Id") == widget["id"]
    assert invite.header("X-Switchboard-Context-Verified") == "true"
    assert invite.header("X-Switchboard-Context-customer-name") == "Juliana"
    assert invite.header("X-Switchboard-Context-order") == "A-77812"
    call_id = invite.header("X-Switchboard-Call-Id")
    assert call_id and call_id.startswith("cal_")
    assert uas.received("BYE"), "the browser's BYE was not relayed to the call centre"

    call = wait_for_call(admin, call_id, ["completed"])
    assert call["source"] == {"type": "widget", "widgetId": widget["id"], "sessionId": session["id"]}
    assert call["hangupBy"] == "caller"
    assert call["context"] == CONTEXT and call["contextVerified"] is True


def test_call_centre_hangs_up_a_browser_call(tmp_path: Path, server: ServerProcess, admin: Client) -> None:
    uas = Sipp("uas_callee_bye.xml", tmp_path, name="uas", timeout_s=15, duration_ms=300).start()
    uas.wait_listening()
    _, session = setup_widget(admin, uas.port)
    leg = BrowserLeg("sip:callme@switchboard.invalid")

    async def call() -> str:
        async with websockets.connect(session["websocketUrl"], subprotocols=["sip"]) as ws:
            await ws.send(leg.request("INVITE", 1, SDP))
            final = (await read_until_final(ws))[-1]
            assert first_line(final) == "SIP/2.0 200 OK", final
            leg.remote_tag = header(final, "To").split("tag=")[1]
            await ws.send(leg.request("ACK", 1))
            while True:
                request = await asyncio.wait_for(ws.recv(), 10)
                if request.startswith("BYE "):
                    break
            assert header(request, "Call-ID") == leg.call_id
            assert header(request, "To").split("tag=")[1] == leg.tag
            reply = [
                "SIP/2.0 200 OK", f"Via: {header(request, 'Via')}", f"From: {header(request, 'From')}",
                f"To: {header(request, 'To')}", f"Call-ID: {leg.call_id}", f"CSeq: {header(request, 'CSeq')}",
            ]
            await ws.send(message(reply))
            return request

    asyncio.run(call())
    assert uas.wait() == 0
    call_id = uas.received("INVITE")[0].header("X-Switchboard-Call-Id")
    call = wait_for_call(admin, call_id, ["completed"])
    assert call["hangupBy"] == "callee"


def test_websocket_needs_the_sip_subprotocol_and_a_valid_token(server: ServerProcess, admin: Client) -> None:
    trunk = admin.post("/v1/trunks", {"name": "nowhere", "uri": "sip:127.0.0.1:9"}).json()
    widget = admin.post("/v1/widgets", {"name": "tokens", "destination": trunk["id"]}).json()
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()
    base = session["websocketUrl"].split("?")[0]

    async def attempt(url: str, subprotocols: list[str] | None) -> tuple[int, int | None]:
        """(handshake status, close code when the server closed the socket at once)."""
        try:
            async with websockets.connect(url, subprotocols=subprotocols) as ws:
                try:
                    await asyncio.wait_for(ws.recv(), 1.0)
                except websockets.exceptions.ConnectionClosed as closed:
                    return 101, closed.rcvd.code if closed.rcvd else None
                except asyncio.TimeoutError:
                    return 101, None
                return 101, None
        except websockets.exceptions.InvalidStatus as error:
            return error.response.status_code, None

    assert asyncio.run(attempt(f"{base}?token=wst_not-a-token", ["sip"])) == (101, 1008)
    assert asyncio.run(attempt(base, ["sip"])) == (101, 1008)
    assert asyncio.run(attempt(session["websocketUrl"], ["chat"]))[0] == 400
    assert asyncio.run(attempt(session["websocketUrl"], ["sip"])) == (101, None)
