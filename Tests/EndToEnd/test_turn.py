"""Browsers behind a TURN relay: the widget in headless Chromium, forced to relay-only ICE,
reaches the gateway through coturn with the TURN REST API credentials of its widget session.

coturn (`turnserver`) runs as this module's own process on 127.0.0.1 only (listening and relay
address, `allow-loopback-peers`, a small relay port range, its log in the test's tmp dir) with
`use-auth-secret` and a random `static-auth-secret` written to its config file. The gateway gets
`--ice-server turn:127.0.0.1:PORT?transport=udp --turn-secret-file FILE`; a page script wraps
`RTCPeerConnection` to force `iceTransportPolicy: "relay"` and records the session responses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from support import Client, ServerProcess, describe, free_port, parse_time
from widget_support import CallCentre, ShopServer, WidgetPage, chromium, echo_peer_for, measure_audio, wait_until

RTP_BASE = 42000 + (os.getpid() % 200) * 10
RELAY_BASE = 46000 + (os.getpid() % 200) * 10
REALM = "switchboard.test"
ENERGY_THRESHOLD = 0.01  # as in test_widget_browser.py: Chromium's fake microphone beeps at 0.1-0.3 RMS

# Relay-only ICE for every peer connection the page makes, and the widget's session responses.
RELAY_ONLY = """
window.__sessions = [];
window.__pcs = [];
const NativeFetch = window.fetch;
window.fetch = async function (...args) {
  const response = await NativeFetch.apply(this, args);
  const url = String((args[0] && args[0].url) || args[0]);
  if (/\\/sessions$/.test(url) && response.ok) response.clone().json().then((j) => __sessions.push(j));
  return response;
};
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(config, ...rest) {
    super(Object.assign({}, config || {}, {iceTransportPolicy: "relay"}), ...rest);
    __pcs.push(this);
  }
};
"""

# The selected candidate pair of the page's first peer connection, with both candidates.
SELECTED_PAIR = """
const done = arguments[arguments.length - 1];
const pc = window.__pcs[0];
if (!pc) { done({error: "no peer connection"}); return; }
pc.getStats().then((report) => {
  const all = [...report.values()];
  const transport = all.find((s) => s.type === "transport");
  const pair = transport && transport.selectedCandidatePairId ? report.get(transport.selectedCandidatePairId)
    : all.find((s) => s.type === "candidate-pair" && s.nominated && s.state === "succeeded");
  const local = all.filter((s) => s.type === "local-candidate").map((c) => ({id: c.id, candidateType: c.candidateType, address: c.address, port: c.port, relayProtocol: c.relayProtocol, url: c.url}));
  if (!pair) { done({error: "no selected pair", local, config: pc.getConfiguration().iceTransportPolicy}); return; }
  const l = report.get(pair.localCandidateId), r = report.get(pair.remoteCandidateId);
  done({state: pair.state, nominated: pair.nominated, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        local: {candidateType: l.candidateType, address: l.address, port: l.port, relayProtocol: l.relayProtocol, url: l.url},
        remote: {candidateType: r.candidateType, address: r.address, port: r.port},
        policy: pc.getConfiguration().iceTransportPolicy, candidates: local});
}, (e) => done({error: String(e)}));
"""


def turn_credential(secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), computed here independently of the gateway."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


class TurnServer:
    """coturn on 127.0.0.1 with TURN REST API authentication (`use-auth-secret`)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("turnserver")
        assert binary, "turnserver not found: apt-get install coturn (scripts/install-deps.sh)"
        self.directory = directory
        self.secret = secrets.token_urlsafe(24)
        self.port = free_port()
        self.relay_ports = (RELAY_BASE, RELAY_BASE + 9)
        self.log_path = directory / "turnserver.log"
        config = directory / "turnserver.conf"
        config.write_text("\n".join([
            "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={self.port}",
            f"min-port={self.relay_ports[0]}", f"max-port={self.relay_ports[1]}",
            "use-auth-secret", f"static-auth-secret={self.secret}", f"realm={REALM}",
            "allow-loopback-peers", "no-tls", "no-dtls", "no-tcp", "no-tcp-relay", "no-cli", "fingerprint",
            "verbose", f"log-file={self.log_path}", "simple-log", "no-stdout-log",
            f"userdb={directory / 'turndb'}", f"pidfile={directory / 'turnserver.pid'}",
        ]) + "\n")
        config.chmod(0o600)
        self.proc = subprocess.Popen(
            [binary, "-c", str(config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(directory / "turnserver.stderr", "wb"),
        )
        wait_until(lambda: self.proc.poll() is not None or "listener opened on" in self.log() or "Total General servers" in self.log(), 10,
                   message=lambda: f"coturn did not start:\n{self.log()[-2000:]}")
        assert self.proc.poll() is None, f"coturn exited with {self.proc.returncode}:\n{self.log()[-2000:]}"
        time.sleep(0.3)  # its relay threads come up right after the listener

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def lines_for(self, username: str) -> list[str]:
        return [line for line in self.log().splitlines() if f"user <{username}>" in line or f"username=<{username}>" in line]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    server = TurnServer(tmp_path_factory.mktemp("coturn"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def call_centre() -> Iterator[CallCentre]:
    centre = CallCentre(echo_peer_for)
    yield centre
    centre.close()


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopServer]:
    server = ShopServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    driver = chromium()
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RELAY_ONLY})["identifier"]
    yield driver
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})
    driver.quit()


