#!/usr/bin/env python3
"""XML-RPC (/RPC2) against REST (/v1) for the same operations, same server, same run.

Starts the server (SWITCHBOARD_BIN, default .build/release/switchboard if built, else
.build/debug/switchboard) on free ports with a temporary data dir, creates 25 widgets, then for
each operation runs K concurrent clients, each a thread with its own kept-alive connection
(requests.Session for REST, xmlrpc.client.ServerProxy on one persistent Transport for XML-RPC,
the API key as a Bearer token on both), for T seconds:

    widgets.get(id)           vs  GET /v1/widgets/{id}
    widgets.list({limit: 20}) vs  GET /v1/widgets?limit=20

Every answer is decoded and checked (the widget id, 20 list entries); any error or fault fails
the run. Prints requests/s, p50/p99 latency, the gateway's CPU (share of one core, and CPU ms per
request) and the ratio XML-RPC/REST per operation, plus the CPU seconds the gateway and the
clients used (the clients are Python threads on the same 2-core machine: when the gateway's share
and the clients' add up to both cores, req/s is bounded by the machine, and CPU ms per request is
the figure that compares the two protocols' cost in the gateway).

The T seconds are measured in BENCH_ROUNDS slices, REST and XML-RPC taking turns, so that a
change of load on the machine during the run falls on both sides alike.

Tuning (environment): BENCH_CLIENTS (K, 4), BENCH_DURATION (T seconds, 12), BENCH_ROUNDS (3),
BENCH_WARMUP (seconds before each slice, 1).

    SWITCHBOARD_BIN=.build/release/switchboard .build-venv/bin/python Benchmarks/xmlrpc_vs_rest.py
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhooks import cpu_seconds, free_port, server_binary  # noqa: E402

OUT = Path(__file__).resolve().parent / ".out" / "xmlrpc_vs_rest"


def die(message: str) -> None:
    print(f"xmlrpc_vs_rest: {message}", file=sys.stderr)
    sys.exit(1)


def bearer_proxy(url: str, key: str) -> xmlrpc.client.ServerProxy:
    class Bearer(xmlrpc.client.Transport):  # one connection, kept alive across calls
        def send_headers(self, connection, headers):
            connection.putheader("Authorization", f"Bearer {key}")
            super().send_headers(connection, headers)

    return xmlrpc.client.ServerProxy(url, transport=Bearer(), allow_none=True)


def run(name: str, make_client, call, clients: int, duration: float, warmup: float) -> dict:
    """K threads, each with its own client, calling `call(client)` for warmup + duration seconds;
    counts only the requests that complete inside the measured window."""
    start_gate = threading.Barrier(clients + 1)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    window: list[float] = [0.0, 0.0]

    def worker() -> None:
        client = make_client()
        mine: list[float] = []
        start_gate.wait()
        try:
            while True:
                begun = time.perf_counter()
                if begun >= window[1]:
                    break
                call(client)
                ended = time.perf_counter()
                if begun >= window[0] and ended <= window[1]:
                    mine.append(ended - begun)
        except Exception as error:  # noqa: BLE001 - any failure invalidates the figure
            with lock:
                errors.append(f"{type(error).__name__}: {error}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    window[0], window[1] = now + warmup, now + warmup + duration
    start_gate.wait()
    for thread in threads:
        thread.join(duration + warmup + 60)
    return {"latencies": latencies, "errors": errors}


def main() -> None:
    clients = int(os.environ.get("BENCH_CLIENTS", "4"))
    duration = float(os.environ.get("BENCH_DURATION", "12"))
    warmup = float(os.environ.get("BENCH_WARMUP", "1"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    binary = server_binary()
    if not os.access(binary, os.X_OK):
        die(f"server binary {binary} not found (swift build [-c release], or set SWITCHBOARD_BIN)")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    work = Path(tempfile.mkdtemp())
    http_port, sip_port = free_port(), free_port()
    while sip_port == http_port:
        sip_port = free_port()
    key = "sbk_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    base = f"http://127.0.0.1:{http_port}"
    headers = {"Authorization": f"Bearer {key}"}

    server = subprocess.Popen(
        [str(binary), "serve", "--http-host", "127.0.0.1", "--http-port", str(http_port),
         "--sip-port", str(sip_port), "--data-dir", str(work / "data")],
        env={**os.environ, "SWITCHBOARD_BOOTSTRAP_KEY": key},
        stdout=open(OUT / "server.stdout.log", "wb"), stderr=open(OUT / "server.stderr.log", "wb"))
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                die(f"server exited during startup; see {OUT}/server.stderr.log")
            try:
                requests.get(base + "/healthz", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    die(f"server not ready after 60 s; see {OUT}/server.stderr.log")
                time.sleep(0.1)

        setup = requests.Session()
        setup.headers.update(headers)
        ids = []
        for n in range(25):
            created = setup.post(base + "/v1/widgets", json={
                "name": f"benchmark {n}", "destination": "sip:agents@callcentre.example",
                "allowedOrigins": ["https://shop.example"]})
            created.raise_for_status()
            ids.append(created.json()["id"])
        widget = ids[0]
        # Both protocols answer the same thing (XML-RPC carries the same JSON values).
        if bearer_proxy(base + "/RPC2", key).widgets.get(widget) != setup.get(f"{base}/v1/widgets/{widget}").json():
            die("widgets.get over XML-RPC differs from GET /v1/widgets/{id}")

        def rest_client() -> requests.Session:
            session = requests.Session()
            session.headers.update(headers)
            return session

        def rpc_client() -> xmlrpc.client.ServerProxy:
            return bearer_proxy(base + "/RPC2", key)

        def rest_get(session: requests.Session) -> None:
            response = session.get(f"{base}/v1/widgets/{widget}", timeout=10)
            if response.status_code != 200 or response.json()["id"] != widget:
                raise RuntimeError(f"GET widget: {response.status_code} {response.text[:200]}")

        def rpc_get(proxy) -> None:
            if proxy.widgets.get(widget)["id"] != widget:
                raise RuntimeError("widgets.get: wrong widget")

        def rest_list(session: requests.Session) -> None:
            response = session.get(f"{base}/v1/widgets", params={"limit": 20}, timeout=10)
            if response.status_code != 200 or len(response.json()["data"]) != 20:
                raise RuntimeError(f"GET widgets: {response.status_code} {response.text[:200]}")

        def rpc_list(proxy) -> None:
            if len(proxy.widgets.list({"limit": 20})["data"]) != 20:
                raise RuntimeError("widgets.list: not 20 widgets")

        pairs = [
            ("get", ("GET /v1/widgets/{id}", rest_client, rest_get), ("widgets.get(id)", rpc_client, rpc_get)),
            ("list", ("GET /v1/widgets?limit=20", rest_client, rest_list), ("widgets.list({limit: 20})", rpc_client, rpc_list)),
        ]
        # Each operation's T seconds are split into `rounds` slices, REST and XML-RPC taking turns,
        # so that a change in the machine's load during the run hits both sides alike.
        results = [{"name": name, "latencies": [], "errors": [], "cpu": 0.0, "wall": 0.0}
                   for _, rest, rpc in pairs for name, _, _ in (rest, rpc)]
        cpu_server_0, cpu_self_0 = cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
        wall_0 = time.monotonic()
        for index, (label, rest, rpc) in enumerate(pairs):
            for round_ in range(rounds):
                for side, (name, make, call) in enumerate((rest, rpc)):
                    result = results[2 * index + side]
                    print(f"xmlrpc_vs_rest: {name}: round {round_ + 1}/{rounds}, {clients} clients, "
                          f"{duration / rounds:g} s", file=sys.stderr)
                    cpu_0, began = cpu_seconds(server.pid), time.monotonic()
                    slice_ = run(name, make, call, clients, duration / rounds, warmup)
                    result["cpu"] += cpu_seconds(server.pid) - cpu_0
                    result["wall"] += time.monotonic() - began
                    result["latencies"] += slice_["latencies"]
                    result["errors"] += slice_["errors"]
        for result in results:
            latencies = sorted(result["latencies"])
            count = len(latencies)
            result.update(rps=count / duration, count=count,
                          p50=latencies[count // 2] * 1000 if count else float("nan"),
                          p99=latencies[min(count - 1, int(count * 0.99))] * 1000 if count else float("nan"))
        wall = time.monotonic() - wall_0
        cpu_server = cpu_seconds(server.pid) - cpu_server_0
        cpu_self_1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_clients = (cpu_self_1.ru_utime - cpu_self_0.ru_utime) + (cpu_self_1.ru_stime - cpu_self_0.ru_stime)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    build = "release" if "release" in str(binary) else "debug"
    lines = [f"{r['name']:30} {r['rps']:9.1f} {r['p50']:8.2f} {r['p99']:8.2f} {r['cpu'] / r['wall'] * 100:8.0f} %  {r['cpu'] * 1000 / r['count'] * (duration / r['wall']) if r['count'] else float('nan'):7.2f}"
             for r in results]
    ratios = [results[i + 1]["rps"] / results[i]["rps"] if results[i]["rps"] else float("nan") for i in (0, 2)]
    print(f"""
==================== Switchboard XML-RPC vs REST benchmark ====================
binary                 {binary} ({build})
load                   {clients} keep-alive clients (Python threads), {duration:g} s per operation in {rounds} slices
                       alternating REST and XML-RPC, each after {warmup:g} s of warm-up
                                   req/s   p50 ms   p99 ms   gateway CPU  ms/req
{lines[0]}
{lines[1]}
ratio XML-RPC/REST (get)           {ratios[0]:.2f}
{lines[2]}
{lines[3]}
ratio XML-RPC/REST (list)          {ratios[1]:.2f}
cpu seconds            gateway {cpu_server:.1f}, clients {cpu_clients:.1f} over {wall:.1f} s (2 cores = {2 * wall:.1f} available)
logs                   {OUT}/
================================================================================""")
    errors = [(r["name"], r["errors"][:2]) for r in results if r["errors"]]
    if errors:
        die(f"requests failed, the figures are not valid: {errors}")


if __name__ == "__main__":
    main()
