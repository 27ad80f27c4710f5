#!/usr/bin/env python3
"""Webhook delivery throughput: real call events, signed by the gateway, verified by the receiver.

Starts the server (SWITCHBOARD_BIN, default .build/release/switchboard if built, else
.build/debug/switchboard) on free ports with a temporary data dir, a receiver in this process
(a ThreadingHTTPServer, HTTP/1.1 keep-alive, that checks the Standard Webhooks signature of
every delivery with Examples/crm-receiver/standard_webhooks.py and answers 401 when it does not
match), subscribes it to `call.*`, and makes the events with real calls: a SIPp UAS as the call
centre (Tests/EndToEnd/sipp/uas_answer.xml: 100, 180, 200) and a SIPp UAC
(Tests/EndToEnd/sipp/uac_call.xml: INVITE, ACK, hold, BYE) calling the gateway's SIP port
through an inbound trunk whose destination is the UAS. Each call makes four events
(call.initiated, call.ringing, call.answered, call.completed), so four deliveries.

Prints:
  webhook deliveries/s  accepted deliveries / (last one received - first INVITE sent)
  steady state          deliveries/s between the 10th and the 90th percentile of arrivals
  calls/s driven        calls / the time SIPp took to create them all, and the events/s they make (x4)
  ratio                 deliveries/s / events made per s: 1.0 means delivery kept up with the
                        calls; below 1 the outbox grew and drained after the calls
It fails (exit 1) if a signature did not verify, a call failed, or an event is missing.

Tuning (environment): BENCH_CALLS (600), BENCH_RATE (calls/s, 60), BENCH_HOLD_MS (0),
BENCH_FORMAT (json | xmlrpc), BENCH_DRAIN_S (seconds to wait for the last deliveries, 120).
Logs, SIPp statistics and the arrival times (arrivals.csv) are kept in Benchmarks/.out/webhooks/.

    SWITCHBOARD_BIN=.build/release/switchboard python3 Benchmarks/webhooks.py
"""

from __future__ import annotations

import base64
import csv
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCENARIOS = REPO / "Tests" / "EndToEnd" / "sipp"
OUT = HERE / ".out" / "webhooks"
sys.path.insert(0, str(REPO / "Examples" / "crm-receiver"))
import standard_webhooks  # noqa: E402

CALL_EVENTS = ["call.initiated", "call.ringing", "call.answered", "call.completed"]


def die(message: str) -> None:
    print(f"webhooks: {message}", file=sys.stderr)
    sys.exit(1)


def say(message: str) -> None:
    print(f"webhooks: {message}", file=sys.stderr)


def server_binary() -> Path:
    if os.environ.get("SWITCHBOARD_BIN"):
        return Path(os.environ["SWITCHBOARD_BIN"]).resolve()
    release = REPO / ".build" / "release" / "switchboard"
    return release if release.exists() else REPO / ".build" / "debug" / "switchboard"


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def wait_udp_bound(port: int, timeout: float = 30) -> bool:
    """Whether something binds UDP 127.0.0.1:`port` within `timeout`, read from the kernel's
    table (a probe bind would hold the port for a moment and could make SIPp's bind fail)."""
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as table:
            if any(row.split()[1] in wanted for row in list(table)[1:]):
                return True
        time.sleep(0.05)
    return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def seconds(elapsed: str) -> float:
    """SIPp's HH:MM:SS[:micro] as seconds."""
    parts = elapsed.split(":")
    value = int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])
    return value + (int(parts[3]) / 1e6 if len(parts) > 3 else 0)


