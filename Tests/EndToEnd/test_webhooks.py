"""Events and webhooks: the durable outbox, signed deliveries to a CRM, retries, XML-RPC push.

The CRM is the example receiver (`Examples/crm-receiver/receiver.py`), run in-process: it
verifies every Standard Webhooks signature and keeps what it received. Calls come from a
scripted browser over the `/sip` WebSocket to a SIPp call centre.
"""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets

from sip_support import Sipp, first_line, header, sipp_binary, wait_for_call
from support import Client, ServerProcess
from test_sip_websocket import CONTEXT, SDP, BrowserLeg
from test_sip_websocket import setup_widget as widget_session

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Examples" / "crm-receiver"))
from receiver import CRMReceiver  # noqa: E402

SERVER_ARGS = ["--session-rate-limit", "10000", "--webhook-retry-base", "0.3", "--webhook-timeout", "2"]
CALL_EVENTS = ["call.initiated", "call.ringing", "call.answered", "call.completed"]


@pytest.fixture(scope="module", autouse=True)
def _need_sipp() -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")


@pytest.fixture
def crm() -> Any:
    receiver = CRMReceiver(None, host="127.0.0.1", port=0).start()
    yield receiver
    receiver.stop()


def subscribe(admin: Client, crm: CRMReceiver, **fields: Any) -> dict[str, Any]:
    body = {"url": crm.webhook_url, "events": ["call.*"], **fields}
    response = admin.post("/v1/webhooks", body)
    assert response.status_code == 201, response.text
    webhook = response.json()
    crm.set_secret(webhook["secret"])
    return webhook


def unsubscribe(admin: Client, webhook: dict[str, Any]) -> None:
    assert admin.delete(f"/v1/webhooks/{webhook['id']}").status_code == 204


def browser_call(session: dict, *, talk_s: float = 0.2, while_ringing=None) -> None:
    """One scripted browser call: INVITE, (callback on the first 180), 200, ACK, BYE."""
    leg = BrowserLeg("sip:callme@switchboard.invalid")

    async def call() -> None:
        async with websockets.connect(session["websocketUrl"], subprotocols=["sip"]) as ws:
            await ws.send(leg.request("INVITE", 1, SDP))
            final = None
            while final is None:
                text = await asyncio.wait_for(ws.recv(), 15)
                status = int(first_line(text).split(" ")[1])
                if status == 180 and while_ringing is not None:
                    await asyncio.get_running_loop().run_in_executor(None, while_ringing)
                    while_ringing_done.append(True)
                if status >= 200:
                    final = text
            assert first_line(final) == "SIP/2.0 200 OK", final
            leg.remote_tag = header(final, "To").split("tag=")[1]
            await ws.send(leg.request("ACK", 1))
            await asyncio.sleep(talk_s)
            await ws.send(leg.request("BYE", 2))
            answer = await asyncio.wait_for(ws.recv(), 10)
            assert first_line(answer) == "SIP/2.0 200 OK", answer

    while_ringing_done: list[bool] = []
    asyncio.run(call())
    if while_ringing is not None:
        assert while_ringing_done, "the call was never ringing"


