"""XML-RPC at /RPC2, driven by Python's `xmlrpc.client`: the REST operations as methods,
introspection, multicall, faults, and documents meant to hurt the parser."""

from __future__ import annotations

import asyncio
import base64
import datetime
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
import yaml

from sip_support import Sipp, first_line, header, sipp_binary, wait_for_call
from support import Client, ServerProcess
from test_sip_websocket import SDP, BrowserLeg, read_until_final

SPEC = Path(__file__).resolve().parents[2] / "OpenAPI" / "openapi.yaml"


def proxy(server: ServerProcess, key: str | None) -> xmlrpc.client.ServerProxy:
    """Basic auth with the API key as password (what most XML-RPC libraries can do)."""
    auth = f":{key}@" if key else ""
    return xmlrpc.client.ServerProxy(f"http://{auth}127.0.0.1:{server.http_port}/RPC2", allow_none=True)


class BearerTransport(xmlrpc.client.Transport):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def send_headers(self, connection, headers) -> None:  # type: ignore[override]
        connection.putheader("Authorization", f"Bearer {self.key}")
        super().send_headers(connection, headers)


@pytest.fixture
def rpc(server: ServerProcess) -> xmlrpc.client.ServerProxy:
    return proxy(server, server.bootstrap_key)


def fault_of(call) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call()
    return caught.value


def post_xml(server: ServerProcess, body: bytes | str, timeout: float = 10) -> requests.Response:
    return requests.post(
        f"{server.url}/RPC2", data=body, timeout=timeout,
        headers={"Content-Type": "text/xml", "Authorization": f"Bearer {server.bootstrap_key}"},
    )


def fault_code(response: requests.Response) -> int:
    assert response.status_code == 200, response.text
    try:
        xmlrpc.client.loads(response.content)
    except xmlrpc.client.Fault as fault:
        return fault.faultCode
    raise AssertionError(f"not a fault: {response.text[:300]}")


def test_the_widget_lifecycle(rpc: xmlrpc.client.ServerProxy, server: ServerProcess) -> None:
    widget = rpc.widgets.create({"name": "XML-RPC shop", "destination": "sip:queue@callcentre.example", "video": False})
    assert widget["id"].startswith("wid_") and widget["label"] == "Call us" and widget["enabled"] is True
    assert rpc.widgets.get(widget["id"]) == widget
    changed = rpc.widgets.update(widget["id"], {"label": "Talk to us", "appearance": {"primaryColor": "#112233"}})
    assert changed["label"] == "Talk to us" and changed["appearance"]["primaryColor"] == "#112233"
    second = rpc.widgets.create({"name": "second", "destination": "sip:sales@callcentre.example"})
    page = rpc.widgets.list({"limit": 1})
    assert len(page["data"]) == 1 and page["nextCursor"]
    rest = rpc.widgets.list({"limit": 100, "after": page["nextCursor"]})
    assert page["nextCursor"] not in [w["id"] for w in rest["data"]]
    assert {widget["id"], second["id"]} <= {w["id"] for w in page["data"] + rest["data"]}
    session = rpc.widgets.sessions.create(widget["id"], {"context": {"customer": "C-1"}})
    assert session["token"].startswith("wst_") and session["verified"] is True
    assert rpc.widgets.getPublic(widget["id"])["label"] == "Talk to us"
    assert rpc.widgets.delete(widget["id"]) is True
    gone = fault_of(lambda: rpc.widgets.get(widget["id"]))
    assert gone.faultCode == 404 and widget["id"] in gone.faultString
    # The same operations through REST see the same state.
    admin = Client(server.url, server.bootstrap_key)
    assert admin.get(f"/v1/widgets/{widget['id']}").status_code == 404
    assert admin.get(f"/v1/widgets/{second['id']}").json() == rpc.widgets.get(second["id"])
    # Bearer works as well as Basic.
    bearer = xmlrpc.client.ServerProxy(f"{server.url}/RPC2", transport=BearerTransport(server.bootstrap_key), allow_none=True)
    assert bearer.widgets.get(second["id"])["name"] == "second"


def test_every_rest_operation_is_a_method(rpc: xmlrpc.client.ServerProxy) -> None:
    spec = yaml.safe_load(SPEC.read_text())
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    }
    methods = rpc.system.listMethods()
    assert {"system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall"} <= set(methods)
    covered = set()
    for name in methods:
        if name.startswith("system."):
            continue
        help_text = rpc.system.methodHelp(name)
        verb, path = help_text.rsplit("(", 1)[1].rstrip(")").split(" ")
        covered.add((verb, path))
        signatures = rpc.system.methodSignature(name)
        assert signatures and all(isinstance(s, list) and s for s in signatures)
        assert len(signatures[0]) - 1 >= path.count("{"), (name, signatures)
    assert operations - covered == set(), f"REST operations without an XML-RPC method: {sorted(operations - covered)}"
    assert covered - operations == set(), f"XML-RPC methods without a REST operation: {sorted(covered - operations)}"
    assert rpc.system.methodSignature("widgets.update")[0] == ["struct", "string", "struct"]


