"""Self-test of the CRM receiver: python3 -m pytest Examples/crm-receiver (or python3 test_receiver.py)."""

import http.client
import json
import os
import sys
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standard_webhooks  # noqa: E402
from receiver import CRMReceiver  # noqa: E402
from standard_webhooks import WebhookVerificationError, sign, sign_headers, verify  # noqa: E402

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = standard_webhooks.generate_secret()


def envelope(event_id, type_, sequence, call_id="cal_1", **data):
    body = {"call": {"id": call_id, "status": type_.split(".")[1], "from": "widget", "to": "sip:agents@pbx",
                     "source": {"kind": "widget", "widgetId": "wgt_1", "sessionId": "wss_1"}}}
    body.update(data)
    return {"id": event_id, "type": type_, "createdAt": "2026-12-01T22:30:00.123Z", "sequence": sequence,
            "data": body}


INITIATED = envelope("evt_1", "call.initiated", 1,
                     context={"customer": {"id": "C-1042", "name": "Juliana Ortega", "tier": "gold",
                                           "email": "juliana@example.com"},
                              "order": {"id": "A-77812"}},
                     contextVerified=True, widgetId="wgt_1", page="https://shop.example/orders/A-77812",
                     userAgent="Mozilla/5.0")


class StandardWebhooksTest(unittest.TestCase):
    def test_official_vector(self):
        self.assertEqual(sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY), VECTOR_SIG)
        headers = {"Webhook-ID": VECTOR_ID, "WEBHOOK-TIMESTAMP": str(VECTOR_TS), "webhook-signature": VECTOR_SIG}
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TS)

    def test_rotation_several_signatures(self):
        old = standard_webhooks.generate_secret()
        headers = sign_headers(SECRET, b"{}", "evt_r", 1000)
        headers["webhook-signature"] = sign(old, "evt_r", 1000, b"{}") + " " + headers["webhook-signature"]
        verify(SECRET, headers, b"{}", now=1000)
        verify(old, headers, b"{}", now=1000)

    def test_failures(self):
        good = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS), "webhook-signature": VECTOR_SIG}
        cases = [
            ({k: v for k, v in good.items() if k != "webhook-signature"}, VECTOR_TS, "missing header webhook-signature"),
            (dict(good, **{"webhook-timestamp": "soon"}), VECTOR_TS, "bad webhook-timestamp"),
            (good, VECTOR_TS + 301, "too old"),
            (good, VECTOR_TS - 301, "too new"),
            (dict(good, **{"webhook-signature": "v1,AAAA"}), VECTOR_TS, "no matching signature"),
            (dict(good, **{"webhook-signature": "v2," + VECTOR_SIG[3:]}), VECTOR_TS, "no v1 signature"),
        ]
        for headers, now, message in cases:
            with self.subTest(message), self.assertRaises(WebhookVerificationError) as raised:
                verify(VECTOR_SECRET, headers, VECTOR_BODY, now=now)
            self.assertIn(message, str(raised.exception))
        with self.assertRaises(WebhookVerificationError):
            verify(VECTOR_SECRET, good, VECTOR_BODY + b" ", now=VECTOR_TS)
        verify(VECTOR_SECRET, good, VECTOR_BODY, now=VECTOR_TS + 300)


