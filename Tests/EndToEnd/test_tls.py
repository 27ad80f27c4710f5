"""TLS everywhere the contract names it: HTTPS and WSS on the HTTP port, SIP over TLS in (the
TLS port) and out (TLS trunks), and the start-up errors of a bad certificate or key.

A throw-away PKI is made per module with the `openssl` CLI under a temp dir: a test CA, a
server certificate it signs (SAN localhost and 127.0.0.1) that both the gateway and the TLS call
centre present, and an unrelated key. Debian's SIPp is built without TLS (`sipp -t l1` says "To
use a TLS transport you must compile SIPp with OpenSSL"), so the TLS peers here are Python `ssl`
sockets speaking scripted SIP; the plain-SIP peers are SIPp over UDP as in the other suites.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import websockets

from sip_support import LOCALHOST, Sipp, create_trunk, delete_trunk, sipp_binary, wait_for_call
from support import Client, ServerProcess, describe, free_port, new_bootstrap_key, server_binary
from test_sip_websocket import SDP, BrowserLeg, first_line, header, read_until_final

SIPP_TIMEOUT = 10


@pytest.fixture(scope="module", autouse=True)
def _need_tools() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


# --------------------------------------------------------------------------------------------
# A throw-away PKI


class PKI:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca_cert = directory / "ca.pem"
        self.ca_key = directory / "ca.key"
        self.cert = directory / "server.pem"
        self.key = directory / "server.key"
        self.other_key = directory / "other.key"

    def openssl(self, *args: str) -> None:
        completed = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True, timeout=30)
        assert completed.returncode == 0, f"openssl {' '.join(args)} failed:\n{completed.stderr}"

    def make(self) -> "PKI":
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                     "-subj", "/CN=Switchboard e2e test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
        (self.dir / "server.ext").write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        self.openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
        self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key")
        return self

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA and checks the host (or IP) name."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        return context

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki")).make()


# --------------------------------------------------------------------------------------------
# The gateway with TLS


class TLSServerProcess(ServerProcess):
    """`switchboard serve --tls-cert … --tls-key … --sip-tls-port …`: the HTTP port speaks HTTPS."""

    def __init__(self, *args: Any, ca_file: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ca_file = ca_file

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.http_port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(f"{self.name} exited with code {code} before becoming ready\n{self.log_tail()}")
            try:
                response = requests.get(self.url + "/healthz", timeout=2, verify=str(self.ca_file))
                if response.status_code == 200:
                    return
                last = f"GET /healthz -> {response.status_code}"
            except requests.RequestException as error:
                last = f"GET /healthz -> {type(error).__name__}: {error}"
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not ready over HTTPS within {timeout:.0f}s ({last})\n{self.log_tail()}")

    def client(self, key: str | None = None) -> Client:
        client = Client(self.url, key if key is not None else self.bootstrap_key)
        client.session.verify = str(self.ca_file)
        client.session.trust_env = False  # a CA bundle from the environment would replace the test CA
        return client


@pytest.fixture(scope="module")
def tls_server(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServerProcess]:
    sip_tls_port = free_port()
    process = TLSServerProcess(
        tmp_path_factory.mktemp("tls") / "data", bootstrap_key=new_bootstrap_key(), name="tls", ca_file=pki.ca_cert,
        extra_args=["--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--sip-tls-port", str(sip_tls_port),
                    "--session-rate-limit", "10000"],
    )
    process.sip_tls_port = sip_tls_port  # type: ignore[attr-defined]
    process.start()
    yield process
    process.cleanup()


@pytest.fixture(autouse=True)
def _attach_logs(request: pytest.FixtureRequest) -> None:
    if "tls_server" in request.fixturenames:
        server = request.getfixturevalue("tls_server")
        request.node._switchboard_servers = [server]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def admin(tls_server: TLSServerProcess) -> Client:
    return tls_server.client()


@pytest.fixture
def trunks(admin: Client) -> Iterator[Any]:
    """`trunks(**body)` creates a trunk; every trunk made is deleted at the end of the test
    (inbound trunks first, so that none is left to admit the next test's calls)."""
    created: list[str] = []

    def make(**body: Any) -> dict[str, Any]:
        body.setdefault("name", f"trunk {uuid.uuid4().hex[:6]}")
        trunk = create_trunk(admin, **body)
        created.insert(0, trunk["id"]) if "inbound" in body else created.append(trunk["id"])
        return trunk

    yield make
    for trunk_id in created:
        delete_trunk(admin, trunk_id)


# --------------------------------------------------------------------------------------------
# SIP over a TLS socket (scripted)


class SipStream:
    """SIP messages over one stream socket, framed by Content-Length (RFC 3261 §18.3)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def read(self, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")  # keep-alive CRLFs
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buffer[:end].decode()
                length = int(header(head, "Content-Length") or header(head, "l") or 0)
                total = end + 4 + length
                if len(self.buffer) >= total:
                    message, self.buffer = self.buffer[:total], self.buffer[total:]
                    return message.decode()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete SIP message within {timeout}s; have {self.buffer[:300]!r}")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"the connection closed; have {self.buffer[:300]!r}")
            self.buffer += chunk


def sip_message(lines: list[str], body: str = "") -> str:
    return "\r\n".join(lines + [f"Content-Length: {len(body.encode())}", "", body])


def all_headers(text: str, name: str) -> list[str]:
    values = []
    for line in text.split("\r\n")[1:]:
        if not line:
            break
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            values.append(value.strip())
    return values


def response_to(request: str, status: str, *, to_tag: str | None = None, extra: list[str] = (), body: str = "") -> str:
    to = header(request, "To") or ""
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines = [f"SIP/2.0 {status}"] + [f"Via: {v}" for v in all_headers(request, "Via")] + [
        f"From: {header(request, 'From')}", f"To: {to}", f"Call-ID: {header(request, 'Call-ID')}",
        f"CSeq: {header(request, 'CSeq')}", *extra,
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    return sip_message(lines, body)


def status_of(text: str) -> int:
    return int(first_line(text).split(" ")[1]) if text.startswith("SIP/2.0") else 0


class TLSCallCentre:
    """A call centre that speaks SIP over TLS (the role SIPp cannot play here): accepts
    connections, answers each INVITE 180 then 200 (SDP), and answers the BYE 200. Records what it
    received and the handshakes that failed."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOCALHOST, 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.received: list[str] = []
        self.handshake_errors: list[str] = []
        self.accepted = threading.Event()
        self.bye_answered = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "TLSCallCentre":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.set()
            try:
                raw.settimeout(5)
                conn = self.context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as error:
                self.handshake_errors.append(f"{type(error).__name__}: {error}")
                raw.close()
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: ssl.SSLSocket) -> None:
        stream = SipStream(conn)
        tag = uuid.uuid4().hex[:10]
        contact = f"Contact: <sips:agent@127.0.0.1:{self.port}>"
        try:
            while not self.stopping.is_set():
                try:
                    message = stream.read(timeout=0.5)
                except TimeoutError:
                    continue
                self.received.append(message)
                method = first_line(message).split(" ")[0]
                if method == "INVITE":
                    stream.send(response_to(message, "180 Ringing", to_tag=tag, extra=[contact]))
                    stream.send(response_to(message, "200 OK", to_tag=tag, extra=[contact], body=SDP))
                elif method == "BYE":
                    stream.send(response_to(message, "200 OK"))
                    self.bye_answered.set()
                elif method not in ("ACK", "SIP/2.0"):
                    stream.send(response_to(message, "200 OK"))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def requests(self, method: str) -> list[str]:
        return [m for m in self.received if first_line(m).startswith(method + " ")]