def settled_deliveries(admin: Client, webhook: dict[str, Any], timeout: float = 10) -> list[dict[str, Any]]:
    """The subscription's deliveries once none is pending (or as they are at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries").json()["data"]
        if all(d["status"] != "pending" for d in deliveries) or time.monotonic() > deadline:
            return deliveries
        time.sleep(0.05)


def call_centre(tmp_path: Path, *, name: str = "uas", ring_ms: int = 0, calls: int = 1) -> Sipp:
    scenario = "uas_ring_answer.xml" if ring_ms else "uas_answer.xml"
    uas = Sipp(scenario, tmp_path, name=name, timeout_s=30, duration_ms=ring_ms, calls=calls).start()
    uas.wait_listening()
    return uas


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def call_id_of(uas: Sipp, index: int = 0) -> str:
    return uas.received("INVITE")[index].header("X-Switchboard-Call-Id")


def test_the_crm_hears_of_a_call_before_the_agent_answers(tmp_path: Path, server: ServerProcess, admin: Client, crm: CRMReceiver) -> None:
    webhook = subscribe(admin, crm)
    uas = call_centre(tmp_path, ring_ms=2500)
    widget, session = widget_session(admin, uas.port)
    seen_while_ringing: dict[str, Any] = {}

    def while_ringing() -> None:
        # The call centre rings for 2.5 s: call.initiated must reach the CRM before it answers.
        initiated = crm.wait_for(lambda events: [e for e in events if e["type"] == "call.initiated"], timeout=2.0)[0]
        seen_while_ringing["event"] = initiated
        seen_while_ringing["call"] = admin.get(f"/v1/calls/{initiated['callId']}").json()

    browser_call(session, while_ringing=while_ringing)
    assert uas.wait() == 0, uas.report()
    call_id = call_id_of(uas)
    assert seen_while_ringing["call"]["status"] in ("initiated", "ringing"), seen_while_ringing["call"]

    initiated = seen_while_ringing["event"]
    assert initiated["callId"] == call_id and initiated["verified"] is True and initiated["format"] == "json"
    data = initiated["data"]
    assert data["context"] == CONTEXT
    assert data["contextVerified"] is True
    assert data["widgetId"] == widget["id"]
    assert data["page"] == CONTEXT["page"]
    assert "websockets" in (data["userAgent"] or ""), data["userAgent"]
    assert data["call"]["id"] == call_id and data["call"]["status"] == "initiated"
    assert data["call"]["source"] == {"type": "widget", "widgetId": widget["id"], "sessionId": session["id"]}

    events = crm.wait_for(lambda events: len([e for e in events if e["callId"] == call_id]) >= 4 and events, timeout=10)
    mine = [e for e in events if e["callId"] == call_id]
    assert [e["type"] for e in mine] == CALL_EVENTS
    assert [e["sequence"] for e in mine] == [1, 2, 3, 4]
    assert all(e["verified"] for e in mine), [e for e in mine if not e["verified"]]
    for event in mine:
        assert event["headers"]["webhook-id"] == event["id"] and event["id"].startswith("evt_")
    completed = mine[-1]["data"]["call"]
    assert completed["status"] == "completed" and completed["hangupBy"] == "caller"
    assert completed["sipCode"] == 200 and completed["durationSeconds"] >= 0

    # The same events, from the event log.
    listed = admin.get("/v1/events", params={"callId": call_id}).json()["data"]
    assert [e["id"] for e in listed] == [e["id"] for e in mine]
    assert [e["type"] for e in listed] == CALL_EVENTS
    assert listed[0]["data"]["context"] == CONTEXT
    assert admin.get(f"/v1/events/{listed[2]['id']}").json()["type"] == "call.answered"
    answered_only = admin.get("/v1/events", params={"callId": call_id, "type": "call.answered"}).json()["data"]
    assert [e["type"] for e in answered_only] == ["call.answered"]

    # The receiver records an event before it answers, so the last delivery
    # may still be recording its 200 when the events have all arrived.
    deliveries = settled_deliveries(admin, webhook)
    assert {d["eventId"] for d in deliveries} >= {e["id"] for e in mine}
    for delivery in deliveries:
        assert delivery["status"] == "succeeded" and delivery["attemptCount"] == 1, delivery
        assert delivery["attempts"][0]["statusCode"] == 200
    unsubscribe(admin, webhook)


def test_a_crm_that_is_down_gets_every_event_once_and_in_order_when_back(
    tmp_path: Path, server: ServerProcess, admin: Client, crm: CRMReceiver
) -> None:
    webhook = subscribe(admin, crm)
    crm.set_status(503)
    uas = call_centre(tmp_path, calls=3)
    _, session = widget_session(admin, uas.port)
    for _ in range(3):
        browser_call(session)
    assert uas.wait() == 0, uas.report()
    call_ids = [call_id_of(uas, i) for i in range(3)]
    for call_id in call_ids:
        wait_for_call(admin, call_id, ["completed"])

    # Down for a while: several attempts of the first events fail, nothing gets through.
    def retried() -> bool:
        pending = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"status": "pending", "limit": 100}).json()["data"]
        return any(d["attemptCount"] >= 2 for d in pending)

    deadline = time.monotonic() + 15
    while not retried():
        assert time.monotonic() < deadline, "no delivery was retried while the CRM was down"
        time.sleep(0.2)
    assert crm.events == []
    # Later events of a call wait behind the first: only the first event of each call was tried.
    tried = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"limit": 100}).json()["data"]
    assert {d["eventType"] for d in tried if d["attemptCount"] > 0} == {"call.initiated"}

    crm.set_status(None)
    events = crm.wait_for(lambda events: len(events) >= 12 and events, timeout=20)
    for call_id in call_ids:
        mine = [e for e in events if e["callId"] == call_id]
        assert [e["type"] for e in mine] == CALL_EVENTS, mine
        assert [e["sequence"] for e in mine] == [1, 2, 3, 4]
    accepted = [d["id"] for d in crm.deliveries if d["outcome"] == "accepted"]
    assert len(accepted) == len(set(accepted)) == 12, "an event was applied twice"
    assert all(e["verified"] for e in events)
    assert crm.counts["duplicates"] == 0, "an event already acknowledged was sent again"
    deadline = time.monotonic() + 5
    while True:  # the last success is stored just after the CRM acknowledged it
        deliveries = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"limit": 100}).json()["data"]
        if all(d["status"] == "succeeded" for d in deliveries) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(deliveries) == 12
    for delivery in deliveries:
        assert delivery["status"] == "succeeded", delivery
        failures = [a for a in delivery["attempts"] if a["statusCode"] == 503]
        if delivery["eventType"] == "call.initiated":
            assert failures, delivery
    unsubscribe(admin, webhook)


def test_retry_after_is_honoured(tmp_path: Path, server: ServerProcess, admin: Client, crm: CRMReceiver) -> None:
    webhook = subscribe(admin, crm, events=["call.initiated"])
    crm.set_status(503, retry_after=2)
    uas = call_centre(tmp_path)
    _, session = widget_session(admin, uas.port)
    browser_call(session)
    assert uas.wait() == 0
    deadline = time.monotonic() + 10
    while not [d for d in crm.deliveries if d["outcome"] == "unavailable"]:
        assert time.monotonic() < deadline, "no attempt reached the CRM"
        time.sleep(0.05)
    crm.set_status(None)
    crm.wait_for(lambda events: events, timeout=10)
    attempts = [d for d in crm.deliveries]
    first, last = attempts[0], attempts[-1]
    assert first["outcome"] == "unavailable" and last["outcome"] == "accepted"
    gap = (parse_time(last["receivedAt"]) - parse_time(first["receivedAt"])).total_seconds()
    # The retry base is 0.3 s; Retry-After: 2 holds the next attempt back for 2 s.
    assert gap >= 1.9, f"the retry came {gap} s after a Retry-After: 2"
    assert len([d for d in attempts if d["outcome"] == "unavailable"]) == 1
    unsubscribe(admin, webhook)


def test_gone_disables_the_subscription_and_redeliver_sends_the_same_id(
    tmp_path: Path, server: ServerProcess, admin: Client, crm: CRMReceiver
) -> None:
    webhook = subscribe(admin, crm, events=["call.initiated"])
    crm.set_status(410)
    uas = call_centre(tmp_path)
    _, session = widget_session(admin, uas.port)
    browser_call(session)
    assert uas.wait() == 0
    deadline = time.monotonic() + 10
    while admin.get(f"/v1/webhooks/{webhook['id']}").json()["enabled"]:
        assert time.monotonic() < deadline, "410 Gone did not disable the subscription"
        time.sleep(0.1)
    state = admin.get(f"/v1/webhooks/{webhook['id']}").json()
    assert "410" in state["disabledReason"]
    [delivery] = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries").json()["data"]
    assert delivery["status"] == "failed" and delivery["attemptCount"] == 1

    refused = admin.post(f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver", {})
    assert refused.status_code == 409, refused.text
    crm.set_status(None)
    enabled = admin.patch(f"/v1/webhooks/{webhook['id']}", {"enabled": True}).json()
    assert enabled["enabled"] is True and "disabledReason" not in enabled
    again = admin.post(f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver", {})
    assert again.status_code == 202, again.text
    [event] = crm.wait_for(lambda events: events, timeout=10)
    assert event["id"] == delivery["eventId"] and event["verified"]
    settled_deliveries(admin, webhook)
    shown = admin.get(f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}").json()
    assert shown["status"] == "succeeded" and shown["attemptCount"] == 2
    assert [a["statusCode"] for a in shown["attempts"]] == [410, 200]
    unsubscribe(admin, webhook)


def test_xmlrpc_push_calls_the_configured_method_with_the_envelope(
    tmp_path: Path, server: ServerProcess, admin: Client, crm: CRMReceiver
) -> None:
    webhook = subscribe(admin, crm, url=crm.xmlrpc_url, format="xmlrpc", xmlrpcMethod="crm.callEvent")
    assert webhook["format"] == "xmlrpc" and webhook["xmlrpcMethod"] == "crm.callEvent"
    uas = call_centre(tmp_path)
    widget, session = widget_session(admin, uas.port)
    browser_call(session)
    assert uas.wait() == 0
    call_id = call_id_of(uas)
    events = crm.wait_for(lambda events: len([e for e in events if e["callId"] == call_id]) >= 4 and events, timeout=10)
    mine = [e for e in events if e["callId"] == call_id]
    assert [e["type"] for e in mine] == CALL_EVENTS
    assert all(e["format"] == "xmlrpc" and e["verified"] and e["method"] == "crm.callEvent" for e in mine)
    assert mine[0]["data"]["context"] == CONTEXT and mine[0]["data"]["widgetId"] == widget["id"]
    assert mine[0]["headers"]["content-type"].startswith("text/xml")
    unsubscribe(admin, webhook)


def test_subscriptions_are_validated_and_the_secret_is_shown_once(server: ServerProcess, admin: Client) -> None:
    for body, pointer in [
        ({}, "/url"),
        ({"url": "ftp://crm.example/hook"}, "/url"),
        ({"url": "not a url"}, "/url"),
        ({"url": "https://crm.example/hook", "events": ["call.exploded"]}, "/events/0"),
        ({"url": "https://crm.example/hook", "events": []}, None),
        ({"url": "https://crm.example/hook", "format": "soap"}, None),
        ({"url": "https://crm.example/hook", "xmlrpcMethod": "bad method!"}, "/xmlrpcMethod"),
    ]:
        response = admin.post("/v1/webhooks", body)
        assert response.status_code in (400, 422), (body, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if pointer:
            assert pointer in str(response.json()), (body, response.text)

    created = admin.post("/v1/webhooks", {"url": "https://crm.example/hook", "description": "crm"}).json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == ["*"] and created["format"] == "json"
    shown = admin.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in shown and shown["url"] == "https://crm.example/hook"
    assert created["id"] in [w["id"] for w in admin.get("/v1/webhooks").json()["data"]]
    # Kept sealed at rest: the database file never holds the secret as text.
    database = server.data_dir / "switchboard.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    for path in server.data_dir.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"{path.name} holds the webhook secret"
    assert admin.get("/v1/webhooks/whk_nothing").status_code == 404
    assert admin.get("/v1/events", params={"type": "nothing.*"}).status_code == 400
    assert admin.get("/v1/events", params={"after": "garbage"}).status_code == 400
    assert requests.get(server.url + "/v1/events").status_code == 401
    unsubscribe(admin, created)


def test_kill_9_during_deliveries_loses_no_event(tmp_path: Path, make_server, crm: CRMReceiver) -> None:
    server = make_server(extra_args=SERVER_ARGS)
    server.start()
    admin = Client(server.url, server.bootstrap_key)
    subscribe(admin, crm)
    crm.set_status(503)
    uas = call_centre(tmp_path, calls=2)
    _, session = widget_session(admin, uas.port)
    browser_call(session)
    browser_call(session)
    assert uas.wait() == 0
    call_ids = [call_id_of(uas, i) for i in range(2)]
    expected: list[str] = []
    deadline = time.monotonic() + 10
    while len(expected) < 8:
        assert time.monotonic() < deadline, "the events were not all written"
        expected = [e["id"] for e in admin.get("/v1/events", params={"type": "call.*", "limit": 100}).json()["data"]]
        time.sleep(0.1)
    # Deliveries are being attempted (and refused) when the gateway dies.
    deadline = time.monotonic() + 10
    while len(crm.deliveries) < 3:
        assert time.monotonic() < deadline, "no delivery attempts reached the CRM"
        time.sleep(0.05)
    server.kill()
    crm.set_status(None)
    server.start(same_ports=True)
    events = crm.wait_for(lambda events: len(events) >= 8 and events, timeout=20)
    assert sorted(e["id"] for e in events) == sorted(expected)
    for call_id in call_ids:
        assert [e["type"] for e in events if e["callId"] == call_id] == CALL_EVENTS
    assert all(e["verified"] for e in events)


class RoutingCRM:
    """A CRM's routing endpoint: records each query and answers with `answer` after `delay` s."""

    def __init__(self) -> None:
        import http.server
        import json as _json
        import threading

        self.queries: list[dict[str, Any]] = []
        self.answer: Any = {}
        self.delay = 0.0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                outer.queries.append({"body": _json.loads(self.rfile.read(length)), "contentType": self.headers.get("Content-Type")})
                time.sleep(outer.delay)
                body = _json.dumps(outer.answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/route"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_crm_routes_a_call_and_a_silent_or_wrong_crm_falls_back(tmp_path: Path, server: ServerProcess, admin: Client) -> None:
    default = call_centre(tmp_path, name="queue", calls=2)
    agent = call_centre(tmp_path, name="agent", calls=1)
    routing = RoutingCRM()
    agent_uri = f"sip:agent7@127.0.0.1:{agent.port}"
    try:
        trunk = admin.post("/v1/trunks", {"name": "queue", "uri": f"sip:127.0.0.1:{default.port}"}).json()
        created = admin.post("/v1/widgets", {
            "name": "routed", "destination": trunk["id"],
            "routingWebhook": {"url": routing.url, "timeoutMilliseconds": 500, "allowedDestinations": [agent_uri]},
        })
        assert created.status_code == 201, created.text
        widget = created.json()
        assert widget["routingWebhook"] == {"url": routing.url, "timeoutMilliseconds": 500, "allowedDestinations": [agent_uri]}
        session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": CONTEXT}).json()

        # 1. The CRM picks the agent and adds a header.
        routing.answer = {"destination": agent_uri, "headers": {"X-Agent-Id": "7", "X-Switchboard-Call-Id": "forged"}}
        browser_call(session)
        assert agent.wait() == 0, agent.report()
        [invite] = agent.received("INVITE")
        assert invite.header("X-Agent-Id") == "7"
        assert invite.header("X-Switchboard-Routed-By") == "crm"
        query = routing.queries[0]["body"]
        assert query["callId"] == invite.header("X-Switchboard-Call-Id") != "forged"
        assert query["context"] == CONTEXT and query["contextVerified"] is True and query["widgetId"] == widget["id"]
        assert routing.queries[0]["contentType"] == "application/json"
        call = wait_for_call(admin, query["callId"], ["completed"])
        assert call["destination"] == agent_uri

        # 2. A CRM slower than the timeout: the widget's destination, without waiting longer.
        routing.answer, routing.delay = {"destination": agent_uri}, 2.0
        started = time.monotonic()
        browser_call(session)
        # 3. A destination the widget does not allow: the widget's destination.
        routing.answer, routing.delay = {"destination": "sip:attacker@198.51.100.7"}, 0.0
        browser_call(session)
        assert default.wait() == 0, default.report()
        invites = default.received("INVITE")
        assert len(invites) == 2
        assert all(i.header("X-Switchboard-Routed-By") == "default" for i in invites)
        assert time.monotonic() - started < 10
        assert len(routing.queries) == 3

        # The routing webhook can be removed.
        cleared = admin.patch(f"/v1/widgets/{widget['id']}", {"routingWebhook": None}).json()
        assert "routingWebhook" not in cleared
        bad = admin.patch(f"/v1/widgets/{widget['id']}", {"routingWebhook": {"url": "ftp://x", "allowedDestinations": []}})
        assert bad.status_code in (400, 422), bad.text
    finally:
        routing.stop()