def write_secret(path: Path, secret: str) -> Path:
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return path


def relay_gateway(make_server, turn: TurnServer, secret_file: Path, *extra: str) -> ServerProcess:
    return make_server(extra_args=[
        "--session-rate-limit", "10000", "--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 9}", "--public-ip", "127.0.0.1",
        "--ice-server", turn.url, "--turn-secret-file", str(secret_file), "--log-level", "debug", *extra,
    ]).start()


def widget_for(admin: Client, centre: CallCentre, shop: ShopServer) -> dict:
    trunk = admin.post("/v1/trunks", {"name": "relay call centre", "uri": centre.uri})
    assert trunk.status_code == 201, describe(trunk)
    widget = admin.post("/v1/widgets", {"name": "relay shop", "destination": trunk.json()["id"], "allowedOrigins": [shop.origin]})
    assert widget.status_code == 201, describe(widget)
    return widget.json()


def check_session_credentials(session: dict, turn: TurnServer, secret: str) -> str:
    """The session's TURN entry: the configured URL, `<expiresAt in unix seconds>:<session id>`,
    base64(HMAC-SHA1(secret, username)); returns the username."""
    assert session["iceServers"] == [{"urls": [turn.url], "username": session["iceServers"][0].get("username"),
                                      "credential": session["iceServers"][0].get("credential")}], session["iceServers"]
    entry = session["iceServers"][0]
    expiry, _, session_id = entry["username"].partition(":")
    assert session_id == session["id"], entry
    assert int(expiry) == int(parse_time(session["expiresAt"]).timestamp()), (entry, session["expiresAt"])
    assert entry["credential"] == turn_credential(secret, entry["username"]), entry
    return entry["username"]


def start_call(page: WidgetPage, shop: ShopServer, widget: dict, gateway: ServerProcess) -> None:
    page.open(shop.url(widget=widget["id"], gateway=gateway.url, script_src=shop.origin + "/callme.js"))
    page.shadow(".launcher").click()


# --------------------------------------------------------------------------------------------
# Tests