# --------------------------------------------------------------------------------------------
# HTTPS and WSS


def test_https_serves_the_api_and_plain_http_is_refused(tls_server: TLSServerProcess, admin: Client, pki: PKI) -> None:
    response = admin.get("/v1/widgets")
    assert response.status_code == 200, describe(response)
    assert response.url.startswith("https://")
    assert requests.get(tls_server.url + "/metrics", verify=str(pki.ca_cert), timeout=5).status_code == 200
    assert f"listening on https://127.0.0.1:{tls_server.http_port}" in tls_server.stdout_text(), tls_server.stdout_text()

    # Plain HTTP on the same port gets no HTTP response.
    with socket.create_connection((LOCALHOST, tls_server.http_port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        try:
            while len(received) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    assert not received.startswith(b"HTTP/"), f"plain HTTP was answered on the HTTPS port: {received[:200]!r}"

    # A client that does not trust the CA does not get through either.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url + "/healthz", timeout=5)


def test_wss_call_with_a_widget_session_reaches_the_call_centre(tmp_path: Path, tls_server: TLSServerProcess, admin: Client,
                                                                  pki: PKI, trunks) -> None:
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=SIPP_TIMEOUT).start()
    callcentre = trunks(uri=f"sip:127.0.0.1:{uas.port}", transport="udp")
    widget = admin.post("/v1/widgets", {"name": "wss shop", "destination": callcentre["id"]}).json()
    created = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"order": "A-1"}})
    assert created.status_code == 201, describe(created)
    session = created.json()
    assert session["websocketUrl"].startswith(f"wss://127.0.0.1:{tls_server.http_port}/sip?token="), session

    leg = BrowserLeg("sip:callme@switchboard.invalid")

    async def call() -> None:
        async with websockets.connect(session["websocketUrl"], subprotocols=["sip"], ssl=pki.client_context()) as ws:
            assert ws.subprotocol == "sip"
            await ws.send(leg.request("INVITE", 1, SDP))
            final = (await read_until_final(ws))[-1]
            assert first_line(final) == "SIP/2.0 200 OK", final
            leg.remote_tag = header(final, "To").split("tag=")[1]
            await ws.send(leg.request("ACK", 1))
            await ws.send(leg.request("BYE", 2))
            answer = await asyncio.wait_for(ws.recv(), 10)
            assert first_line(answer) == "SIP/2.0 200 OK", answer

    try:
        asyncio.run(call())
    finally:
        code = uas.wait()
    assert code == 0, "the SIPp call centre failed\n" + uas.report()
    invite = uas.received("INVITE")[0]
    call_id = invite.header("X-Switchboard-Call-Id")
    assert invite.header("X-Switchboard-Widget-Id") == widget["id"]
    info = invite.header("Call-Info") or ""
    assert info.startswith(f"<https://127.0.0.1:{tls_server.http_port}/v1/calls/{call_id}>"), info
    call = wait_for_call(admin, call_id, ["completed"])
    assert call["hangupBy"] == "caller" and call["source"]["type"] == "widget"


