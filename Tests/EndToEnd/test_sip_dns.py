"""Destinations by host name (RFC 3263 without NAPTR): SRV records with priorities and weights,
A records for names with a port, and failure. A real DNS server (dnsmasq, authoritative for
`.test` and nothing else) runs on a free port for each test, and the gateway is started with
`--dns-server` pointing at it; SIPp plays the call centre and the PBX as in test_sip_b2bua.py.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from sip_support import LOCALHOST, Sipp, assert_success, create_trunk, delete_trunk, run_pair, sipp_binary, wait_for_call
from support import Client, ServerProcess, free_port

DNS_PORT = free_port()
SERVER_ARGS = ["--session-rate-limit", "10000", "--dns-server", f"127.0.0.1:{DNS_PORT}"]
SIPP_TIMEOUT = 10


def dnsmasq_binary() -> str | None:
    return shutil.which("dnsmasq") or shutil.which("/usr/sbin/dnsmasq")


@pytest.fixture(scope="module", autouse=True)
def _need_tools() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")
    if not dnsmasq_binary():
        pytest.fail("dnsmasq not found: apt-get install dnsmasq-base (scripts/install-deps.sh)")


def dns_query(name: str, rtype: int, port: int = DNS_PORT) -> int | None:
    """The response code for a query, or None without an answer."""
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    query = struct.pack(">HHHHHH", 0x5B5B, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", rtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.sendto(query, (LOCALHOST, port))
        try:
            data = sock.recv(512)
        except (socket.timeout, ConnectionRefusedError):
            return None
    return data[3] & 0x0F


class DNSServer:
    def __init__(self, workdir: Path, records: list[str]) -> None:
        self.log = workdir / "dnsmasq.log"
        self.command = [
            dnsmasq_binary() or "dnsmasq", "--keep-in-foreground", f"--port={DNS_PORT}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/", "--pid-file=", "--user=root",
            "--log-queries", f"--log-facility={self.log}", *records,
        ]
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while dns_query("probe.test", 1) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"dnsmasq did not start: {' '.join(self.command)}\n{self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            time.sleep(0.05)

    def queries(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[Any]:
    started: list[DNSServer] = []

    def start(*records: str) -> DNSServer:
        server = DNSServer(tmp_path, list(records))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def trunks(admin: Client) -> Iterator[Any]:
    """`trunks(uri, transport)`: trunk "callcentre" with that URI, and "pbx" admitting 127.0.0.1
    with destination "callcentre"; both deleted after the test. Returns the pbx trunk."""
    created: list[str] = []

    def make(uri: str, transport: str = "udp") -> dict[str, Any]:
        suffix = uuid.uuid4().hex[:6]
        callcentre = create_trunk(admin, name=f"callcentre {suffix}", uri=uri, transport=transport)
        pbx = create_trunk(admin, name=f"pbx {suffix}", uri="sip:127.0.0.1:9", transport="udp",
                           inbound={"allowedSources": ["127.0.0.1/32"], "destination": callcentre["id"]})
        created.extend([pbx["id"], callcentre["id"]])
        return pbx

    yield make
    for trunk_id in created:
        delete_trunk(admin, trunk_id)


def uas_for(tmp_path: Path, scenario: str, transport: str = "udp") -> Sipp:
    return Sipp(scenario, tmp_path, name="uas", transport=transport, timeout_s=SIPP_TIMEOUT)


def uac_for(tmp_path: Path, scenario: str, server: ServerProcess, **options: Any) -> Sipp:
    return Sipp(scenario, tmp_path, name="uac", remote=(LOCALHOST, server.sip_port), **{"timeout_s": SIPP_TIMEOUT, **options})


def completed_call(admin: Client, uas: Sipp) -> dict[str, Any]:
    invite = uas.received("INVITE")[0]
    return wait_for_call(admin, invite.header("X-Switchboard-Call-Id"), ["completed"])


def test_srv_chooses_priority_and_skips_unresolvable_targets(
    tmp_path: Path, server: ServerProcess, admin: Client, dns, trunks
) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")
    dead = free_port()
    resolver = dns(
        # Priority 5: a target without addresses (NXDOMAIN), so the next one is tried.
        f"--srv-host=_sip._udp.callcentre.test,ghost.callcentre.test,{uas.port},5,100",
        f"--srv-host=_sip._udp.callcentre.test,uas.callcentre.test,{uas.port},10,100",
        f"--srv-host=_sip._udp.callcentre.test,uas.callcentre.test,{dead},20,100",
        "--host-record=uas.callcentre.test,127.0.0.1",
    )
    trunks("sip:agents@callcentre.test", "udp")
    uac = uac_for(tmp_path, "uac_call.xml", server, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    invite = uas.received("INVITE")[0]
    # The Request-URI keeps the name (RFC 3263 §4: DNS says where to send, not what).
    assert invite.request_uri == "sip:agents@callcentre.test", invite.start_line
    log = resolver.queries()
    assert "query[SRV] _sip._udp.callcentre.test" in log, log
    assert "query[A] ghost.callcentre.test" in log, f"the priority-5 target was not tried first\n{log}"
    assert completed_call(admin, uas)["hangupBy"] == "caller"


def test_srv_for_a_tcp_trunk(tmp_path: Path, server: ServerProcess, admin: Client, dns, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml", transport="tcp")
    resolver = dns(
        f"--srv-host=_sip._tcp.tcpcentre.test,uas.tcpcentre.test,{uas.port},10,100",
        "--host-record=uas.tcpcentre.test,127.0.0.1",
    )
    trunks("sip:tcpcentre.test", "tcp")
    uac = uac_for(tmp_path, "uac_call.xml", server, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    assert uas.received("INVITE")[0].transport == "TCP"
    assert "query[SRV] _sip._tcp.tcpcentre.test" in resolver.queries()
    assert completed_call(admin, uas)["hangupBy"] == "caller"


def test_a_record_with_explicit_port(tmp_path: Path, server: ServerProcess, admin: Client, dns, trunks) -> None:
    uas = uas_for(tmp_path, "uas_answer.xml")
    resolver = dns("--host-record=direct.callcentre.test,127.0.0.1")
    trunks(f"sip:agents@direct.callcentre.test:{uas.port}", "udp")
    uac = uac_for(tmp_path, "uac_call.xml", server, duration_ms=100)
    run_pair(uas, uac)
    assert_success(uas, uac)
    log = resolver.queries()
    assert "query[A] direct.callcentre.test" in log and "query[SRV]" not in log, f"a port given means no SRV (RFC 3263 §4.2)\n{log}"
    assert completed_call(admin, uas)["hangupBy"] == "caller"


def test_unresolvable_destination_gets_502(tmp_path: Path, server: ServerProcess, dns, trunks) -> None:
    resolver = dns()
    trunks("sip:agents@nowhere.test", "udp")
    uac = uac_for(tmp_path, "uac_reject.xml", server, sets={"expected": "502"})
    uac.run()
    assert_success(uac)
    assert uac.received(100), "the caller must hear 100 Trying while the name is looked up"
    assert "query[SRV] _sip._udp.nowhere.test" in resolver.queries(), resolver.queries()


@pytest.mark.parametrize("value", ["callcentre.test", "127.0.0.1:0", "[::1", "127.0.0.1:99999"])
def test_dns_server_flag_is_validated(tmp_path: Path, value: str) -> None:
    from support import server_binary

    result = subprocess.run(
        [str(server_binary()), "serve", "--data-dir", str(tmp_path), "--dns-server", value],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0 and "--dns-server" in result.stderr, (result.returncode, result.stderr[-500:])