def test_multicall_and_faults(rpc: xmlrpc.client.ServerProxy, server: ServerProcess) -> None:
    widget = rpc.widgets.create({"name": "multi", "destination": "sip:q@callcentre.example"})
    multi = xmlrpc.client.MultiCall(rpc)
    multi.widgets.get(widget["id"])
    multi.widgets.get("wid_01NOSUCHWIDGET0000000000000")
    multi.no.such.method()
    multi.widgets.update(widget["id"], {"name": "renamed"})
    results = multi()
    assert results[0]["id"] == widget["id"]
    with pytest.raises(xmlrpc.client.Fault) as missing:
        results[1]
    assert missing.value.faultCode == 404
    with pytest.raises(xmlrpc.client.Fault) as unknown:
        results[2]
    assert unknown.value.faultCode == -32601
    assert results[3]["name"] == "renamed"

    assert fault_of(lambda: rpc.no.such.method()).faultCode == -32601
    assert fault_of(lambda: rpc.widgets.get()).faultCode == -32602
    assert fault_of(lambda: rpc.widgets.get(widget["id"], {}, "extra")).faultCode == -32602
    assert fault_of(lambda: rpc.widgets.get(42)).faultCode == -32602
    assert fault_of(lambda: rpc.widgets.update(widget["id"], "not a struct")).faultCode == -32602
    invalid = fault_of(lambda: rpc.widgets.create({"name": "", "destination": "mailto:x"}))
    assert invalid.faultCode == 422 and "/destination" in invalid.faultString
    assert fault_of(lambda: rpc.widgets.create({"name": "x", "destination": "sip:q@x.example", "nonsense": 1})).faultCode in (400, 422)
    assert fault_of(lambda: rpc.widgets.list({"limit": 1000})).faultCode == 400
    nested = rpc.system.multicall([{"methodName": "system.multicall", "params": [[]]}])
    assert nested[0]["faultCode"] == -32600
    assert fault_of(lambda: rpc.system.multicall("nope")).faultCode == -32602
    assert fault_of(lambda: rpc.system.methodHelp("no.such")).faultCode == -32601

    # No key: a fault with 401; a wrong key: HTTP 401.
    anonymous = proxy(server, None)
    assert fault_of(lambda: anonymous.widgets.list()).faultCode == 401
    assert "system.multicall" in anonymous.system.listMethods()
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        proxy(server, "sbk_wrong").widgets.list()
    assert refused.value.errcode == 401


def test_hostile_documents_get_faults_never_a_crash_or_a_hang(server: ServerProcess, rpc: xmlrpc.client.ServerProxy) -> None:
    assert fault_code(post_xml(server, b"<methodCall><methodName>x</methodName")) == -32700
    assert fault_code(post_xml(server, b"not xml at all")) == -32700
    assert fault_code(post_xml(server, b"<methodResponse><params/></methodResponse>")) == -32600
    assert fault_code(post_xml(server, b"<methodCall><params/></methodCall>")) == -32600
    assert fault_code(post_xml(server, b"<methodCall><methodName>widgets.list</methodName><params><param><value><int>12x</int></value></param></params></methodCall>")) == -32600
    assert fault_code(post_xml(server, b"")) == -32700

    laughs = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    previous = "lol"
    for level in range(1, 10):
        laughs += f' <!ENTITY lol{level} "' + f"&{previous};" * 10 + '">\n'
        previous = f"lol{level}"
    laughs += f"]>\n<methodCall><methodName>&{previous};</methodName><params/></methodCall>"
    started = time.monotonic()
    assert fault_code(post_xml(server, laughs)) in (-32700, -32600)
    assert time.monotonic() - started < 2, "the billion laughs took the parser a long time"

    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        "<methodCall><methodName>system.methodHelp</methodName><params><param><value><string>&secret;</string></value></param></params></methodCall>"
    )
    answer = post_xml(server, xxe)
    assert fault_code(answer) in (-32700, -32600) and "root:" not in answer.text
    network = '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><methodCall><methodName>a</methodName></methodCall>'
    assert fault_code(post_xml(server, network)) in (-32700, -32600)

    deep = "<methodCall><methodName>system.multicall</methodName><params><param>" + "<value><array><data>" * 5000
    deep += "</data></array></value>" * 5000 + "</param></params></methodCall>"
    assert fault_code(post_xml(server, deep)) in (-32700, -32600)

    huge = "<methodCall><methodName>widgets.list</methodName><params><param><value><string>" + "x" * (2 << 20) + "</string></value></param></params></methodCall>"
    assert post_xml(server, huge).status_code == 413
    many = "<methodCall><methodName>system.listMethods</methodName><params><param><value><array><data>" + "<value><i4>1</i4></value>" * 40000
    many += "</data></array></value></param></params></methodCall>"
    assert post_xml(server, many).status_code in (200, 413)

    assert requests.get(f"{server.url}/RPC2", timeout=5).status_code == 405
    # Still answering, and no crash on the way.
    assert rpc.system.listMethods()
    assert not server.crashed()


