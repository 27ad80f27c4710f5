"""`switchboard serve --demo` end to end, as a newcomer meets it after `make run`.

Headless Chromium opens the demo shop at `/demo` (served by the gateway, widget from
`/widget/callme.js`), presses the button through the shadow DOM and talks to the demo call centre
(a SIP agent on 127.0.0.1:5080 that greets and then echoes) through the gateway's media plane:
WebRTC to the gateway, plain RTP/G.711 to the agent. Two-way audio is asserted from `getStats()`
energy deltas; the agent screen shows the caller's context and the DTMF digits it heard; the
call's media report is stored.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest
import requests

from support import ServerProcess, poll
from widget_support import WidgetPage, chromium, measure_audio, wait_until

RTP_BASE = 36000 + (os.getpid() % 200) * 10
SERVER_ARGS = ["--demo", "--rtp-ports", f"{RTP_BASE}-{RTP_BASE + 9}", "--public-ip", "127.0.0.1"]
ENERGY_THRESHOLD = 0.01


@pytest.fixture(scope="module")
def page() -> Iterator[WidgetPage]:
    driver = chromium()
    yield WidgetPage(driver)
    driver.quit()


def test_demo_shop_calls_the_demo_call_centre_with_two_way_audio(page: WidgetPage, server: ServerProcess, admin) -> None:
    shop = requests.get(server.url + "/demo", timeout=5)
    assert shop.status_code == 200 and "text/html" in shop.headers["content-type"]
    assert 'src="/widget/callme.js"' in shop.text and "{{WIDGET_ID}}" not in shop.text
    widget = requests.get(server.url + "/widget/callme.js", timeout=5)
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]

    page.open(server.url + "/demo")
    page.shadow(".launcher").click()
    page.wait_state("in-call", timeout=20)
    inbound, outbound, summary = measure_audio(page, seconds=2.0)
    print(f"\ndemo call: audio RMS in {inbound:.4f}, out {outbound:.4f}, packets received {summary['packetsReceived']}")
    assert outbound > ENERGY_THRESHOLD, f"the microphone sends silence: RMS {outbound}"
    assert inbound > ENERGY_THRESHOLD, f"nothing comes back from the demo call centre: RMS {inbound}"

    # The agent screen shows who is calling, with the context the shop page set.
    agent = requests.get(server.url + "/demo/crm", timeout=5)
    assert agent.status_code == 200 and "Agent screen" in agent.text
    calls = wait_until(lambda: requests.get(server.url + "/demo/crm/calls", timeout=5).json(), 5)
    context = calls[0]["context"]
    assert context["Context-customer-name"] == "Juliana Ortega", context
    assert context["Context-order-id"] == "A-77812", context
    assert context["Context-pageUrl"].endswith("/demo"), context
    assert calls[0]["state"] == "in call"

    # DTMF: RTCDTMFSender in the browser, RFC 4733 events through the gateway, heard by the agent.
    assert page.driver.execute_script("return CallMe.sendDigits('12#')") is True
    digits = wait_until(lambda: requests.get(server.url + "/demo/crm/calls", timeout=5).json()[0]["digits"] == "12#" or None, 10)
    assert digits, requests.get(server.url + "/demo/crm/calls", timeout=5).json()[0]

    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    call_id = calls[0]["callId"]

    def media_report():
        call = admin.get(f"/v1/calls/{call_id}").json()
        return call if call.get("media") else None

    call = poll(media_report, timeout=10)
    assert call, "the call has no media report"
    assert call["status"] == "completed" and call["hangupBy"] == "caller", call
    media = call["media"]
    assert media["mode"] == "relay", media  # Chromium offers PCMU, which the demo agent answers
    assert media["browser"]["packetsReceived"] > 50 and media["callee"]["packetsReceived"] > 50, media
    assert media["browser"]["authenticationFailures"] == 0, media
    assert 1 <= media["meanOpinionScore"] <= 4.5, media
    calls = requests.get(server.url + "/demo/crm/calls", timeout=5).json()
    assert calls[0]["state"] == "ended"