# --------------------------------------------------------------------------------------------
# SIP over TLS, inbound


def test_sip_over_tls_inbound_call_to_a_udp_call_centre(tmp_path: Path, tls_server: TLSServerProcess, admin: Client,
                                                          pki: PKI, trunks) -> None:
    tls_port = tls_server.sip_tls_port  # type: ignore[attr-defined]
    uas = Sipp("uas_callee_bye.xml", tmp_path, name="uas", timeout_s=SIPP_TIMEOUT, duration_ms=200).start()
    callcentre = trunks(uri=f"sip:127.0.0.1:{uas.port}", transport="udp")
    pbx = trunks(uri="sip:127.0.0.1:9", inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})

    raw = socket.create_connection((LOCALHOST, tls_port), timeout=5)
    conn = pki.client_context().wrap_socket(raw, server_hostname="127.0.0.1")  # the certificate carries IP:127.0.0.1
    local_port = conn.getsockname()[1]
    stream = SipStream(conn)
    call_id, tag, branch = uuid.uuid4().hex, uuid.uuid4().hex[:10], "z9hG4bK" + uuid.uuid4().hex[:12]
    invite_lines = [
        f"INVITE sips:queue@127.0.0.1:{tls_port} SIP/2.0",
        f"Via: SIP/2.0/TLS 127.0.0.1:{local_port};branch={branch}",
        "Max-Forwards: 70",
        f"From: <sips:pbx@127.0.0.1>;tag={tag}",
        f"To: <sips:queue@127.0.0.1:{tls_port}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 INVITE",
        f"Contact: <sips:pbx@127.0.0.1:{local_port}>",
        "Content-Type: application/sdp",
    ]
    try:
        stream.send(sip_message(invite_lines, SDP))
        responses = []
        while not responses or status_of(responses[-1]) < 200:
            responses.append(stream.read())
        final = responses[-1]
        assert first_line(final) == "SIP/2.0 200 OK", "\n\n".join(responses)
        assert 180 in [status_of(r) for r in responses], [first_line(r) for r in responses]
        assert all_headers(final, "Via") == [f"SIP/2.0/TLS 127.0.0.1:{local_port};branch={branch}"], final
        contact = header(final, "Contact") or ""
        assert re.fullmatch(rf"<sips:b2bua@127\.0\.0\.1:{tls_port}>", contact), f"the 200's Contact is not a sips: URI at the TLS port: {contact}"
        remote_tag = header(final, "To").split("tag=")[1]
        ack = [f"ACK sips:b2bua@127.0.0.1:{tls_port} SIP/2.0", f"Via: SIP/2.0/TLS 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
               "Max-Forwards: 70", f"From: <sips:pbx@127.0.0.1>;tag={tag}", f"To: <sips:queue@127.0.0.1:{tls_port}>;tag={remote_tag}",
               f"Call-ID: {call_id}", "CSeq: 1 ACK"]
        stream.send(sip_message(ack))

        # The call centre hangs up: its BYE comes back over this same TLS connection.
        bye = stream.read()
        assert first_line(bye).startswith("BYE "), bye
        assert header(bye, "Call-ID") == call_id and header(bye, "To").split("tag=")[1] == tag, bye
        vias = all_headers(bye, "Via")
        assert len(vias) == 1 and vias[0].startswith(f"SIP/2.0/TLS 127.0.0.1:{tls_port};"), f"the BYE's Via is not the gateway's TLS Via: {vias}"
        stream.send(response_to(bye, "200 OK"))
    finally:
        code = uas.wait()
        conn.close()
    assert code == 0, "the SIPp call centre failed\n" + uas.report()
    invite = uas.received("INVITE")[0]
    assert invite.header("X-Switchboard-Call-Id"), invite.text
    assert call_id not in invite.text and "sips:pbx" not in invite.text, "the caller's TLS leg leaked into the UDP leg\n" + invite.text
    assert all(v.startswith("SIP/2.0/UDP") for v in invite.vias()), invite.vias()
    call = wait_for_call(admin, invite.header("X-Switchboard-Call-Id"), ["completed"])
    assert call["source"] == {"type": "trunk", "trunkId": pbx["id"]} and call["hangupBy"] == "callee", call


