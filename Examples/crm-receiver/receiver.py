#!/usr/bin/env python3
"""A CRM webhook receiver for Switchboard: verifies signatures, keeps per-call timelines, shows a screen-pop.

Run it (Python 3 standard library only):

    python3 receiver.py --secret whsec_... --port 9000

and open http://127.0.0.1:9000/ for the agent screen. Endpoints:

    POST /webhooks        JSON webhooks (Standard Webhooks signed)
    POST /RPC2            XML-RPC push (one struct param: the envelope; signed over the raw XML)
    GET  /                the agent screen ("screen-pop"), live over Server-Sent Events
    GET  /events/stream   Server-Sent Events: the state after every change
    GET  /calls.json      the state: {"calls": {...}, "received": N, "duplicates": N, "rejected": N, ...}

In-process use (the end-to-end tests):

    from receiver import CRMReceiver
    r = CRMReceiver(secret, host="127.0.0.1", port=0)   # secret may be None and set later
    r.start()
    r.url                      # http://127.0.0.1:PORT   (r.webhook_url, r.xmlrpc_url)
    r.events                   # accepted events, arrival order, without redeliveries
    r.wait_for(lambda events: any(e["type"] == "call.answered" for e in events), timeout=10)
    r.set_status(503, retry_after=2); r.set_status(410); r.set_status(None)
    r.stop()
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import os
import signal
import socket
import sys
import threading
import time
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, List, Optional, Union
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standard_webhooks  # noqa: E402
from standard_webhooks import WebhookVerificationError  # noqa: E402

__all__ = ["CRMReceiver", "WebhookVerificationError", "main"]

MAX_BODY = 1 << 20  # 1 MiB: far above any Switchboard event
JSON_PATHS = ("/webhooks", "/webhook")
XMLRPC_PATHS = ("/RPC2", "/rpc2", "/xmlrpc")


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """XML-RPC values as JSON-like ones: dateTime.iso8601 -> ISO string, base64 -> str, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        return text + "Z" if value.tzinfo is None else text.replace("+00:00", "Z")
    if isinstance(value, xmlrpc.client.DateTime):
        return _plain(_dt.datetime.strptime(value.value, "%Y%m%dT%H:%M:%S"))
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, xmlrpc.client.Binary):
        return value.data.decode("utf-8", "replace")
    return value


def _call_id(data: Any) -> Optional[str]:
    """The call an event belongs to: data.call.id, else data.callId, else data.<recording|participant|...>.callId."""
    if not isinstance(data, dict):
        return None
    call = data.get("call")
    if isinstance(call, dict) and isinstance(call.get("id"), str):
        return call["id"]
    if isinstance(data.get("callId"), str):
        return data["callId"]
    for key in ("recording", "participant", "conference", "leg"):
        inner = data.get(key)
        if isinstance(inner, dict):
            if isinstance(inner.get("callId"), str):
                return inner["callId"]
            if isinstance(inner.get("call"), dict) and isinstance(inner["call"].get("id"), str):
                return inner["call"]["id"]
    return None