def test_relay_only_browser_calls_through_coturn(make_server, tmp_path: Path, turn: TurnServer, browser, shop: ShopServer, call_centre: CallCentre) -> None:
    gateway = relay_gateway(make_server, turn, write_secret(tmp_path / "turn.secret", turn.secret))
    admin = gateway.client()
    widget = widget_for(admin, call_centre, shop)
    call_centre.reset("answer")

    # A page's session: the TURN entry with credentials that expire with the session.
    response = Client(gateway.url, None).post(f"/v1/widgets/{widget['id']}/sessions", {}, headers={"Origin": shop.origin})
    assert response.status_code == 201, describe(response)
    check_session_credentials(response.json(), turn, turn.secret)

    page = WidgetPage(browser)
    start_call(page, shop, widget, gateway)
    try:
        page.wait_state("in-call", timeout=20)
        sessions = page.js("return window.__sessions")
        assert len(sessions) == 1, sessions
        username = check_session_credentials(sessions[0], turn, turn.secret)

        inbound, outbound, summary = measure_audio(page, 1.5)
        print(f"\nthrough coturn: audio RMS in {inbound:.4f}, out {outbound:.4f}; packets received {summary['packetsReceived']}, "
              f"sent {summary['packetsSent']}, RTT {summary['roundTripTime']}")
        assert outbound > ENERGY_THRESHOLD, f"the microphone sends silence: RMS {outbound}"
        assert inbound > ENERGY_THRESHOLD, f"no audio comes back through the relay: RMS {inbound}"

        # Chromium's selected pair: its relay candidate (coturn's relay address) to the gateway's host candidate.
        pair = page.js_async(SELECTED_PAIR)
        print(f"selected pair: {pair['local']} -> {pair['remote']}")
        assert pair.get("policy") == "relay", pair
        assert {c["candidateType"] for c in pair["candidates"]} == {"relay"}, pair["candidates"]
        assert pair["state"] == "succeeded", pair
        assert pair["local"]["candidateType"] == "relay" and pair["local"]["relayProtocol"] == "udp", pair
        relay_port = pair["local"]["port"]
        assert pair["local"]["address"] == "127.0.0.1" and turn.relay_ports[0] <= relay_port <= turn.relay_ports[1], pair
        assert pair["remote"]["address"] == "127.0.0.1" and RTP_BASE <= pair["remote"]["port"] <= RTP_BASE + 9, pair

        # coturn allocated that relay address for the session's username and let the gateway's address in.
        lines = turn.lines_for(username)
        assert any("ALLOCATE processed, success" in line for line in lines), "\n".join(lines) or turn.log()[-3000:]
        assert any("CREATE_PERMISSION processed, success" in line for line in lines), "\n".join(lines)
        assert re.search(rf"Local relay addr: 127\.0\.0\.1:{relay_port}\b", turn.log()), turn.log()[-3000:]
        assert re.search(r"peer 127\.0\.0\.1 lifetime updated", turn.log()), turn.log()[-3000:]

        # The gateway took the browser's checks from coturn's relay address.
        selected = [line for line in gateway.stderr_text().splitlines() if "ICE selected the browser's address" in line]
        assert selected, gateway.log_tail(60)
        assert re.search(rf"127\.0\.0\.1:{relay_port}\b", selected[-1]), selected

        page.shadow("[data-action=hangup]").click()
        page.wait_state("ended")
        assert page.events()[-1]["detail"] == {"cause": "local-hangup", "sipCode": None}, page.events()
        assert turn.secret not in gateway.stderr_text() + gateway.stdout_text(), "the TURN secret is in the gateway's logs"
    finally:
        page.js("window.CallMe && CallMe.hangup && CallMe.hangup()")
    assert not call_centre.errors, call_centre.errors
    assert not gateway.crashed()