# --------------------------------------------------------------------------------------------
# SIP over TLS, outbound (TLS trunks)


def uac(tmp_path: Path, scenario: str, sip_port: int, **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uac", remote=(LOCALHOST, sip_port), timeout_s=SIPP_TIMEOUT, **options)


@pytest.mark.parametrize("trust", ["test CA", "verification off"])
def test_call_to_a_tls_trunk(tmp_path: Path, tls_server: TLSServerProcess, admin: Client, pki: PKI, trunks, trust: str) -> None:
    tls_settings = {"caCertificates": pki.ca_cert.read_text()} if trust == "test CA" else {"verifyCertificate": False}
    with TLSCallCentre(pki.server_context()) as centre:
        callcentre = trunks(uri=f"sip:127.0.0.1:{centre.port}", transport="tls", tls=tls_settings)
        assert callcentre["transport"] == "tls" and callcentre["tls"]["verifyCertificate"] is (trust == "test CA"), callcentre
        trunks(uri="sip:127.0.0.1:9", inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})
        caller = uac(tmp_path, "uac_call.xml", tls_server.sip_port, duration_ms=200)
        assert caller.run() == 0, "the SIPp caller failed\n" + caller.report()
        assert centre.bye_answered.wait(5), f"the caller's BYE did not reach the TLS call centre: {[first_line(m) for m in centre.received]}"
    assert not centre.handshake_errors, centre.handshake_errors
    invite = centre.requests("INVITE")[0]
    vias = all_headers(invite, "Via")
    tls_port = tls_server.sip_tls_port  # type: ignore[attr-defined]
    assert len(vias) == 1 and vias[0].startswith(f"SIP/2.0/TLS 127.0.0.1:{tls_port};") and ";branch=z9hG4bK" in vias[0], vias
    assert header(invite, "Contact") == f"<sips:b2bua@127.0.0.1:{tls_port}>", header(invite, "Contact")
    assert centre.requests("ACK") and centre.requests("BYE"), [first_line(m) for m in centre.received]
    call = wait_for_call(admin, header(invite, "X-Switchboard-Call-Id"), ["completed"])
    assert call["sipCode"] == 200 and call["hangupBy"] == "caller", call