class _Delivery(Exception):
    """Ends a delivery with an HTTP status (and an XML-RPC fault when it came over XML-RPC)."""

    def __init__(self, status: int, message: str, headers: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class CRMReceiver:
    """An in-process CRM webhook endpoint. All public methods are thread-safe.

    ``secret``: a ``whsec_`` secret, a list of them (rotation: any may match), or None to accept
    unsigned deliveries (recorded with ``verified: False``); settable later via ``set_secret``.

    Each accepted event is a dict ``{id, type, sequence, callId, data, headers, format, verified,
    createdAt, receivedAt, method, envelope}``; ``headers`` has lowercase names, ``format`` is
    ``"json"`` or ``"xmlrpc"``, ``method`` is the XML-RPC method name (None for JSON).
    Every delivery attempt, whatever its outcome, is in ``deliveries``.
    """

    def __init__(self, secret: Union[str, bytes, Iterable[str], None] = None, host: str = "127.0.0.1",
                 port: int = 0, *, tolerance: int = standard_webhooks.DEFAULT_TOLERANCE,
                 fail_first: int = 0, down_until: Optional[float] = None,
                 xmlrpc_methods: Optional[Iterable[str]] = None,
                 log: Optional[Callable[[str], None]] = None):
        self.host = host
        self.port = port
        self.tolerance = tolerance
        self.xmlrpc_methods = set(xmlrpc_methods) if xmlrpc_methods else None
        self._log = log
        self._cond = threading.Condition(threading.RLock())
        self._secrets: List[Union[str, bytes]] = []
        self.set_secret(secret)
        self._fail_first = max(0, int(fail_first))
        self._down_until = down_until
        self._status: Optional[int] = None
        self._retry_after: Optional[Union[int, str]] = None
        self._events: List[dict] = []
        self._deliveries: List[dict] = []
        self._seen: dict = {}  # webhook-id -> attempts acknowledged
        self._calls: dict = {}
        self._other: List[dict] = []
        self._counts = {"received": 0, "duplicates": 0, "rejected": 0, "unavailable": 0}
        self._version = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._sockets: set = set()
        self._stopping = False

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "CRMReceiver":
        if self._server is not None:
            return self
        receiver = self

        class Handler(_Handler):
            pass

        Handler.receiver = receiver
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._stopping = False
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"crm-receiver:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            sockets = list(self._sockets)
        server.shutdown()
        server.server_close()
        for sock in sockets:  # kept-alive connections and event streams: nothing more gets in
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "CRMReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (``http://host:port``); POST to it is also taken as a delivery (JSON or XML-RPC by content type)."""
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        return self.url + "/webhooks"

    @property
    def xmlrpc_url(self) -> str:
        return self.url + "/RPC2"

    # ----------------------------------------------------------------- configuration

    def set_secret(self, secret: Union[str, bytes, Iterable[str], None]) -> None:
        """Set the secret(s) to verify with (None: accept unsigned deliveries, marked unverified)."""
        if secret is None or secret == "":
            values: List[Union[str, bytes]] = []
        elif isinstance(secret, (str, bytes)):
            values = [secret]
        else:
            values = [s for s in secret if s]
        for value in values:
            standard_webhooks.decode_secret(value)  # ValueError now rather than a 500 later
        with self._cond:
            self._secrets = values

    @property
    def secret(self) -> Optional[Union[str, bytes]]:
        with self._cond:
            return self._secrets[0] if self._secrets else None

    @secret.setter
    def secret(self, value: Union[str, bytes, Iterable[str], None]) -> None:
        self.set_secret(value)

    def set_status(self, status: Optional[int], retry_after: Optional[Union[int, str]] = None) -> None:
        """Answer every delivery with ``status`` (503: down, 410: gone, ...) until ``set_status(None)``."""
        with self._cond:
            self._status = int(status) if status is not None else None
            self._retry_after = retry_after
            self._changed()

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` deliveries with 503 (like ``--fail-first``)."""
        with self._cond:
            self._fail_first = max(0, int(count))

    # ----------------------------------------------------------------- state

    @property
    def events(self) -> List[dict]:
        """Accepted events in arrival order (a redelivered id appears once). A copy."""
        with self._cond:
            return list(self._events)

    @property
    def deliveries(self) -> List[dict]:
        """Every delivery attempt: ``{id, path, format, status, outcome, error, verified, headers, receivedAt}``."""
        with self._cond:
            return list(self._deliveries)

    @property
    def counts(self) -> dict:
        with self._cond:
            return dict(self._counts)

    def events_for(self, call_id: str) -> List[dict]:
        with self._cond:
            return [e for e in self._events if e["callId"] == call_id]

    def types_for(self, call_id: str) -> List[str]:
        return [e["type"] for e in self.events_for(call_id)]

    def state(self) -> dict:
        """What ``GET /calls.json`` answers."""
        with self._cond:
            state = {"calls": copy.deepcopy(self._calls), "other": copy.deepcopy(self._other)}
            state.update(self._counts)
            state["status"] = self._current_override()[0]
            state["version"] = self._version
            return state

    def clear(self) -> None:
        """Forget events, deliveries, timelines and counters (not the secret or the status)."""
        with self._cond:
            self._events.clear()
            self._deliveries.clear()
            self._seen.clear()
            self._calls.clear()
            self._other.clear()
            for key in self._counts:
                self._counts[key] = 0
            self._changed()

    def wait_for(self, predicate: Callable[[List[dict]], Any], timeout: float = 10) -> Any:
        """Wait until ``predicate(events)`` is truthy and return that value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(list(self._events))
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(e["type"], e["callId"], e["sequence"]) for e in self._events]
                    outcomes = [(d["id"], d["status"], d["outcome"]) for d in self._deliveries[-10:]]
                    raise TimeoutError(f"condition not met within {timeout} s; events {seen}; "
                                       f"last deliveries {outcomes}")
                self._cond.wait(min(remaining, 0.5))

    # ----------------------------------------------------------------- internals

    def _changed(self) -> None:
        self._version += 1
        self._cond.notify_all()

    def _emit(self, line: str) -> None:
        if self._log is not None:
            try:
                self._log(line)
            except Exception:  # a broken stdout must not fail deliveries
                pass

    def _current_override(self) -> tuple:
        if self._status is not None:
            return self._status, self._retry_after
        if self._down_until is not None and time.time() < self._down_until:
            return 503, 2
        return None, None

    def _record(self, **delivery: Any) -> None:
        delivery.setdefault("receivedAt", _utc_now())
        self._deliveries.append(delivery)

    def _deliver(self, path: str, fmt: str, headers: dict, body: bytes) -> tuple:
        """One delivery: returns (status, response headers, parsed envelope or None, method)."""
        msg_id = headers.get("webhook-id")
        with self._cond:
            status, retry_after = self._current_override()
            if status is None and self._fail_first > 0:
                self._fail_first -= 1
                status, retry_after = 503, None
            if status is not None:
                self._counts["unavailable"] += 1
                self._record(id=msg_id, path=path, format=fmt, status=status, outcome="unavailable",
                             error=None, verified=False, headers=headers)
                self._changed()
                extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                self._emit(f"{_utc_now()} {fmt:6} {msg_id or '-'} answered {status} (simulated)")
                raise _Delivery(status, f"unavailable ({status})", extra)
            secrets = list(self._secrets)

        verified = False
        if secrets:
            error: Optional[str] = None
            for secret in secrets:
                try:
                    standard_webhooks.verify(secret, headers, body, tolerance=self.tolerance)
                    verified = True
                    break
                except WebhookVerificationError as failure:
                    error = str(failure)
            if not verified:
                self._reject(msg_id, path, fmt, headers, 401, error or "signature check failed")

        try:
            envelope, method = self._parse(fmt, body)
        except ValueError as failure:
            self._reject(msg_id, path, fmt, headers, 400, str(failure))

        envelope_id = envelope.get("id")
        key = msg_id or envelope_id
        data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
        call_id = _call_id(data)
        sequence = envelope.get("sequence")
        with self._cond:
            if key is not None and key in self._seen:
                self._seen[key] += 1
                self._counts["duplicates"] += 1
                self._record(id=key, path=path, format=fmt, status=200, outcome="duplicate", error=None,
                             verified=verified, headers=headers)
                self._changed()
                self._emit(f"{_utc_now()} {fmt:6} {key} {envelope.get('type')} duplicate "
                           f"(delivery {self._seen[key]}), acknowledged")
                return 200, {}, envelope, method
            if key is not None:
                self._seen[key] = 1
            received_at = _utc_now()
            event = {
                "id": envelope_id if envelope_id is not None else key,
                "type": envelope.get("type"),
                "sequence": sequence,
                "callId": call_id,
                "data": data,
                "headers": headers,
                "format": fmt,
                "verified": verified,
                "createdAt": envelope.get("createdAt"),
                "receivedAt": received_at,
                "method": method,
                "envelope": envelope,
            }
            self._events.append(event)
            self._counts["received"] += 1
            self._apply(event)
            self._record(id=key, path=path, format=fmt, status=200, outcome="accepted", error=None,
                         verified=verified, headers=headers, receivedAt=received_at)
            self._changed()
        self._emit(f"{received_at} {fmt:6} {event['id']} {event['type']} call={call_id or '-'} "
                   f"seq={sequence if sequence is not None else '-'} "
                   f"{'verified' if verified else 'UNSIGNED'}{self._summary(event)}")
        return 200, {}, envelope, method

    def _reject(self, msg_id: Optional[str], path: str, fmt: str, headers: dict, status: int, error: str) -> None:
        with self._cond:
            self._counts["rejected"] += 1
            self._record(id=msg_id, path=path, format=fmt, status=status, outcome="rejected", error=error,
                         verified=False, headers=headers)
            self._changed()
        self._emit(f"{_utc_now()} {fmt:6} {msg_id or '-'} REJECTED {status}: {error}")
        raise _Delivery(status, error)

    def _parse(self, fmt: str, body: bytes) -> tuple:
        if fmt == "json":
            try:
                envelope = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(f"body is not JSON: {error}") from None
            method = None
        else:
            try:
                params, method = xmlrpc.client.loads(body, use_builtin_types=True)
            except Exception as error:  # ExpatError, ResponseError, ...
                raise ValueError(f"body is not an XML-RPC call: {error}") from None
            if method is None:
                raise ValueError("XML-RPC body is not a methodCall")
            if self.xmlrpc_methods is not None and method not in self.xmlrpc_methods:
                raise ValueError(f"unexpected XML-RPC method {method!r}")
            if len(params) != 1:
                raise ValueError(f"XML-RPC call has {len(params)} params, expected 1 (the envelope)")
            envelope = _plain(params[0])
        if not isinstance(envelope, dict):
            raise ValueError("envelope is not an object")
        if not isinstance(envelope.get("type"), str):
            raise ValueError("envelope has no type")
        return envelope, method

    def _apply(self, event: dict) -> None:
        data = event["data"]
        entry = {"id": event["id"], "type": event["type"], "sequence": event["sequence"],
                 "receivedAt": event["receivedAt"], "createdAt": event["createdAt"],
                 "format": event["format"], "verified": event["verified"]}
        call_id = event["callId"]
        if call_id is None:
            self._other.append(entry)
            del self._other[:-200]
            return
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = {
                "callId": call_id, "events": [], "call": {}, "status": None, "context": None,
                "contextVerified": None, "widgetId": None, "page": None, "userAgent": None,
                "firstSeenAt": event["receivedAt"], "lastSequence": None, "missingSequences": [],
            }
        call["events"].append(entry)
        call["lastEventAt"] = event["receivedAt"]
        if isinstance(data.get("call"), dict):
            call["call"].update(data["call"])
            if data["call"].get("status") is not None:
                call["status"] = data["call"]["status"]
        if event["type"].startswith("call.") and call["status"] is None:
            call["status"] = event["type"][5:]
        for key in ("context", "contextVerified", "widgetId", "page", "userAgent"):
            if data.get(key) is not None:
                call[key] = data[key]
        if call["widgetId"] is None:
            source = call["call"].get("source")
            if isinstance(source, dict) and source.get("widgetId"):
                call["widgetId"] = source["widgetId"]
        sequences = sorted({e["sequence"] for e in call["events"] if isinstance(e["sequence"], int)})
        if sequences:
            call["lastSequence"] = sequences[-1]
            have = set(sequences)
            call["missingSequences"] = [n for n in range(1, sequences[-1]) if n not in have][:50]

    @staticmethod
    def _summary(event: dict) -> str:
        data = event["data"]
        parts = []
        context = data.get("context")
        if isinstance(context, dict):
            customer = context.get("customer")
            if isinstance(customer, dict) and (customer.get("name") or customer.get("email") or customer.get("id")):
                parts.append(f"customer={customer.get('name') or customer.get('email') or customer.get('id')}")
        call = data.get("call") if isinstance(data.get("call"), dict) else {}
        for key in ("status", "sipCode", "hangupCause", "durationSeconds"):
            if call.get(key) is not None:
                parts.append(f"{key}={call[key]}")
        return (" " + " ".join(parts)) if parts else ""


class _Handler(BaseHTTPRequestHandler):
    receiver: CRMReceiver
    protocol_version = "HTTP/1.1"
    server_version = "SwitchboardCRMReceiver/1.0"
    timeout = 60

    def setup(self) -> None:
        super().setup()
        with self.receiver._cond:
            self.receiver._sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.receiver._cond:
                self.receiver._sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # one line per event is printed instead
        pass

    # ----------------------------------------------------------------- helpers

    def _send(self, status: int, body: bytes, content_type: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: Optional[dict] = None) -> None:
        self._send(status, json.dumps(value, indent=1).encode("utf-8"), "application/json", headers)

    def _xmlrpc(self, status: int, value: Any, headers: Optional[dict] = None) -> None:
        if isinstance(value, xmlrpc.client.Fault):
            body = xmlrpc.client.dumps(value, methodresponse=True, allow_none=True)
        else:
            body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True)
        self._send(status, body.encode("utf-8"), "text/xml; charset=utf-8", headers)

    # ----------------------------------------------------------------- routes

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(200, SCREEN_HTML.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/calls.json":
            self._json(200, self.receiver.state())
        elif path == "/events/stream":
            self._stream()
        elif path == "/healthz":
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        content_type = (self.headers.get("Content-Type") or "").lower()
        if path in XMLRPC_PATHS:
            fmt = "xmlrpc"
        elif path in JSON_PATHS:
            fmt = "json"
        elif path == "/":
            fmt = "xmlrpc" if "xml" in content_type else "json"
        else:
            self._discard_body()
            self._json(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._json(413, {"error": "body too large or bad Content-Length"})
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            self.receiver._deliver(path, fmt, headers, body)
        except _Delivery as outcome:
            if fmt == "xmlrpc":
                self._xmlrpc(outcome.status, xmlrpc.client.Fault(outcome.status, outcome.message), outcome.headers)
            else:
                self._json(outcome.status, {"error": outcome.message}, outcome.headers)
            return
        if fmt == "xmlrpc":
            self._xmlrpc(200, True)
        else:
            self._json(200, {"ok": True})

    def _discard_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)

    def _stream(self) -> None:
        receiver = self.receiver
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        version = -1
        try:
            self.wfile.write(b"retry: 2000\n\n")
            while True:
                with receiver._cond:
                    if receiver._stopping:
                        return
                    if receiver._version == version:
                        receiver._cond.wait(15)
                    if receiver._stopping:
                        return
                    changed = receiver._version != version
                    state = receiver.state() if changed else None
                    version = receiver._version
                if state is not None:
                    payload = json.dumps(state, separators=(",", ":"))
                    self.wfile.write(f"event: state\nid: {version}\ndata: {payload}\n\n".encode("utf-8"))
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


SCREEN_HTML = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CRM · incoming calls</title>
<style>
  :root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #f3f4f6; --ok: #047857; --warn: #b45309; --bad: #b91c1c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
  header { display: flex; align-items: center; justify-content: space-between; padding: 12px 24px; background: #1f2937; color: #fff; }
  header h1 { font-size: 17px; margin: 0; }
  #conn { font-size: 13px; opacity: .85; }
  main { display: grid; grid-template-columns: minmax(320px, 2fr) minmax(280px, 1fr); gap: 20px; padding: 20px 24px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; }
  h2 { font-size: 15px; margin: 0 0 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  #pop.ringing { border-color: #f59e0b; box-shadow: 0 0 0 3px #fde68a; }
  .name { font-size: 24px; font-weight: 650; margin: 0; }
  .badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600; vertical-align: middle; margin-inline-start: 6px; }
  .verified { background: #d1fae5; color: var(--ok); } .unverified { background: #fee2e2; color: var(--bad); }
  .tier { background: #fef3c7; color: var(--warn); } .status { background: #e0e7ff; color: #3730a3; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 14px 0 0; }
  dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
  ol { list-style: none; padding: 0; margin: 0; }
  ol li { display: grid; grid-template-columns: 2.5em 1fr auto; gap: 8px; padding: 6px 0; border-bottom: 1px solid var(--line); }
  .seq { color: var(--muted); font-variant-numeric: tabular-nums; } .time { color: var(--muted); font-size: 13px; }
  #calls li { grid-template-columns: 1fr auto; cursor: pointer; } #calls li.selected { font-weight: 600; }
  .empty { color: var(--muted); }
  pre { background: var(--bg); padding: 10px; border-radius: 6px; overflow: auto; font-size: 12px; max-height: 240px; }
  footer { padding: 0 24px 20px; color: var(--muted); font-size: 13px; }
  @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>Incoming calls</h1><span id="conn">connecting…</span></header>
<main>
  <div>
    <section id="pop" aria-live="polite">
      <h2>Caller</h2>
      <p class="empty" id="nocall">No call yet. Calls placed from the shop's "Call Me" button appear here.</p>
      <div id="caller" hidden>
        <p class="name"><span id="c-name"></span><span id="c-tier" class="badge tier" hidden></span><span id="c-verified" class="badge"></span><span id="c-status" class="badge status"></span></p>
        <dl>
          <dt>Email</dt><dd id="c-email"></dd>
          <dt>Customer id</dt><dd id="c-id"></dd>
          <dt>Order</dt><dd id="c-order"></dd>
          <dt>Page</dt><dd id="c-page"></dd>
          <dt>Browser</dt><dd id="c-ua"></dd>
          <dt>Call</dt><dd id="c-call"></dd>
          <dt>Widget</dt><dd id="c-widget"></dd>
          <dt>Media</dt><dd id="c-media"></dd>
        </dl>
        <details><summary>Full context</summary><pre id="c-context"></pre></details>
      </div>
    </section>
    <section style="margin-top:20px">
      <h2>Timeline</h2>
      <ol id="timeline"><li class="empty">—</li></ol>
    </section>
  </div>
  <section>
    <h2>Calls</h2>
    <ol id="calls"><li class="empty">—</li></ol>
    <dl><dt>Received</dt><dd id="n-received">0</dd><dt>Duplicates</dt><dd id="n-duplicates">0</dd><dt>Rejected</dt><dd id="n-rejected">0</dd></dl>
  </section>
</main>
<footer>Webhooks are verified with the subscription's secret (Standard Webhooks); redeliveries are acknowledged once.</footer>
<script>
"use strict";
let state = { calls: {} }, pinned = null;
const $ = (id) => document.getElementById(id);
const text = (id, value) => { $(id).textContent = (value === undefined || value === null || value === "") ? "—" : String(value); };
const obj = (v) => (v && typeof v === "object" && !Array.isArray(v)) ? v : {};
const time = (iso) => { const d = new Date(iso); return isNaN(d) ? "" : d.toLocaleTimeString(); };
const ringing = (c) => ["initiated", "ringing", "queued", "dialing"].includes(c.status);

function pick(calls) {
  if (pinned && calls[pinned]) return calls[pinned];
  const list = Object.values(calls).sort((a, b) => String(b.firstSeenAt).localeCompare(String(a.firstSeenAt)));
  return list.find(ringing) || list[0] || null;
}

function render() {
  const calls = state.calls || {};
  const call = pick(calls);
  text("n-received", state.received || 0); text("n-duplicates", state.duplicates || 0); text("n-rejected", state.rejected || 0);
  $("nocall").hidden = !!call; $("caller").hidden = !call;
  $("pop").classList.toggle("ringing", !!call && ringing(call));
  if (call) {
    const ctx = obj(call.context), customer = obj(ctx.customer), info = obj(call.call);
    const order = ctx.order !== undefined ? ctx.order : ctx.orderId;
    text("c-name", customer.name || ctx.name || customer.email || info.from || "Unknown caller");
    const tier = customer.tier || ctx.tier;
    $("c-tier").hidden = !tier; $("c-tier").textContent = tier || "";
    const v = $("c-verified");
    v.className = "badge " + (call.contextVerified ? "verified" : "unverified");
    v.textContent = call.contextVerified ? "verified" : "unverified";
    v.title = call.contextVerified ? "context minted by the shop backend" : "context claimed by the page";
    text("c-status", call.status);
    text("c-email", customer.email || ctx.email);
    text("c-id", customer.id || ctx.customerId);
    text("c-order", order && typeof order === "object" ? [order.id, order.total, order.status].filter(Boolean).join(" · ") : order);
    text("c-page", [call.page, typeof ctx.page === "string" && ctx.page !== call.page ? "(" + ctx.page + ")" : ""].filter(Boolean).join(" "));
    text("c-ua", call.userAgent);
    text("c-call", [call.callId, info.from && ("from " + info.from), info.destination && ("to " + info.destination),
                    info.sipCode && ("SIP " + info.sipCode), info.hangupCause, info.durationSeconds != null && (info.durationSeconds + " s")]
                   .filter(Boolean).join(" · "));
    text("c-widget", call.widgetId);
    const media = obj(info.media);
    text("c-media", [media.mode, media.meanOpinionScore != null && ("MOS " + media.meanOpinionScore)].filter(Boolean).join(" · "));
    $("c-context").textContent = JSON.stringify(call.context, null, 2);
  }
  const tl = $("timeline"); tl.replaceChildren();
  for (const e of (call ? call.events : [])) {
    const li = document.createElement("li");
    const s = document.createElement("span"); s.className = "seq"; s.textContent = e.sequence != null ? "#" + e.sequence : "";
    const t = document.createElement("span"); t.textContent = e.type + (e.format === "xmlrpc" ? " (XML-RPC)" : "");
    const w = document.createElement("span"); w.className = "time"; w.textContent = time(e.receivedAt);
    li.append(s, t, w); tl.append(li);
  }
  if (!tl.children.length) { const li = document.createElement("li"); li.className = "empty"; li.textContent = "—"; tl.append(li); }
  const cl = $("calls"); cl.replaceChildren();
  const list = Object.values(calls).sort((a, b) => String(b.firstSeenAt).localeCompare(String(a.firstSeenAt)));
  for (const c of list) {
    const li = document.createElement("li");
    const customer = obj(obj(c.context).customer);
    const a = document.createElement("span"); a.textContent = (customer.name || c.callId);
    const b = document.createElement("span"); b.className = "time"; b.textContent = (c.status || "") + " " + time(c.firstSeenAt);
    li.append(a, b); li.classList.toggle("selected", call && c.callId === call.callId);
    li.onclick = () => { pinned = pinned === c.callId ? null : c.callId; render(); };
    cl.append(li);
  }
  if (!list.length) { const li = document.createElement("li"); li.className = "empty"; li.textContent = "—"; cl.append(li); }
}

let pollTimer = null;
async function poll() {
  try { const r = await fetch("calls.json", { cache: "no-store" }); state = await r.json(); render(); if (pollTimer) $("conn").textContent = "polling"; }
  catch (e) { if (pollTimer) $("conn").textContent = "offline"; }
}
function startPolling() { if (!pollTimer) { poll(); pollTimer = setInterval(poll, 2000); } }
if ("EventSource" in window) {
  const es = new EventSource("events/stream");
  es.addEventListener("state", (m) => { state = JSON.parse(m.data); render(); });
  es.onopen = () => { $("conn").textContent = "live"; if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } };
  es.onerror = () => { $("conn").textContent = "reconnecting…"; startPolling(); };
} else { startPolling(); }
poll();
</script>
</body>
</html>
"""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Switchboard CRM webhook receiver with an agent screen-pop.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="port (default 9000; 0 picks one)")
    parser.add_argument("--secret", action="append",
                        help="the subscription's whsec_ secret (default: $SWITCHBOARD_WEBHOOK_SECRET); "
                             "repeat it while rotating")
    parser.add_argument("--insecure", action="store_true",
                        help="accept unsigned deliveries when no secret is given (marked unverified)")
    parser.add_argument("--tolerance", type=int, default=standard_webhooks.DEFAULT_TOLERANCE,
                        help="accepted clock skew of webhook-timestamp in seconds (default 300)")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N",
                        help="answer 503 to the first N deliveries (to watch the retries)")
    parser.add_argument("--down-until", type=float, default=None, metavar="UNIX_TIME",
                        help="answer 503 with Retry-After: 2 until this unix time")
    parser.add_argument("--xmlrpc-method", action="append", metavar="NAME",
                        help="accept only these XML-RPC method names (default: any, e.g. switchboard.event)")
    args = parser.parse_args(argv)

    secrets = args.secret or ([os.environ["SWITCHBOARD_WEBHOOK_SECRET"]]
                              if os.environ.get("SWITCHBOARD_WEBHOOK_SECRET") else [])
    if not secrets and not args.insecure:
        parser.error("give --secret whsec_... (or set SWITCHBOARD_WEBHOOK_SECRET), or --insecure to skip verification")
    try:
        receiver = CRMReceiver(secrets or None, host=args.host, port=args.port, tolerance=args.tolerance,
                               fail_first=args.fail_first, down_until=args.down_until,
                               xmlrpc_methods=args.xmlrpc_method, log=lambda line: print(line, flush=True))
    except ValueError as error:
        parser.error(str(error))
    try:
        receiver.start()
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(f"CRM receiver on {receiver.url}/  (webhooks: {receiver.webhook_url}, XML-RPC: {receiver.xmlrpc_url})"
          + ("" if secrets else "  -- NOT verifying signatures"), flush=True)

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C (even when started in the background) and kill
        signal.signal(signum, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    receiver.stop()
    counts = receiver.counts
    print(f"stopped: {counts['received']} received, {counts['duplicates']} duplicates, "
          f"{counts['rejected']} rejected, {counts['unavailable']} answered unavailable", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