def test_calls_listed_and_hung_up_over_xmlrpc_with_every_value_type_in_the_context(
    tmp_path: Path, server: ServerProcess, rpc: xmlrpc.client.ServerProxy
) -> None:
    if not sipp_binary():
        pytest.fail("sipp not found: apt-get install sip-tester (scripts/install-deps.sh)")
    uas = Sipp("uas_answer.xml", tmp_path, name="uas", timeout_s=30).start()
    uas.wait_listening()
    trunk = rpc.trunks.create({"name": "callcentre", "uri": f"sip:127.0.0.1:{uas.port}"})
    widget = rpc.widgets.create({"name": "typed", "destination": trunk["id"]})
    when = datetime.datetime(2026, 12, 1, 9, 30, 15)
    context = {
        "customer": "Ada", "order": 4711, "vip": True, "total": 99.95, "since": when,
        "note": xmlrpc.client.Binary(b"\x00\x01binary"), "coupon": None, "items": ["A-1", 2, False],
        "address": {"city": "Zürich", "zip": "8001"},
    }
    session = rpc.widgets.sessions.create(widget["id"], {"context": context})
    leg = BrowserLeg("sip:callme@switchboard.invalid")
    hung_up: dict[str, Any] = {}

    async def call() -> None:
        async with websockets.connect(session["websocketUrl"], subprotocols=["sip"]) as ws:
            await ws.send(leg.request("INVITE", 1, SDP))
            final = (await read_until_final(ws, timeout=15))[-1]
            assert first_line(final) == "SIP/2.0 200 OK", final
            leg.remote_tag = header(final, "To").split("tag=")[1]
            await ws.send(leg.request("ACK", 1))
            loop = asyncio.get_running_loop()
            # While the call is up: find it and hang it up, over XML-RPC.
            listed = await loop.run_in_executor(None, lambda: rpc.calls.list({"widgetId": widget["id"], "status": "in-progress"}))
            assert len(listed["data"]) == 1, listed
            hung_up["call"] = await loop.run_in_executor(None, lambda: rpc.calls.hangup(listed["data"][0]["id"]))
            request = await asyncio.wait_for(ws.recv(), 10)
            assert request.startswith("BYE "), request
            reply = [
                "SIP/2.0 200 OK", f"Via: {header(request, 'Via')}", f"From: {header(request, 'From')}",
                f"To: {header(request, 'To')}", f"Call-ID: {leg.call_id}", f"CSeq: {header(request, 'CSeq')}",
            ]
            await ws.send("\r\n".join(reply) + "\r\nContent-Length: 0\r\n\r\n")

    asyncio.run(call())
    assert uas.wait() == 0, uas.report()
    call_id = hung_up["call"]["id"]
    admin = Client(server.url, server.bootstrap_key)
    wait_for_call(admin, call_id, ["completed"])
    call = rpc.calls.get(call_id)
    assert call["status"] == "completed" and call["hangupBy"] == "api"
    stored = call["context"]
    assert stored["customer"] == "Ada" and stored["order"] == 4711 and stored["vip"] is True
    assert stored["total"] == 99.95 and stored["coupon"] is None and stored["items"] == ["A-1", 2, False]
    assert stored["since"] == "2026-12-01T09:30:15Z"
    assert base64.b64decode(stored["note"]) == b"\x00\x01binary"
    assert stored["address"] == {"city": "Zürich", "zip": "8001"}
    assert fault_of(lambda: rpc.calls.hangup(call_id)).faultCode == 409
    events = rpc.events.list({"callId": call_id})["data"]
    assert [e["type"] for e in events][:1] == ["call.initiated"] and events[-1]["type"] == "call.completed"


def test_many_clients_at_once(server: ServerProcess) -> None:
    errors: list[BaseException] = []

    def client() -> None:
        try:
            rpc = proxy(server, server.bootstrap_key)
            for _ in range(20):
                assert "widgets.list" in rpc.system.listMethods()
                rpc.widgets.list({"limit": 5})
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
