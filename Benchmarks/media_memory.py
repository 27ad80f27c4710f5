"""Memory per anchored browser call: resident memory of the gateway before and with N calls up.

Each call is a browser-style RFC 7118 client over `/sip` offering WebRTC audio (DTLS-SRTP, ICE)
to a SIPp UAS that answers PCMU, so the gateway holds a full media session per call: three
bound sockets, the ICE agent, the DTLS endpoint with its SSL object, the bridge plan. The clients
never run ICE, so the calls stay up until `--ice-timeout` (set long here) or the hang-up.

    SWITCHBOARD_BIN=.build/release/switchboard .build-venv/bin/python Benchmarks/media_memory.py [calls]

Prints the resident set before and after, and the difference per call.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "EndToEnd"))

import websockets  # noqa: E402

from sip_support import Sipp, create_trunk, first_line, sip_text  # noqa: E402
from support import ServerProcess, new_bootstrap_key  # noqa: E402

OFFER = (
    "v=0\r\no=- {session} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 126\r\nc=IN IP4 127.0.0.1\r\n"
    "a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\n"
    "a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n"
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\n"
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def place(url: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["sip"])
    call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    body = OFFER.format(session=int(time.time() * 1000), ufrag=uuid.uuid4().hex[:8], pwd=uuid.uuid4().hex[:24])
    lines = [
        "INVITE sip:callcentre@switchboard.invalid SIP/2.0",
        f"Via: SIP/2.0/WSS m.invalid;branch=z9hG4bK{uuid.uuid4().hex[:12]}", "Max-Forwards: 70",
        f"From: <sip:shopper@m.invalid>;tag={tag}", "To: <sip:callcentre@switchboard.invalid>",
        f"Call-ID: {call_id}", "CSeq: 1 INVITE", "Contact: <sip:shopper@m.invalid;transport=ws;ob>",
        "Content-Type: application/sdp",
    ]
    await ws.send(sip_text(lines, body))
    while True:
        line = first_line(await asyncio.wait_for(ws.recv(), timeout=20))
        if line.startswith("SIP/2.0") and int(line.split(" ")[1]) >= 200:
            assert line.startswith("SIP/2.0 200"), line
            return ws


async def main(calls: int) -> None:
    work = Path(tempfile.mkdtemp())
    server = ServerProcess(
        work / "data", bootstrap_key=new_bootstrap_key(),
        extra_args=["--rtp-ports", "40000-49999", "--public-ip", "127.0.0.1", "--ice-timeout", "600", "--media-timeout", "600", "--session-rate-limit", "100000"],
        name="media-memory",
    ).start()
    uas = Sipp("uas_answer.xml", work, name="uas", calls=calls, timeout_s=600, limit=calls + 10).start()
    try:
        admin = server.client()
        trunk = create_trunk(admin, name="memory", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "memory", "destination": trunk["id"]}).json()
        session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {}).json()
        # Warm up: one call set up and kept, so lazily made state (OpenSSL, libsrtp, codecs) is in the baseline.
        sockets = [await place(session["websocketUrl"])]
        await asyncio.sleep(1)
        before = rss_kib(server.proc.pid)
        for _ in range(calls - 1):
            sockets.append(await place(session["websocketUrl"]))
        await asyncio.sleep(2)
        after = rss_kib(server.proc.pid)
        per_call = (after - before) / max(calls - 1, 1)
        print(f"calls up: {len(sockets)}   RSS before {before} KiB, after {after} KiB   {per_call:.1f} KiB per anchored call (goal: <= 64)")
        for ws in sockets:
            await ws.close()
    finally:
        uas.stop()
        server.terminate()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