class Receiver:
    """Accepts deliveries whose signature verifies; records (arrival time, event) once per webhook-id."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str, str, str]] = []  # (monotonic, event id, type, call id)
        self.seen: set[str] = set()
        self.duplicates = 0
        self.rejected = 0
        self.rejections: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.deliver(self.headers, body)
                self.send_response(status)
                if self.headers.get("Content-Type", "").startswith("text/xml"):
                    # An XML-RPC push wants a methodResponse (a fault when the signature is wrong).
                    answer = (xmlrpc.client.dumps((True,), methodresponse=True) if status == 200 else
                              xmlrpc.client.dumps(xmlrpc.client.Fault(401, "bad signature"), methodresponse=True)).encode()
                    self.send_header("Content-Type", "text/xml")
                else:
                    answer = b""
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliver(self, headers, body: bytes) -> int:
        now = time.monotonic()
        try:
            standard_webhooks.verify(self.secret, headers, body)  # never skipped
            if headers.get("Content-Type", "").startswith("text/xml"):
                (envelope,), _ = xmlrpc.client.loads(body)
            else:
                envelope = json.loads(body)
            call_id = envelope["data"]["call"]["id"]
        except (standard_webhooks.WebhookVerificationError, ValueError, KeyError, TypeError) as error:
            with self.lock:
                self.rejected += 1
                self.rejections.append(str(error))
            return 401
        with self.lock:
            webhook_id = headers.get("webhook-id")
            if webhook_id in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(webhook_id)
                self.arrivals.append((now, envelope["id"], envelope["type"], call_id))
        return 200

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server and SIPp on the way out
    calls = int(os.environ.get("BENCH_CALLS", "600"))
    rate = int(os.environ.get("BENCH_RATE", "60"))
    hold_ms = int(os.environ.get("BENCH_HOLD_MS", "0"))
    fmt = os.environ.get("BENCH_FORMAT", "json")
    drain_s = float(os.environ.get("BENCH_DRAIN_S", "120"))
    if fmt not in ("json", "xmlrpc"):
        die("BENCH_FORMAT is json or xmlrpc")
    binary = server_binary()
    if not os.access(binary, os.X_OK):
        die(f"server binary {binary} not found (swift build [-c release], or set SWITCHBOARD_BIN)")
    if not shutil.which("sipp"):
        die("sipp not found (apt-get install sip-tester)")

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    work = Path(tempfile.mkdtemp())
    http_port, sip_port, uas_port = free_port(), free_port(), free_port()
    while len({http_port, sip_port, uas_port}) < 3:
        sip_port, uas_port = free_port(), free_port()
    key = "sbk_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    base = f"http://127.0.0.1:{http_port}"
    processes: list[subprocess.Popen] = []
    receiver = Receiver()

    def api(method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else {}

    try:
        server = subprocess.Popen(
            [str(binary), "serve", "--http-host", "127.0.0.1", "--http-port", str(http_port),
             "--sip-port", str(sip_port), "--data-dir", str(work / "data")],
            env={**os.environ, "SWITCHBOARD_BOOTSTRAP_KEY": key},
            stdout=open(OUT / "server.stdout.log", "wb"), stderr=open(OUT / "server.stderr.log", "wb"))
        processes.append(server)
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                die(f"server exited during startup; see {OUT}/server.stderr.log")
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    die(f"server not ready after 60 s; see {OUT}/server.stderr.log")
                time.sleep(0.1)

        # The call centre: answers every call (100, 180, 200), waits for the caller's BYE.
        uas = subprocess.Popen(
            ["sipp", "-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(uas_port), "-t", "u1",
             "-timeout", f"{int(calls / rate + drain_s + 120)}s", "-nostdin", "-max_socket", "65000",
             "-trace_err", "-error_file", str(OUT / "uas.errors.log")],
            stdout=open(OUT / "uas.stdout.log", "wb"), stderr=subprocess.STDOUT)
        processes.append(uas)
        if not wait_udp_bound(uas_port):
            die(f"the SIPp UAS did not bind 127.0.0.1:{uas_port}; see {OUT}/uas.stdout.log")

        api("POST", "/v1/trunks", {
            "name": "in", "uri": f"sip:127.0.0.1:{uas_port}", "transport": "udp",
            "inbound": {"allowedSources": ["127.0.0.1/32"], "destination": f"sip:agent@127.0.0.1:{uas_port}"}})
        subscription = {"url": receiver.url, "events": ["call.*"], "format": fmt}
        if fmt == "xmlrpc":
            subscription.update(url=receiver.url.replace("/webhooks", "/RPC2"), xmlrpcMethod="crm.callEvent")
        webhook = api("POST", "/v1/webhooks", subscription)
        receiver.secret = webhook["secret"]

        # The calls.
        say(f"{calls} calls at {rate}/s through {binary}")
        stat = OUT / "uac.stat.csv"
        cpu_server_0, cpu_self_0 = cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        uac = subprocess.run(
            ["sipp", "-sf", str(SCENARIOS / "uac_call.xml"), "-i", "127.0.0.1", "-p", str(free_port()), "-t", "u1",
             "-s", "agents", "-r", str(rate), "-rp", "1000", "-l", "2000", "-m", str(calls), "-d", str(hold_ms),
             "-timeout", f"{int(calls / rate + 60)}s", "-timeout_error", "-nostdin", "-max_socket", "65000",
             "-key", "caller_headers", "User-Agent: switchboard-bench-webhooks",
             "-trace_err", "-error_file", str(OUT / "uac.errors.log"), "-trace_stat", "-stf", str(stat), "-fd", "1",
             f"127.0.0.1:{sip_port}"],
            stdout=open(OUT / "uac.stdout.log", "wb"), stderr=subprocess.STDOUT)
        calls_done = time.monotonic()
        ok = failed = 0
        sipp_s = calls_done - started  # until every call was created (SIPp's statistics, 1 s rows)
        try:
            rows = list(csv.DictReader(open(stat, newline=""), delimiter=";"))
            ok, failed = int(rows[-1]["SuccessfulCall(C)"] or 0), int(rows[-1]["FailedCall(C)"] or 0)
            points = [(0.0, 0)] + [(seconds(row["ElapsedTime(C)"]), int(row["TotalCallCreated"] or 0)) for row in rows]
            for (t0, n0), (t1, n1) in zip(points, points[1:]):
                if n1 >= calls:  # interpolated inside the 1 s row
                    sipp_s = t0 + (t1 - t0) * (calls - n0) / max(1, n1 - n0)
                    break
        except (OSError, IndexError, KeyError, ValueError):
            pass

        # The last deliveries: wait until every event is in, or nothing came for drain_s.
        expected = 4 * ok
        last_count, last_change = -1, time.monotonic()
        while receiver.count() < expected and time.monotonic() - last_change < drain_s:
            if receiver.count() != last_count:
                last_count, last_change = receiver.count(), time.monotonic()
            time.sleep(0.05)
        cpu_server = cpu_seconds(server.pid) - cpu_server_0
        cpu_self_1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_receiver = (cpu_self_1.ru_utime - cpu_self_0.ru_utime) + (cpu_self_1.ru_stime - cpu_self_0.ru_stime)
        for _ in range(50):  # the gateway stores an attempt's outcome just after the answer
            pending = api("GET", f"/v1/webhooks/{webhook['id']}/deliveries?status=pending&limit=100")["data"]
            if not pending or receiver.count() < expected:
                break
            time.sleep(0.1)
        failed_deliveries = api("GET", f"/v1/webhooks/{webhook['id']}/deliveries?status=failed&limit=100")["data"]
    finally:
        receiver.stop()
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(work, ignore_errors=True)

    arrivals = sorted(receiver.arrivals)
    times = [a[0] for a in arrivals]
    with open(OUT / "arrivals.csv", "w") as f:  # seconds after the first INVITE, event, type, call
        f.writelines(f"{t - started:.4f},{event},{kind},{call}\n" for t, event, kind, call in arrivals)
    by_call: dict[str, list[str]] = {}
    for _, _, kind, call_id in arrivals:
        by_call.setdefault(call_id, []).append(kind)
    complete = sum(1 for kinds in by_call.values() if sorted(kinds) == sorted(CALL_EVENTS))
    in_order = sum(1 for kinds in by_call.values() if kinds == CALL_EVENTS)

    if times:
        total_s = times[-1] - started
        overall = len(times) / total_s
        lo, hi = int(len(times) * 0.1), int(len(times) * 0.9) - 1
        steady = (hi - lo) / (times[hi] - times[lo]) if hi > lo and times[hi] > times[lo] else float("nan")
        first_latency = times[0] - started
        drain = times[-1] - calls_done
    else:
        total_s = overall = steady = first_latency = drain = float("nan")
    cps = calls / sipp_s if sipp_s > 0 else float("nan")
    ratio = overall / (4 * cps) if cps > 0 else float("nan")
    build = "release" if "release" in str(binary) else "debug"

    print(f"""