def test_tls_trunk_whose_certificate_is_not_trusted_fails_the_call(tmp_path: Path, tls_server: TLSServerProcess, admin: Client,
                                                                   pki: PKI, trunks) -> None:
    with TLSCallCentre(pki.server_context()) as centre:
        # No CA of its own: the system trust store, which does not know the test CA.
        callcentre = trunks(uri=f"sips:127.0.0.1:{centre.port}")
        pbx = trunks(uri="sip:127.0.0.1:9", inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})
        started = time.monotonic()
        caller = uac(tmp_path, "uac_reject.xml", tls_server.sip_port, sets={"expected": "503"})
        assert caller.run() == 0, "the caller did not get 503\n" + caller.report()
        elapsed = time.monotonic() - started
        assert centre.accepted.wait(2), "the gateway never connected to the TLS call centre"
    assert elapsed < 8, f"the call failed only after {elapsed:.1f}s (a transaction timeout, not the TLS failure)"
    assert not centre.requests("INVITE"), "an INVITE crossed a connection whose certificate was not verified"
    calls = [c for c in admin.get("/v1/calls", params={"trunkId": pbx["id"]}).json()["data"]]
    assert len(calls) == 1, calls
    call = calls[0]
    assert call["status"] == "failed" and call["sipCode"] == 503, call
    assert "TLS handshake" in (call.get("hangupCause") or "") and "CERTIFICATE_VERIFY_FAILED" in call["hangupCause"], call


def test_trunk_tls_settings_are_validated(admin: Client, trunks) -> None:
    plain = trunks(uri="sip:127.0.0.1:5060")
    assert "tls" not in plain, "a trunk created without TLS settings reports some"
    for tls, pointer in [
        ({"caCertificates": "not a certificate"}, "/tls/caCertificates"),
        ({"caCertificates": "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"}, "/tls/caCertificates"),
        ({"caCertificates": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "/tls/caCertificates"),
        ({"serverName": "10.0.0.1"}, "/tls/serverName"),
        ({"serverName": "bad name!"}, "/tls/serverName"),
    ]:
        response = admin.post("/v1/trunks", {"name": "bad tls", "uri": "sips:127.0.0.1", "tls": tls})
        assert response.status_code == 422, describe(response)
        assert response.headers["Content-Type"].startswith("application/problem+json"), describe(response)
        assert pointer in [e["pointer"] for e in response.json().get("errors", [])], describe(response)
    response = admin.post("/v1/trunks", {"name": "bad tls", "uri": "sips:127.0.0.1", "tls": {"trustEverything": True}})
    assert response.status_code in (400, 422), describe(response)

    changed = admin.patch(f"/v1/trunks/{plain['id']}", {"transport": "tls", "tls": {"serverName": "callcentre.example.com"}})
    assert changed.status_code == 200, describe(changed)
    assert changed.json()["transport"] == "tls"
    assert changed.json()["tls"] == {"verifyCertificate": True, "serverName": "callcentre.example.com"}, changed.json()
    assert admin.get(f"/v1/trunks/{plain['id']}").json()["tls"] == changed.json()["tls"]


# --------------------------------------------------------------------------------------------
# Start-up errors


def start_and_fail(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(server_binary()), "serve", "--http-port", str(free_port()), "--sip-port", str(free_port()),
               "--data-dir", str(tmp_path / "data"), *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"`{' '.join(command)}` kept running instead of refusing to start") from expired


@pytest.mark.parametrize("case", ["missing cert", "missing key", "mismatched key", "key as cert", "tls port without cert"])
def test_bad_tls_files_stop_the_start_up(tmp_path: Path, pki: PKI, case: str) -> None:
    args, expected = {
        "missing cert": (["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(pki.key)], "does not exist"),
        "missing key": (["--tls-cert", str(pki.cert), "--tls-key", str(tmp_path / "nope.key")], "does not exist"),
        "mismatched key": (["--tls-cert", str(pki.cert), "--tls-key", str(pki.other_key)], "is not the private key"),
        "key as cert": (["--tls-cert", str(pki.key), "--tls-key", str(pki.key)], "--tls-cert"),
        "tls port without cert": (["--sip-tls-port", str(free_port())], "--sip-tls-port"),
    }[case]
    completed = start_and_fail(tmp_path, *args)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, f"the server started with {case}:\n{output}"
    assert expected in output, f"no clear error for {case}:\n{output}"
    assert "Fatal error" not in output and "Program crashed" not in output, output
    assert "listening" not in output, output
