#!/usr/bin/env python3
"""Driving Switchboard over XML-RPC (/RPC2) with Python's standard library.

Every REST operation is a method (system.listMethods); path ids come first as strings, then a
struct: the JSON body, or the query of a list. Faults carry the HTTP status of the REST problem
(404, 422, ...) or -32700/-32600/-32601/-32602 for protocol errors.

    SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_API_KEY=sbk_... ./xmlrpc-client.py widget-list
    ./xmlrpc-client.py --url http://127.0.0.1:8080/RPC2 --key sbk_... methods

    methods                                  every method with its help
    widget-create NAME DESTINATION           e.g. widget-create Shop sip:queue@callcentre.example
    widget-list
    widget-style ID [--color '#0a7'] [--label 'Call us']
    widget-delete ID
    calls [--status in-progress]
    hangup CALL_ID
    events [--call CALL_ID]
    subscribe URL [--xmlrpc METHOD]          a webhook for call.*; prints its secret, once
    multicall-demo                           several gets in one system.multicall
"""

import argparse
import json
import os
import re
import sys
import xmlrpc.client


def connect(url, key):
    """A ServerProxy that sends the API key as a Bearer token on one kept-alive connection."""
    base = xmlrpc.client.SafeTransport if url.startswith("https:") else xmlrpc.client.Transport

    class Bearer(base):
        def send_headers(self, connection, headers):
            connection.putheader("Authorization", f"Bearer {key}")
            super().send_headers(connection, headers)

    return xmlrpc.client.ServerProxy(url, transport=Bearer(), allow_none=True)


def show(value):
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def colour(text):
    """#0a7 -> #00aa77 (the API takes #RRGGBB)."""
    if re.fullmatch(r"#[0-9a-fA-F]{3}", text):
        return "#" + "".join(c * 2 for c in text[1:])
    return text


def every(rpc_list, query):
    """All pages of a list method."""
    query = dict(query, limit=100)
    while True:
        page = rpc_list(query)
        yield from page["data"]
        if not page.get("nextCursor"):
            return
        query["after"] = page["nextCursor"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8080"),
                        help="the /RPC2 endpoint (or the gateway's base URL); env SWITCHBOARD_URL")
    parser.add_argument("--key", default=os.environ.get("SWITCHBOARD_API_KEY") or os.environ.get("SWITCHBOARD_KEY"),
                        help="an API key, sbk_...; env SWITCHBOARD_API_KEY")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("methods")
    p = sub.add_parser("widget-create"); p.add_argument("name"); p.add_argument("destination")
    sub.add_parser("widget-list")
    p = sub.add_parser("widget-style"); p.add_argument("id"); p.add_argument("--color"); p.add_argument("--label")
    p = sub.add_parser("widget-delete"); p.add_argument("id")
    p = sub.add_parser("calls"); p.add_argument("--status")
    p = sub.add_parser("hangup"); p.add_argument("call_id")
    p = sub.add_parser("events"); p.add_argument("--call")
    p = sub.add_parser("subscribe"); p.add_argument("endpoint", metavar="URL"); p.add_argument("--xmlrpc", metavar="METHOD")
    sub.add_parser("multicall-demo")
    args = parser.parse_args()
    if not args.key:
        parser.error("no API key: --key or SWITCHBOARD_API_KEY")
    url = args.url.rstrip("/")
    rpc = connect(url if url.endswith("/RPC2") else url + "/RPC2", args.key)

    if args.command == "methods":
        names = rpc.system.listMethods()
        batch = xmlrpc.client.MultiCall(rpc)  # all the help texts in one request
        for name in names:
            batch.system.methodHelp(name)
        for name, text in zip(names, batch()):
            print(f"{name:32} {text}")
    elif args.command == "widget-create":
        show(rpc.widgets.create({"name": args.name, "destination": args.destination}))
    elif args.command == "widget-list":
        for w in every(rpc.widgets.list, {}):
            print(w["id"], w["name"], w["destination"], "enabled" if w["enabled"] else "disabled", sep="\t")
    elif args.command == "widget-style":
        change = {}
        if args.label:
            change["label"] = args.label
        if args.color:
            change["appearance"] = {"primaryColor": colour(args.color)}
        show(rpc.widgets.update(args.id, change))
    elif args.command == "widget-delete":
        rpc.widgets.delete(args.id)
        print("deleted", args.id)
    elif args.command == "calls":
        query = {"status": args.status} if args.status else {}
        for c in every(rpc.calls.list, query):
            print(c["id"], c["status"], c.get("createdAt", ""), sep="\t")
    elif args.command == "hangup":
        show(rpc.calls.hangup(args.call_id))
    elif args.command == "events":
        query = {"callId": args.call} if args.call else {}
        for e in every(rpc.events.list, query):
            print(e["id"], e["type"], e.get("createdAt", ""), sep="\t")
    elif args.command == "subscribe":
        body = {"url": args.endpoint, "events": ["call.*"], "format": "json"}
        if args.xmlrpc:
            body.update(format="xmlrpc", xmlrpcMethod=args.xmlrpc)
        webhook = rpc.webhooks.create(body)
        print("webhook", webhook["id"], "->", webhook["url"], f"({webhook['format']})")
        print("secret ", webhook["secret"], " (shown once: keep it to verify the signatures)")
    elif args.command == "multicall-demo":
        ids = [w["id"] for w in rpc.widgets.list({"limit": 3})["data"]]
        batch = xmlrpc.client.MultiCall(rpc)
        gets = [("health.get", ())] + [("widgets.get", (i,)) for i in ids] + [
            ("widgets.get", ("wid_doesnotexist",)), ("calls.list", ({"limit": 5},))]
        for name, params in gets:
            getattr(batch, name)(*params)
        results = batch()  # one HTTP request, one answer per call
        for index, (name, params) in enumerate(gets):
            label = f"{name}({', '.join(map(repr, params))})"
            try:
                print(label, "->", json.dumps(results[index], sort_keys=True, default=str))
            except xmlrpc.client.Fault as fault:  # a fault of one call leaves the others alone
                print(label, "->", f"fault {fault.faultCode}: {fault.faultString}")


if __name__ == "__main__":
    try:
        main()
    except xmlrpc.client.Fault as fault:
        print(f"fault {fault.faultCode}: {fault.faultString}", file=sys.stderr)
        sys.exit(1)
    except xmlrpc.client.ProtocolError as error:
        print(f"HTTP {error.errcode}: {error.errmsg}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(0)
    except OSError as error:
        print(f"cannot reach the gateway: {error}", file=sys.stderr)
        sys.exit(1)