class ReceiverTest(unittest.TestCase):
    def setUp(self):
        self.r = CRMReceiver(SECRET, host="127.0.0.1", port=0).start()
        self.addCleanup(self.r.stop)

    def request(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.r.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def post(self, value, secret=SECRET, msg_id=None, timestamp=None, path="/webhooks"):
        body = json.dumps(value).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers.update(sign_headers(secret, body, msg_id or value["id"], timestamp))
        return self.request("POST", path, body, headers)

    def test_signed_post_accepted_and_state(self):
        status, _, _ = self.post(INITIATED)
        self.assertEqual(status, 200)
        status, _, _ = self.post(envelope("evt_2", "call.ringing", 2))
        self.assertEqual(status, 200)
        events = self.r.wait_for(lambda es: len(es) == 2 and es, timeout=2)
        first = events[0]
        self.assertEqual((first["id"], first["type"], first["sequence"], first["callId"], first["format"],
                          first["verified"]), ("evt_1", "call.initiated", 1, "cal_1", "json", True))
        self.assertEqual(first["data"]["context"]["customer"]["name"], "Juliana Ortega")
        self.assertEqual(first["headers"]["webhook-id"], "evt_1")
        status, _, body = self.request("GET", "/calls.json")
        state = json.loads(body)
        self.assertEqual((state["received"], state["duplicates"], state["rejected"]), (2, 0, 0))
        call = state["calls"]["cal_1"]
        self.assertEqual([e["type"] for e in call["events"]], ["call.initiated", "call.ringing"])
        self.assertEqual(set(call["events"][0]), {"id", "type", "sequence", "receivedAt", "createdAt", "format", "verified"})
        self.assertEqual(call["context"]["order"]["id"], "A-77812")
        self.assertEqual((call["status"], call["contextVerified"], call["userAgent"]), ("ringing", True, "Mozilla/5.0"))

    def test_unsigned_forged_stale_rejected(self):
        self.assertEqual(self.post(INITIATED, secret=None)[0], 401)
        self.assertEqual(self.post(INITIATED, secret=standard_webhooks.generate_secret())[0], 401)
        self.assertEqual(self.post(INITIATED, timestamp=int(time.time()) - 600)[0], 401)
        self.assertEqual(self.post(INITIATED, timestamp=int(time.time()) + 600)[0], 401)
        body = json.dumps(INITIATED).encode()
        headers = sign_headers(SECRET, body, "evt_1")
        status, _, answer = self.request("POST", "/webhooks", body.replace(b"Juliana", b"Mallory"), headers)
        self.assertEqual(status, 401)
        self.assertIn("no matching signature", json.loads(answer)["error"])
        self.assertEqual(self.r.events, [])
        self.assertEqual(self.r.counts["rejected"], 5)
        self.assertTrue(all(d["outcome"] == "rejected" for d in self.r.deliveries))

    def test_duplicate_id_deduped(self):
        for _ in range(3):  # a redelivery is re-signed with a new timestamp but keeps the id
            self.assertEqual(self.post(INITIATED)[0], 200)
        self.assertEqual(len(self.r.events), 1)
        counts = self.r.counts
        self.assertEqual((counts["received"], counts["duplicates"]), (1, 2))
        self.assertEqual(len(self.r.state()["calls"]["cal_1"]["events"]), 1)

    def test_xmlrpc_push(self):
        value = dict(envelope("evt_x1", "call.answered", 3, answeredAt="2026-12-01T22:30:05Z"),
                     createdAt=xmlrpc.client.DateTime("20261201T22:30:00"))
        body = xmlrpc.client.dumps((value,), methodname="switchboard.event").encode()
        headers = dict(sign_headers(SECRET, body, "evt_x1"), **{"Content-Type": "text/xml"})
        status, _, answer = self.request("POST", "/RPC2", body, headers)
        self.assertEqual(status, 200)
        self.assertEqual(xmlrpc.client.loads(answer)[0], (True,))
        event = self.r.wait_for(lambda es: es and es[0], timeout=2)
        self.assertEqual((event["format"], event["method"], event["type"], event["callId"], event["verified"]),
                         ("xmlrpc", "switchboard.event", "call.answered", "cal_1", True))
        self.assertEqual(event["createdAt"], "2026-12-01T22:30:00Z")
        # string createdAt is fine too; and an unsigned push is refused with a fault
        value["createdAt"], value["id"] = "2026-12-01T22:30:09.000Z", "evt_x2"
        body = xmlrpc.client.dumps((value,), methodname="switchboard.event").encode()
        status, _, answer = self.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        self.assertEqual(status, 401)
        with self.assertRaises(xmlrpc.client.Fault):
            xmlrpc.client.loads(answer)
        self.assertEqual(self.request("POST", "/RPC2", body, sign_headers(SECRET, body, "evt_x2"))[0], 200)
        self.assertEqual(self.r.events[1]["createdAt"], "2026-12-01T22:30:09.000Z")

    def test_set_status(self):
        self.r.set_status(503, retry_after=2)
        status, headers, _ = self.post(INITIATED)
        self.assertEqual((status, headers.get("Retry-After")), (503, "2"))
        self.r.set_status(410)
        self.assertEqual(self.post(INITIATED)[0], 410)
        self.assertEqual(self.r.events, [])
        self.r.set_status(None)
        self.assertEqual(self.post(INITIATED)[0], 200)
        self.assertEqual([d["status"] for d in self.r.deliveries], [503, 410, 200])
        self.r.fail_next(1)
        self.assertEqual(self.post(envelope("evt_2", "call.ringing", 2))[0], 503)
        self.assertEqual(self.post(envelope("evt_2", "call.ringing", 2))[0], 200)
        self.assertEqual([e["id"] for e in self.r.events], ["evt_1", "evt_2"])

    def test_secret_set_later_and_unverified_mode(self):
        r = CRMReceiver(None, port=0).start()
        self.addCleanup(r.stop)
        conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("POST", "/webhooks", json.dumps(INITIATED), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        self.assertFalse(r.events[0]["verified"])
        r.set_secret(SECRET)
        conn.request("POST", "/webhooks", json.dumps(envelope("evt_2", "call.ringing", 2)))
        response = conn.getresponse()  # same kept-alive connection
        response.read()
        self.assertEqual(response.status, 401)

    def test_wait_for_timeout(self):
        with self.assertRaises(TimeoutError):
            self.r.wait_for(lambda es: len(es) > 0, timeout=0.2)

    def test_html_and_stream(self):
        status, headers, body = self.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn(b"EventSource", body)
        self.assertIn(b"calls.json", body)
        conn = http.client.HTTPConnection("127.0.0.1", self.r.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/events/stream")
        response = conn.getresponse()
        self.assertEqual(response.getheader("Content-Type").split(";")[0], "text/event-stream")
        self.post(INITIATED)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            line = response.fp.readline().decode()
            if line.startswith("data:") and "Juliana Ortega" in line:
                break
        else:
            self.fail("no state with the call on the event stream")


if __name__ == "__main__":
    unittest.main()