==================== Switchboard webhook delivery benchmark ====================
binary                 {binary} ({build})
load                   SIPp uac_call.xml -> gateway (inbound trunk) -> uas_answer.xml, UDP,
                       {calls} calls at {rate}/s, hold {hold_ms} ms; subscription call.*, format {fmt}
receiver               in-process ThreadingHTTPServer, Standard Webhooks signature checked on every delivery
calls/s driven         {cps:.1f}   ({calls} calls created in {sipp_s:.1f} s, {ok} ok, {failed} failed; events made/s {4 * cps:.1f})
webhook deliveries/s: {overall:.1f}
                       ({len(times)} events in {total_s:.2f} s, first INVITE -> last delivery)
steady state           {steady:.1f} deliveries/s (10th..90th percentile of arrivals)
ratio deliveries/s / events made/s   {ratio:.2f}
first delivery after   {first_latency * 1000:.0f} ms; last one {drain:.2f} s after the last call ended
verified / rejected    {len(times)} / {receiver.rejected}   duplicates {receiver.duplicates}
calls with 4 events    {complete} of {ok} (in per-call order: {in_order})
gateway outbox at end  {len(pending)} pending, {len(failed_deliveries)} failed
cpu seconds            gateway {cpu_server:.1f}, receiver {cpu_receiver:.1f} (2 cores = {2 * total_s:.1f} available)
logs                   {OUT}/
=================================================================================""")

    problems = []
    if receiver.rejected:
        problems.append(f"{receiver.rejected} deliveries failed verification: {receiver.rejections[:3]}")
    if uac.returncode != 0 or failed or ok != calls:
        problems.append(f"SIPp UAC exit {uac.returncode}, {ok} ok / {failed} failed of {calls} calls; see {OUT}/uac.*")
    if len(times) != expected or complete != ok:
        problems.append(f"{len(times)} events received, {expected} expected ({complete} calls complete)")
    if problems:
        die("; ".join(problems))


if __name__ == "__main__":
    main()