def test_wrong_secret_is_refused_by_coturn_and_the_call_ends_without_checks(make_server, tmp_path: Path, turn: TurnServer, browser, shop: ShopServer, call_centre: CallCentre) -> None:
    wrong = secrets.token_urlsafe(24)
    gateway = relay_gateway(make_server, turn, write_secret(tmp_path / "wrong.secret", wrong), "--ice-timeout", "2")
    admin = gateway.client()
    widget = widget_for(admin, call_centre, shop)
    call_centre.reset("answer")

    page = WidgetPage(browser)
    start_call(page, shop, widget, gateway)
    try:
        wait_until(lambda: page.js("return window.__sessions.length"), 10, message=lambda: f"no session: {page.console()[-5:]}")
        session = page.js("return window.__sessions")[0]
        username = check_session_credentials(session, turn, wrong)

        # coturn refuses the allocation: the credential does not match its secret.
        wait_until(lambda: any(re.search(r"error 4(01|41)", line) for line in turn.lines_for(username)), 10,
                   message=lambda: "\n".join(turn.lines_for(username)) or turn.log()[-3000:])
        # With relay-only ICE the browser has no candidate: no check reaches the gateway, which
        # ends the call after --ice-timeout.
        page.wait_state("ended", timeout=20)
        assert not any("ALLOCATE processed, success" in line for line in turn.lines_for(username)), turn.lines_for(username)
        calls = admin.get("/v1/calls").json()["data"]
        assert len(calls) == 1, calls
        call = wait_until(lambda: (c := admin.get(f"/v1/calls/{calls[0]['id']}").json()).get("hangupCause") and c, 10)
        assert call["hangupCause"] == "ice-no-checks", call
        assert call["hangupBy"] == "system", call
        assert call.get("answeredAt"), call
        ended = page.events()[-1]
        assert ended["type"] == "ended", page.events()
    finally:
        page.js("window.CallMe && CallMe.hangup && CallMe.hangup()")
    assert not call_centre.errors, call_centre.errors
    assert not gateway.crashed()


# --------------------------------------------------------------------------------------------
# Start-up


def start_and_fail(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from support import server_binary

    command = [str(server_binary()), "serve", "--http-port", str(free_port()), "--sip-port", str(free_port()),
               "--data-dir", str(tmp_path / "data"), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"`{' '.join(command)}` kept running instead of refusing to start") from expired


@pytest.mark.parametrize("case", ["bad scheme", "bad port", "query on stun", "turn without credentials", "missing secret file",
                                  "empty secret file", "secret and password", "password without username"])
def test_bad_ice_server_options_stop_the_start_up(tmp_path: Path, case: str) -> None:
    empty = tmp_path / "empty.secret"
    empty.write_text("\n")
    good = write_secret(tmp_path / "good.secret", secrets.token_urlsafe(16))
    turn_url = "turn:127.0.0.1:3478?transport=udp"
    args, expected = {
        "bad scheme": (["--ice-server", "http://turn.example.net"], "http://turn.example.net is not a STUN/TURN URL"),
        "bad port": (["--ice-server", "stun:stun.example.net:99999"], "the port must be 1-65535"),
        "query on stun": (["--ice-server", "stun:stun.example.net?transport=udp"], "STUN URLs take no query"),
        "turn without credentials": (["--ice-server", turn_url], "a TURN server needs credentials"),
        "missing secret file": (["--ice-server", turn_url, "--turn-secret-file", str(tmp_path / "nope")], "does not exist or cannot be read"),
        "empty secret file": (["--ice-server", turn_url, "--turn-secret-file", str(empty)], "holds no secret"),
        "secret and password": (["--ice-server", turn_url, "--turn-secret-file", str(good), "--turn-username", "u", "--turn-password", "p"], "exclude each other"),
        "password without username": (["--ice-server", turn_url, "--turn-password", "p"], "go together"),
    }[case]
    completed = start_and_fail(tmp_path, *args)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, f"the server started with {case}:\n{output}"
    assert expected in output, f"no clear error for {case}:\n{output}"
    assert "Fatal error" not in output and "Program crashed" not in output, output
    assert "listening" not in output, output
    assert good.read_text().strip() not in output


def test_help_names_the_ice_server_options() -> None:
    from support import server_binary

    completed = subprocess.run([str(server_binary()), "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0, completed.stderr
    for option in ("--ice-server <url>", "--turn-secret-file <path>", "--turn-username", "--turn-password"):
        assert option in completed.stdout, completed.stdout
