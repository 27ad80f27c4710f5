"""The Call Me widget (WebClient/callme.js) in headless Chromium, against the real gateway.

A shop page on 127.0.0.1 embeds the widget with a script tag; the widget creates a session at
the gateway with the page's Origin, speaks SIP over the gateway's `/sip` WebSocket, and the
gateway bridges the call to a SIP call centre on UDP (widget_support.CallCentre) whose media is
a pluggable peer (`media_peer_factory`: aiortc echoing the audio back, while the gateway passes
the browser's SDP through).
"""

from __future__ import annotations

import json
import math
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from media_support import VideoEchoPeer
from sip_support import Sipp, body, create_trunk, get_call, header, sipp_binary
from support import Client, ServerProcess, describe
from widget_support import (
    SCREENSHOTS, WIDGET_JS, CallCentre, CentreCall, ImpairedRtpPeer, ShopServer, WidgetPage, chromium, echo_peer_for,
    measure_audio, wait_until,
)

CONTEXT = {"customer": {"id": "C-1042", "name": "Juliana"}, "order": "A-77812"}
# √(ΔtotalAudioEnergy/ΔtotalSamplesDuration) is the RMS level (0..1) over an interval. Chromium's
# fake microphone beeps (about 0.1-0.3 RMS); silence stays below 0.001.
ENERGY_THRESHOLD = 0.01


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def media_peer_factory():
    """How the call centre answers media, given the gateway's offer: an echo over WebRTC
    (aiortc) when the browser's SDP is passed through, over plain RTP/G.711 when the gateway
    terminates WebRTC. Another peer only needs `answer(offer_sdp)` and `close()`."""
    return echo_peer_for


@pytest.fixture(scope="module")
def call_centre(media_peer_factory) -> Iterator[CallCentre]:
    centre = CallCentre(media_peer_factory)
    yield centre
    centre.close()


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopServer]:
    server = ShopServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def widget(admin: Client, call_centre: CallCentre, shop: ShopServer) -> dict:
    trunk = admin.post("/v1/trunks", {"name": "widget call centre", "uri": call_centre.uri})
    assert trunk.status_code == 201, describe(trunk)
    response = admin.post("/v1/widgets", {
        "name": "browser shop", "destination": trunk.json()["id"], "allowedOrigins": [shop.origin],
        "appearance": {"primaryColor": "#0F766E", "position": "bottom-right", "shape": "pill"},
    })
    assert response.status_code == 201, describe(response)
    return response.json()


@pytest.fixture(scope="module")
def script_src(server: ServerProcess, shop: ShopServer) -> str:
    """The gateway's `/widget/callme.js` when it serves this very file; else the shop server's copy."""
    try:
        served = requests.get(server.url + "/widget/callme.js", timeout=5)
        if served.status_code == 200 and served.content == WIDGET_JS.read_bytes():
            return server.url + "/widget/callme.js"
    except requests.RequestException:
        pass
    return shop.origin + "/callme.js"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def denying_browser() -> Iterator:
    """Chromium without the fake permission UI, its microphone and camera permission denied
    through its own permission settings (CDP Browser.setPermission)."""
    driver = chromium(fake_ui=False)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, call_centre: CallCentre) -> Iterator[WidgetPage]:
    call_centre.reset("answer")
    widget_page = WidgetPage(browser)
    yield widget_page
    # Leave no call behind for the next test.
    try:
        widget_page.js("window.CallMe && CallMe.hangup && CallMe.hangup()")
    except Exception:
        pass
    assert not call_centre.errors, call_centre.errors


def shop_url(shop: ShopServer, widget: dict, server: ServerProcess, script_src: str, **query) -> str:
    return shop.url(widget=widget["id"], gateway=server.url, script_src=script_src, **query)


def deny_media(driver, origin: str) -> None:
    for name in ("microphone", "camera"):
        driver.execute_cdp_cmd("Browser.setPermission", {"permission": {"name": name}, "setting": "denied", "origin": origin})


# --------------------------------------------------------------------------------------------
# Helpers


def sip_out(page: WidgetPage, method: str) -> list[str]:
    return [m["text"] for m in page.sip() if m["dir"] == "out" and m["text"].startswith(method + " ")]


def start_call_by_click(page: WidgetPage) -> None:
    page.shadow(".launcher").click()


# --------------------------------------------------------------------------------------------
# Calls


def test_call_has_two_way_audio_context_and_rfc7118_signalling(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre, record_property) -> None:
    url = shop_url(shop, widget, server, script_src, context=json.dumps(CONTEXT))
    page.open(url)
    start_call_by_click(page)
    page.wait_state("in-call", timeout=20)
    inbound, outbound, summary = measure_audio(page)
    record_property("audio_rms_in", inbound)
    record_property("audio_rms_out", outbound)
    print(f"\naudio RMS in {inbound:.4f}, out {outbound:.4f}; packets received {summary['packetsReceived']}, "
          f"lost {summary['packetsLost']}, jitter {summary['jitter']}, RTT {summary['roundTripTime']}")
    assert outbound > ENERGY_THRESHOLD, f"the microphone sends silence: RMS {outbound}"
    assert inbound > ENERGY_THRESHOLD, f"no audio comes back from the call centre: RMS {inbound}"
    assert summary["packetsReceived"] > 0 and summary["packetsSent"] > 0

    # The context (with the page URL and title the widget adds) reached the call centre.
    call = call_centre.only_call()
    invite = call.invite
    assert invite.header("X-Switchboard-Context-customer-name") == "Juliana"
    assert invite.header("X-Switchboard-Context-order") == "A-77812"
    assert invite.header("X-Switchboard-Context-pageUrl") == url[:256]  # the gateway bounds header values
    assert invite.header("X-Switchboard-Context-pageTitle") == page.js("return document.title")
    assert invite.header("X-Switchboard-Context-Verified") == "false"
    assert invite.header("X-Switchboard-Widget-Id") == widget["id"]

    # RFC 7118 on the WebSocket: subprotocol sip, .invalid Via host, ;transport=ws;ob Contact,
    # the INVITE carries a complete offer.
    opened = [m for m in page.sip() if m["dir"] == "open"]
    assert opened and opened[0]["protocols"] == "sip" and "/sip?token=" in opened[0]["url"], opened
    browser_invite = sip_out(page, "INVITE")[0]
    assert re.match(r"SIP/2\.0/WSS? [a-z0-9]+\.invalid;branch=z9hG4bK", header(browser_invite, "Via")), header(browser_invite, "Via")
    assert re.search(r"@[a-z0-9]+\.invalid;transport=ws;ob>", header(browser_invite, "Contact")), header(browser_invite, "Contact")
    assert "a=candidate:" in browser_invite and "a=fingerprint:" in browser_invite
    assert sip_out(page, "ACK"), "the 200 OK was not acknowledged"

    # The shopper hangs up with the hang-up button.
    assert page.text(".timer") and re.fullmatch(r"\d\d:\d\d", page.text(".timer"))
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    assert page.event_types() == ["ringing", "connected", "ended"], page.events()
    assert not [e for e in page.events() if e["type"] == "warning" and e["detail"]["type"] == "one-way-audio"], page.events()
    ended = page.events()[-1]["detail"]
    assert ended == {"cause": "local-hangup", "sipCode": None}, ended
    wait_until(lambda: call.ended.is_set(), 10, message="the BYE did not reach the call centre")
    assert call_centre.requests("BYE"), "no BYE at the call centre"
    assert "You ended the call." in page.text(".message")


def test_call_centre_hangs_up(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("in-call", timeout=20)
    call = call_centre.only_call()
    wait_until(lambda: call.acked.is_set(), 10)
    response = call_centre.hang_up(call)
    assert response.status == 200, response.text
    page.wait_state("ended")
    assert page.event_types() == ["ringing", "connected", "ended"], page.events()
    assert page.events()[-1]["detail"] == {"cause": "remote-hangup", "sipCode": None}
    assert page.text(".message") == "The agent ended the call."
    # The widget answered the BYE on the same WebSocket.
    answers = [m["text"] for m in page.sip() if m["dir"] == "out" and m["text"].startswith("SIP/2.0 200") and "BYE" in (header(m["text"], "CSeq") or "")]
    assert answers, page.sip()


def test_token_url_gets_a_verified_session_from_the_shop_backend(admin: Client, page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    """`data-token-url`: the widget asks the shop's own backend, which mints the session with its
    API key and adds what only it knows; the call centre sees the context as verified."""

    def mint(request: dict) -> tuple[int, dict]:
        assert request["widget"] == widget["id"]
        context = {**request.get("context", {}), "account": "K-2201", "tier": "gold"}
        response = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": context})
        return response.status_code, response.json()

    shop.mint = mint
    try:
        page.open(shop_url(shop, widget, server, script_src, token_url="/token", context=json.dumps({"order": "A-1"})))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)
        invite = call_centre.only_call().invite
        assert invite.header("X-Switchboard-Context-Verified") == "true"
        assert invite.header("X-Switchboard-Context-tier") == "gold"
        assert invite.header("X-Switchboard-Context-account") == "K-2201"
        assert invite.header("X-Switchboard-Context-order") == "A-1"
        assert shop.token_requests and shop.token_requests[-1]["context"]["order"] == "A-1"
        page.shadow("[data-action=hangup]").click()
        page.wait_state("ended")
    finally:
        shop.mint = None


def test_busy_call_centre_shows_busy(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    call_centre.reset("busy")
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("ended", timeout=20)
    assert page.events()[-1]["detail"] == {"cause": "busy", "sipCode": 486}, page.events()
    assert "connected" not in page.event_types()
    assert "busy" in page.text(".message")
    # The failure was acknowledged inside the INVITE transaction (same branch).
    invite, ack = sip_out(page, "INVITE")[0], sip_out(page, "ACK")[0]
    assert header(invite, "Via") == header(ack, "Via"), (invite, ack)


def test_cancel_while_ringing(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    call_centre.reset("ring")
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("ringing", timeout=20)
    assert page.text(".hangup .text") == "Cancel call"
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    assert page.event_types() == ["ringing", "ended"], page.events()
    assert page.events()[-1]["detail"]["cause"] == "canceled"
    assert sip_out(page, "CANCEL"), "no CANCEL was sent"
    wait_until(lambda: call_centre.requests("CANCEL"), 10, message="the CANCEL did not reach the call centre")


def test_keyboard_only_operation(page: WidgetPage, shop, widget, server, script_src) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.open(shop_url(shop, widget, server, script_src))

    def press(*sequence: str) -> None:
        for key in sequence:
            ActionChains(page.driver).send_keys(key).perform()

    def press_shift_tab() -> None:
        ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()

    # Tab from the top of the page reaches the widget's button (it follows the page's content).
    for _ in range(15):
        press(Keys.TAB)
        if page.active() == "launch":
            break
    assert page.active() == "launch", "Tab never reached the call button"
    press(Keys.ENTER)
    page.wait_state("in-call", timeout=20)
    assert page.active() == "hangup", f"focus should move to the hang-up button, is on {page.active()}"

    # Shift+Tab back to the mute toggle; Space toggles it.
    for _ in range(4):
        press_shift_tab()
        if page.active() == "mute":
            break
    assert page.active() == "mute"
    press(Keys.SPACE)
    assert page.js("return document.querySelector('callme-button').shadowRoot.querySelector('[data-action=mute]').getAttribute('aria-pressed')") == "true"
    press(Keys.TAB)
    assert page.active() == "keypad"
    press(Keys.ENTER)
    assert page.active() == "digit-1", "opening the keypad should focus its first key"
    press(Keys.ESCAPE)
    assert page.active() == "keypad", "Escape closes the keypad and returns to its toggle"
    press(Keys.ESCAPE)
    page.wait_state("ended")
    assert page.events()[-1]["detail"]["cause"] == "local-hangup"
    assert page.active() == "call", "after the call, focus is on 'Call again'"
    press(Keys.ESCAPE)
    assert page.state() == "idle" and page.active() == "launch"


# --------------------------------------------------------------------------------------------
# Hold and resume from the call centre; a new WebSocket during a call

# Each pause of uas_hold_resume.xml (after the answer, on hold, after the resume): long enough
# to measure audio in each phase.
HOLD_PAUSE_MS = 6000


def sip_in(page: WidgetPage, start: str) -> list[str]:
    return [m["text"] for m in page.sip() if m["dir"] == "in" and m["text"].startswith(start)]


def sdp_value(sdp: str, name: str) -> str | None:
    match = re.search(rf"^a={name}:(.+?)\r?$", sdp, re.M)
    return match.group(1) if match else None


def audio_direction(sdp: str) -> str | None:
    audio = sdp.split("m=audio", 1)[1] if "m=audio" in sdp else ""
    match = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\r?$", audio, re.M)
    return match.group(1) if match else None


def packets_sent(page: WidgetPage) -> int:
    return page.stats()["summary"]["packetsSent"]


def test_call_centre_holds_and_resumes(admin: Client, page: WidgetPage, shop, server, script_src, tmp_path: Path) -> None:
    """SIPp (with RTP echo) puts the call on hold and resumes it with re-INVITEs: the gateway
    answers them itself and tells the widget with re-INVITEs of its own, so the shopper sees the
    hold, the browser stops sending while held, and two-way audio comes back on resume."""
    assert sipp_binary(), "sipp not found: apt-get install sip-tester (scripts/install-deps.sh)"
    uas = Sipp("uas_hold_resume.xml", tmp_path, name="hold", duration_ms=HOLD_PAUSE_MS, timeout_s=60, extra_args=["-rtp_echo"]).start()
    try:
        trunk = create_trunk(admin, name="holding call centre", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "hold shop", "destination": trunk["id"], "allowedOrigins": [shop.origin]})
        assert widget.status_code == 201, describe(widget)
        page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)
        inbound, outbound, _ = measure_audio(page, 1.0)
        assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, f"no two-way audio before the hold: {inbound} {outbound}"

        # Hold: the widget says so, in the live region too, and the browser stops sending.
        page.wait_state("hold", timeout=HOLD_PAUSE_MS / 1000 + 10)
        assert page.text(".status") == "Connected"
        assert page.text(".message") == "You are on hold. Please stay on the line."
        assert "You are on hold. Please stay on the line." in page.text("[aria-live=polite]")
        assert page.text(".timer"), "the call timer goes on during the hold"
        hold_offer = body(sip_in(page, "INVITE ")[0])
        answer = body(sip_in(page, "SIP/2.0 200")[0])
        assert audio_direction(hold_offer) == "sendonly", hold_offer
        # The same transport: no ICE restart, the same certificate, setup:actpass (RFC 5763).
        assert sdp_value(hold_offer, "ice-ufrag") == sdp_value(answer, "ice-ufrag"), (hold_offer, answer)
        assert sdp_value(hold_offer, "fingerprint") == sdp_value(answer, "fingerprint")
        assert sdp_value(hold_offer, "setup") == "actpass"
        held_answer = body([t for t in sip_out(page, "SIP/2.0 200") if "INVITE" in (header(t, "CSeq") or "")][0])
        assert audio_direction(held_answer) == "recvonly", held_answer
        assert sdp_value(held_answer, "setup") == "passive", "the browser keeps its DTLS role"
        wait_until(lambda: page.stats()["summary"]["packetsSent"] > 0, 5)
        sent = packets_sent(page)
        time.sleep(1.5)
        assert page.state() == "hold"
        assert packets_sent(page) - sent <= 5, "the browser keeps sending while on hold"

        # Resume: back in the call, with two-way audio again.
        page.wait_state("in-call", timeout=HOLD_PAUSE_MS / 1000 + 10)
        assert page.text(".message") == "" and page.text(".status") == "Connected"
        inbound, outbound, _ = measure_audio(page, 1.5)
        assert outbound > ENERGY_THRESHOLD, f"the microphone sends silence after the resume: RMS {outbound}"
        assert inbound > ENERGY_THRESHOLD, f"no audio comes back after the resume: RMS {inbound}"
        resume_offer = body(sip_in(page, "INVITE ")[1])
        assert audio_direction(resume_offer) == "sendrecv", resume_offer

        # The call centre hangs up.
        page.wait_state("ended", timeout=HOLD_PAUSE_MS / 1000 + 10)
        assert page.events()[-1]["detail"] == {"cause": "remote-hangup", "sipCode": None}
        assert page.event_types() == ["ringing", "connected", "ended"], page.events()
        assert page.states() == ["idle", "permission", "connecting", "ringing", "in-call", "hold", "in-call", "ended"], page.states()
        events = {e["type"]: e["at"] for e in page.events() if e["type"] != "warning"}
        hold_at = next(entry["at"] for entry in page.js("return window.__states") if entry["state"] == "hold")
        assert events["connected"] <= hold_at <= events["ended"]
        assert uas.wait(timeout=30) == 0, uas.report()
    finally:
        uas.stop()


def test_silent_call_centre_raises_a_one_way_audio_warning(admin: Client, page: WidgetPage, shop, server, script_src, tmp_path: Path) -> None:
    """A call centre that answers but sends no audio: the widget's monitor sees packets go out and
    none come in, and says so once with `callme:warning` (one-way-audio, incoming); a call with
    audio both ways (the other tests) raises none."""
    assert sipp_binary(), "sipp not found: apt-get install sip-tester (scripts/install-deps.sh)"
    uas = Sipp("uas_answer.xml", tmp_path, name="silent", timeout_s=60).start()
    try:
        trunk = create_trunk(admin, name="silent call centre", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "silent shop", "destination": trunk["id"], "allowedOrigins": [shop.origin]})
        assert widget.status_code == 201, describe(widget)
        page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)
        wait_until(lambda: any(e["type"] == "warning" for e in page.events()), 12,
                   message=lambda: f"no warning for a call centre that sends nothing: {page.events()} {page.stats()['summary']}")
        warnings = [e["detail"] for e in page.events() if e["type"] == "warning"]
        assert warnings[0]["type"] == "one-way-audio" and warnings[0]["direction"] == "incoming", warnings
        summary = page.stats()["summary"]
        assert summary["packetsSent"] > 0 and summary["packetsReceived"] == 0, summary
        time.sleep(2.5)  # another monitor round: the warning is not repeated while it lasts
        assert [e["detail"]["type"] for e in page.events() if e["type"] == "warning"] == ["one-way-audio"], page.events()
        assert page.state() == "in-call", "a warning does not end the call"
        page.shadow("[data-action=hangup]").click()
        page.wait_state("ended")
        assert uas.wait(timeout=30) == 0, uas.report()
    finally:
        uas.stop()


def test_only_a_change_of_direction_reaches_the_widget(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    """An UPDATE with a=sendonly holds as a re-INVITE does; re-offers that keep the direction (a
    refresh, c=0.0.0.0 while already held) are answered at the gateway alone; a=sendrecv resumes."""
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("in-call", timeout=20)
    call = call_centre.only_call()
    wait_until(lambda: call.acked.is_set(), 10)

    def gateway_invites() -> int:
        return len(sip_in(page, "INVITE "))

    same = call_centre.reinvite(call, "sendrecv")
    assert same.status == 200 and audio_direction(same.body) == "sendrecv", same.text
    time.sleep(1)
    assert gateway_invites() == 0, "a re-offer that keeps the direction must stay at the gateway"

    held = call_centre.reinvite(call, "sendonly", method="UPDATE")
    assert held.status == 200 and audio_direction(held.body) == "recvonly", held.text
    page.wait_state("hold")
    assert gateway_invites() == 1

    still = call_centre.reinvite(call, "sendrecv", address="0.0.0.0")
    assert still.status == 200 and audio_direction(still.body) == "recvonly", still.text
    time.sleep(1)
    assert gateway_invites() == 1 and page.state() == "hold"

    resumed = call_centre.reinvite(call, "sendrecv")
    assert resumed.status == 200 and audio_direction(resumed.body) == "sendrecv", resumed.text
    page.wait_state("in-call")
    assert gateway_invites() == 2
    assert [audio_direction(body(t)) for t in sip_in(page, "INVITE ")] == ["sendonly", "sendrecv"]
    inbound, outbound, _ = measure_audio(page, 1.0)
    assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, (inbound, outbound)
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    assert page.states()[-4:] == ["in-call", "hold", "in-call", "ended"], page.states()


def test_websocket_reconnects_and_restarts_ice(admin: Client, page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    """The widget's WebSocket is cut during a call: the widget warns, reconnects with the same
    session and re-INVITEs with new ICE credentials; the gateway answers with new ones of its
    own, the call stays in progress and the audio goes on."""
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("in-call", timeout=20)
    call = call_centre.only_call()
    call_id = call.invite.header("X-Switchboard-Call-Id")
    inbound, outbound, _ = measure_audio(page, 1.0)
    assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, (inbound, outbound)
    assert page.js("return window.__sockets.length") == 1
    first_offer, first_answer = body(sip_out(page, "INVITE")[0]), body(sip_in(page, "SIP/2.0 200")[0])

    page.js("window.__sockets[0].close()")
    wait_until(lambda: any(e["type"] == "warning" and e["detail"]["type"] == "reconnecting" for e in page.events()), 5,
               message=lambda: f"no reconnecting warning: {page.events()}")
    wait_until(lambda: any(e["type"] == "warning" and e["detail"]["type"] == "reconnected" for e in page.events()), 20,
               message=lambda: f"no reconnected warning: {page.events()}; console {page.console()[-5:]}")
    assert page.js("return window.__sockets.length") == 2 and page.js("return window.__sockets[1].readyState") == 1
    warnings = [e["detail"]["type"] for e in page.events() if e["type"] == "warning" and e["detail"]["type"].startswith("reconnect")]
    assert warnings == ["reconnecting", "reconnected"], page.events()
    reinvite = sip_out(page, "INVITE")[1]
    assert header(reinvite, "Call-ID") == header(sip_out(page, "INVITE")[0], "Call-ID")
    assert ";tag=" in (header(reinvite, "To") or ""), "the re-INVITE belongs to the dialog"
    assert sdp_value(body(reinvite), "ice-ufrag") != sdp_value(first_offer, "ice-ufrag"), "no ICE restart"
    reanswer = [t for t in sip_in(page, "SIP/2.0 200") if header(t, "CSeq") == header(reinvite, "CSeq")]
    assert reanswer, page.sip()
    assert sdp_value(body(reanswer[0]), "ice-ufrag") != sdp_value(first_answer, "ice-ufrag"), "the gateway kept its ICE credentials"

    assert get_call(admin, call_id)["status"] == "in-progress"
    assert page.state() == "in-call" and page.text(".status") == "Connected"
    inbound, outbound, _ = measure_audio(page, 1.5)
    assert outbound > ENERGY_THRESHOLD, f"the microphone sends silence after the reconnection: RMS {outbound}"
    assert inbound > ENERGY_THRESHOLD, f"no audio comes back after the reconnection: RMS {inbound}"
    assert not call.ended.is_set() and not call_centre.requests("BYE")
    assert get_call(admin, call_id)["status"] == "in-progress"
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    assert page.events()[-1]["detail"]["cause"] == "local-hangup"
    wait_until(lambda: call.ended.is_set(), 10, message="the BYE did not reach the call centre")


def test_a_hold_while_the_websocket_is_down_reaches_the_widget_after_it_reconnects(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    """The call centre holds while the widget's WebSocket is cut: the gateway answers it, and
    tells the widget once it is back (after its ICE-restart re-INVITE on the new connection)."""
    page.open(shop_url(shop, widget, server, script_src))
    start_call_by_click(page)
    page.wait_state("in-call", timeout=20)
    call = call_centre.only_call()
    wait_until(lambda: call.acked.is_set(), 10)
    page.js("window.__sockets[0].close()")
    held = call_centre.reinvite(call, "sendonly")
    assert held.status == 200 and audio_direction(held.body) == "recvonly", held.text
    page.wait_state("hold", timeout=20)
    assert any(e["type"] == "warning" and e["detail"]["type"] == "reconnected" for e in page.events()), page.events()
    hold_offers = [m["text"] for m in page.sip() if m["dir"] == "in" and m["text"].startswith("INVITE ")]
    assert hold_offers and audio_direction(body(hold_offers[-1])) == "sendonly"
    # The hold went out on the new WebSocket, after the reconnection's re-INVITE was answered.
    opened = [i for i, m in enumerate(page.sip()) if m["dir"] == "open"]
    answered_hold = [i for i, m in enumerate(page.sip()) if m["dir"] == "out" and m["text"].startswith("SIP/2.0 200") and "a=recvonly" in m["text"]]
    assert len(opened) == 2 and answered_hold and answered_hold[-1] > opened[1], page.sip()
    resumed = call_centre.reinvite(call, "sendrecv")
    assert resumed.status == 200, resumed.text
    page.wait_state("in-call")
    inbound, outbound, _ = measure_audio(page, 1.0)
    assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, (inbound, outbound)
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")


# --------------------------------------------------------------------------------------------
# Loss and jitter from a call centre whose stream is impaired on purpose

# 15 % of the call centre's frames are never sent: three of every twenty, never two in a row.
def lossy(n: int) -> bool:
    return n % 20 in (3, 9, 16)


# 60 ms frames in groups of two and three, alternately 120 and 180 ms apart (300 ms of audio per
# 300 ms: the rate is right, the timing is not). RFC 3550 jitter of in-order packets at the right
# rate stays below twice the frame duration on average; with 20 ms frames Chromium reports about
# 32 ms for any such bursts (10 frames every 200 ms included), under the widget's 50 ms, so the
# jitter tests take 60 ms frames (a=ptime:60), which the relay path passes on untouched.
def bursty(n: int) -> float:
    return (n // 5) * 0.3 + (0 if n % 5 < 2 else 0.12)


# Page instrumentation (not the widget's): the browser offers Opus only, so the gateway must
# transcode to the call centre's PCMU instead of relaying it.
OPUS_ONLY = """
const createOffer = RTCPeerConnection.prototype.createOffer;
RTCPeerConnection.prototype.createOffer = function (...args) {
  const codecs = RTCRtpReceiver.getCapabilities("audio").codecs.filter((c) => /opus|telephone-event/i.test(c.mimeType));
  for (const t of this.getTransceivers()) if (t.receiver.track.kind === "audio") t.setCodecPreferences(codecs);
  return createOffer.apply(this, args);
};
"""

# The monitor compares getStats() every 2 s from the answer on; the first comparison is at 4 s.
MONITOR_ROUNDS_S = 9.0


@contextmanager
def impaired_call(admin: Client, page: WidgetPage, shop: ShopServer, server: ServerProcess, script_src: str, peer: ImpairedRtpPeer, *, opus_only: bool = False) -> Iterator[CentreCall]:
    """A widget call to a call centre whose media is `peer`, in the call from the answer on; it
    is hung up from the widget afterwards."""
    centre = CallCentre(lambda offer: peer)
    script = None
    try:
        trunk = create_trunk(admin, name="impaired call centre", uri=centre.uri, transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "impaired shop", "destination": trunk["id"], "allowedOrigins": [shop.origin]})
        assert widget.status_code == 201, describe(widget)
        if opus_only:
            script = page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OPUS_ONLY})["identifier"]
        page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)
        yield centre.only_call()
        if page.state() == "in-call":
            page.shadow("[data-action=hangup]").click()
            page.wait_state("ended")
    finally:
        if script:
            page.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})
        centre.close()


def warnings_of(page: WidgetPage) -> list[dict]:
    return [e["detail"] for e in page.events() if e["type"] == "warning"]


def call_media(admin: Client, call: CentreCall) -> dict:
    """The gateway's media report of the call (stored once its media has closed)."""
    call_id = call.invite.header("X-Switchboard-Call-Id")
    return wait_until(lambda: get_call(admin, call_id).get("media"), 10, message=lambda: f"no media report: {get_call(admin, call_id)}")


def test_lossy_call_centre_raises_one_high_loss_warning(admin: Client, page: WidgetPage, shop, server, script_src, record_property) -> None:
    """A call centre that leaves out 15 % of its PCMU frames (sequence numbers skipped). The
    browser offers PCMU, so the gateway relays the call centre's sequence numbers: the browser
    counts the gaps as lost, and the widget says so once with `callme:warning` (high-loss and
    the loss rate of the monitor's interval), however many rounds the loss goes on."""
    peer = ImpairedRtpPeer(drop=lossy)
    with impaired_call(admin, page, shop, server, script_src, peer) as call:
        wait_until(lambda: warnings_of(page), 12, message=lambda: f"no warning for 15 % loss: {page.events()} {page.stats()['summary']}")
        time.sleep(4.5)  # two more monitor rounds with the same loss: no second warning
        warnings = warnings_of(page)
        assert [w["type"] for w in warnings] == ["high-loss"], warnings
        assert 0.10 <= warnings[0]["lossRate"] <= 0.20, warnings
        summary = page.stats()["summary"]
        overall = summary["packetsLost"] / (summary["packetsLost"] + summary["packetsReceived"])
        assert 0.12 <= overall <= 0.18, summary
        assert page.state() == "in-call", "a warning does not end the call"
        record_property("loss_rate_warned", warnings[0]["lossRate"])
        record_property("loss_rate_browser", overall)
    media = call_media(admin, call)
    assert media["mode"] == "relay", media
    assert abs(media["callee"]["packetsLost"] - peer.dropped) <= 1, (media, peer.dropped)


def test_call_centre_without_loss_raises_no_high_loss_warning(admin: Client, page: WidgetPage, shop, server, script_src) -> None:
    """The control: the same call centre sending every frame; the widget's monitor sees no loss
    in several rounds and raises no warning at all."""
    peer = ImpairedRtpPeer()
    with impaired_call(admin, page, shop, server, script_src, peer) as call:
        time.sleep(MONITOR_ROUNDS_S)
        summary = page.stats()["summary"]
        assert summary["packetsReceived"] >= 300 and summary["packetsLost"] == 0, summary
        assert warnings_of(page) == [], page.events()
    media = call_media(admin, call)
    assert media["mode"] == "relay" and media["callee"]["packetsLost"] == 0 and peer.dropped == 0, media


def test_loss_is_concealed_on_the_transcoding_path(admin: Client, page: WidgetPage, shop, server, script_src) -> None:
    """The same 15 % loss when the browser offers Opus only: the gateway transcodes, conceals
    each missing frame (TranscodingPath: gaps of up to three frames) and numbers its Opus stream
    itself, so the browser receives a contiguous stream, counts no loss and the widget raises no
    high-loss warning. The loss shows in the gateway's media report of the call (the call
    centre's leg) instead. The loss warning is therefore only seen on the relay path."""
    peer = ImpairedRtpPeer(drop=lossy)
    with impaired_call(admin, page, shop, server, script_src, peer, opus_only=True) as call:
        time.sleep(MONITOR_ROUNDS_S)
        summary = page.stats()["summary"]
        assert summary["packetsReceived"] >= 300 and summary["packetsLost"] == 0, summary
        assert not [w for w in warnings_of(page) if w["type"] == "high-loss"], page.events()
    media = call_media(admin, call)
    assert media["mode"] == "transcode" and media["browserCodec"].startswith("opus"), media
    assert peer.dropped >= 50 and abs(media["callee"]["packetsLost"] - peer.dropped) <= 1, (media, peer.dropped)


def test_jittery_call_centre_raises_one_high_jitter_warning(admin: Client, page: WidgetPage, shop, server, script_src, record_property) -> None:
    """A call centre that sends its 60 ms PCMU frames in bursts 120 and 180 ms apart, with correct
    RTP timestamps and no loss. The relay path forwards each packet as it comes, so the browser's
    inbound-rtp jitter rises above 50 ms and the widget says so once (high-jitter, with the
    jitter in seconds); no loss warning."""
    peer = ImpairedRtpPeer(frame_ms=60, schedule=bursty)
    with impaired_call(admin, page, shop, server, script_src, peer) as call:
        wait_until(lambda: warnings_of(page), 12, message=lambda: f"no warning for bursty timing: {page.events()} {page.stats()['summary']}")
        time.sleep(4.5)
        warnings = warnings_of(page)
        assert [w["type"] for w in warnings] == ["high-jitter"], warnings
        summary = page.stats()["summary"]
        assert 0.05 < warnings[0]["jitter"] < 0.2, warnings
        assert 0.05 < summary["jitter"] < 0.2 and summary["packetsLost"] == 0, summary
        assert page.state() == "in-call"
        record_property("jitter_warned_s", warnings[0]["jitter"])
    assert call_media(admin, call)["mode"] == "relay"


def test_call_centre_with_steady_timing_raises_no_high_jitter_warning(admin: Client, page: WidgetPage, shop, server, script_src) -> None:
    """The control: the same 60 ms frames sent every 60 ms; the browser's jitter stays near zero
    and the widget raises no warning."""
    peer = ImpairedRtpPeer(frame_ms=60)
    with impaired_call(admin, page, shop, server, script_src, peer) as call:
        time.sleep(MONITOR_ROUNDS_S)
        summary = page.stats()["summary"]
        # Well under the warning's 0.05 s; scheduling on a loaded machine adds a few ms.
        assert summary["packetsReceived"] >= 100 and summary["jitter"] < 0.03, summary
        assert warnings_of(page) == [], page.events()
    assert call_media(admin, call)["mode"] == "relay"


def test_steady_60ms_frames_keep_their_timing_on_the_transcoding_path(admin: Client, page: WidgetPage, shop, server, script_src) -> None:
    """Steady 60 ms PCMU frames, transcoded to Opus for a browser that offers only Opus, reach
    the browser with timestamps 60 ms apart: jitter near zero, as on the relay path, and no
    audio discarded (stamped 20 ms apart, 60 of 101 packets were discarded and the jitter read 40 ms)."""
    peer = ImpairedRtpPeer(frame_ms=60)
    with impaired_call(admin, page, shop, server, script_src, peer, opus_only=True) as call:
        time.sleep(6)
        summary = page.stats()["summary"]
        assert summary["packetsReceived"] >= 60, summary
        jitter = summary["jitter"]
        discarded = page.js_async("""const done = arguments[arguments.length - 1];
            CallMe.getStats().then((r) => done((r.summary && r.summary.inbound && r.summary.inbound.packetsDiscarded) || 0));""")
    assert call_media(admin, call)["mode"] == "transcode"
    assert jitter < 0.03, f"the browser's jitter for steady 60 ms frames: {jitter} s"
    assert discarded <= 2, f"the browser discarded {discarded} of the transcoded packets"


# --------------------------------------------------------------------------------------------
# Errors the shopper must understand


# --------------------------------------------------------------------------------------------
# Video


def video_stats(page: WidgetPage) -> dict[str, dict]:
    """The browser's video RTP statistics (inbound-rtp and outbound-rtp of kind video)."""
    entries = page.js_async(
        """const done = arguments[arguments.length - 1];
           CallMe.getStats().then((r) => done(r.stats.filter((s) => (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') && s.kind === 'video')
             .map((s) => ({type: s.type, framesDecoded: s.framesDecoded || 0, framesEncoded: s.framesEncoded || 0,
                           frameWidth: s.frameWidth || 0, packetsReceived: s.packetsReceived || 0, packetsSent: s.packetsSent || 0,
                           pliCount: s.pliCount || 0, firCount: s.firCount || 0, nackCount: s.nackCount || 0,
                           keyFramesEncoded: s.keyFramesEncoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0, ssrc: s.ssrc}))),
             (e) => done([{type: 'error', error: String(e)}]));"""
    )
    return {entry["type"]: entry for entry in entries}


def wait_for_video_both_ways(page: WidgetPage, frames: int = 30, timeout: float = 20, detail=lambda: "") -> dict[str, dict]:
    """Waits until the browser has encoded and decoded `frames` video frames; returns the stats."""
    def flowing() -> bool:
        stats = video_stats(page)
        return stats.get("inbound-rtp", {}).get("framesDecoded", 0) >= frames and stats.get("outbound-rtp", {}).get("framesEncoded", 0) >= frames

    wait_until(flowing, timeout, message=lambda: f"video did not flow both ways: {video_stats(page)} {detail()}")
    return video_stats(page)


def invite_answer(page: WidgetPage, invite: str) -> str:
    """The body of the 2xx the widget received for its INVITE `invite` (matched by CSeq)."""
    cseq = header(invite, "CSeq")
    answers = [t for t in sip_in(page, "SIP/2.0 200") if header(t, "CSeq") == cseq]
    assert answers, f"no 2xx for {cseq}"
    return body(answers[0])


def media_sections(sdp: str) -> dict[str, str]:
    """Each m= section of an SDP by media type (the first of each)."""
    sections: dict[str, str] = {}
    for chunk in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        sections.setdefault(chunk.split(" ", 1)[0][2:], chunk)
    return sections


def test_camera_turned_on_during_a_call_goes_to_the_call_centre_and_back(admin: Client, page: WidgetPage, shop, server, script_src, tmp_path: Path) -> None:
    """A widget that allows video: in the call, the shopper turns the camera on. The widget's
    re-INVITE adds a bundled m=video; the gateway asks the call centre (SIPp) with a re-INVITE of
    its own (VP8 over RTP/AVP on a video port, with NACK, PLI and FIR feedback), and answers the
    browser from SIPp's answer: the video on the audio's transport, in its BUNDLE group, under an
    SSRC of its own. SIPp echoes the video, so the browser decodes its own camera coming back
    through the gateway in both directions; the audio goes on."""
    assert sipp_binary(), "sipp not found: apt-get install sip-tester (scripts/install-deps.sh)"
    uas = Sipp("uas_video_echo.xml", tmp_path, name="video", timeout_s=60, extra_args=["-rtp_echo"]).start()
    try:
        trunk = create_trunk(admin, name="video call centre", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "video shop", "destination": trunk["id"], "allowedOrigins": [shop.origin], "video": True})
        assert widget.status_code == 201, describe(widget)
        page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)
        assert "m=video" not in body(sip_out(page, "INVITE")[0]), "the call starts with audio only"

        camera = page.shadow("[data-action=video]")
        assert camera.is_displayed(), "a widget with video shows the camera button"
        camera.click()
        wait_until(lambda: len(sip_out(page, "INVITE")) >= 2, 10, message="the widget sent no re-INVITE for the camera")
        reoffer = sip_out(page, "INVITE")[1]
        assert media_sections(body(reoffer)).get("video"), body(reoffer)
        wait_until(lambda: camera.get_attribute("aria-pressed") == "true", 15, message=lambda: f"camera not on; SIP: {sip_in(page, 'SIP/2.0')[-3:]}")

        answer = invite_answer(page, reoffer)
        sections = media_sections(answer)
        audio, video = sections["audio"], sections["video"]
        audio_port, video_port = audio.split(" ")[1], video.split(" ")[1]
        assert video_port != "0" and video_port == audio_port, f"the video is not on the audio's transport: {answer}"
        assert re.search(r"^a=rtpmap:\d+ VP8/90000", video, re.M), video
        assert re.search(r"^a=rtcp-fb:\d+ nack pli", video, re.M) and re.search(r"^a=rtcp-fb:\d+ ccm fir", video, re.M), video
        mids = [sdp_value(section, "mid") for section in (audio, video)]
        group = sdp_value(answer, "group")
        assert group and group.split() == ["BUNDLE", *mids], (group, mids)
        audio_ssrc, video_ssrc = sdp_value(audio, "ssrc").split()[0], sdp_value(video, "ssrc").split()[0]
        assert audio_ssrc != video_ssrc, answer
        assert "sendrecv" in video, video

        # The camera goes out, comes back from the call centre's echo, and is decoded.
        stats = wait_for_video_both_ways(page)
        assert stats["inbound-rtp"]["frameWidth"] > 0, stats
        wait_until(lambda: page.js("return document.querySelector('callme-button').shadowRoot.querySelector('video.remote').videoWidth") > 0, 10,
                   message="the remote video element shows nothing")
        inbound, outbound, _ = measure_audio(page, 1.0)
        assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, f"the audio stopped with the video: {inbound} {outbound}"

        page.js("CallMe.hangup()")
        page.wait_state("ended", timeout=10)
        assert uas.wait(timeout=30) == 0, uas.report()
        # The call's media report counts the video relayed each way.
        call_id = re.search(r"invite +(cal_[A-Za-z0-9_-]+)", uas.log_file.read_text()).group(1)
        media = wait_until(lambda: get_call(admin, call_id).get("media"), 10, message="no media report")
        video = media.get("video")
        assert video and video["codec"] == "VP8/90000", media
        assert video["packetsToCallee"] > 30 and video["packetsToBrowser"] > 30, video
    finally:
        uas.stop()



def gateway_offers_to_sipp(uas: Sipp) -> list[str]:
    """The SDP of each INVITE SIPp received (the call's, then the gateway's re-INVITEs), from
    SIPp's message log."""
    log = uas.message_file.read_text(errors="replace")
    received = [block.split("\n", 1)[1].lstrip() for block in re.split(r"\r?\n(?=\w+ message (?:received|sent))", log)
                if re.match(r"\w+ message received", block) and "\n" in block]
    return [body(m.replace("\r\n", "\n").replace("\n", "\r\n")) for m in received if m.startswith("INVITE ")]


def test_video_feedback_goes_between_the_browser_and_the_call_centre(admin: Client, page: WidgetPage, shop, server, script_src, tmp_path: Path) -> None:
    """The call centre's video is a test-owned peer (media_support.VideoEchoPeer): it sends the
    browser's VP8 back under an SSRC of its own, so Chromium decodes it. Loss and keyframe
    requests then cross the gateway with the SSRCs rewritten. When the peer leaves packets out,
    Chromium NACKs them to the gateway about the gateway's video SSRC, and the gateway passes a
    generic NACK (empty RR first) to the peer's RTCP port about the peer's SSRC, naming the
    missing sequence numbers (the peer sends them again). When the peer sends a PLI, then a
    FIR, about the SSRC the gateway sends it video with, Chromium's encoder gets each (its
    outbound pliCount, then firCount, rises) and encodes keyframes. Without loss and without
    requests, none of these counts moves."""
    assert sipp_binary(), "sipp not found: apt-get install sip-tester (scripts/install-deps.sh)"
    with VideoEchoPeer(ssrc=0x11223344) as peer:
        uas = Sipp("uas_video_media_peer.xml", tmp_path, name="video-feedback", timeout_s=60,
                   keys={"rtp_peer_video_port": str(peer.port)}, extra_args=["-rtp_echo"]).start()
        try:
            trunk = create_trunk(admin, name="video feedback call centre", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
            widget = admin.post("/v1/widgets", {"name": "video feedback shop", "destination": trunk["id"], "allowedOrigins": [shop.origin], "video": True})
            assert widget.status_code == 201, describe(widget)
            page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
            start_call_by_click(page)
            page.wait_state("in-call", timeout=20)
            camera = page.shadow("[data-action=video]")
            camera.click()
            wait_until(lambda: len(sip_out(page, "INVITE")) >= 2, 10, message="the widget sent no re-INVITE for the camera")
            wait_until(lambda: camera.get_attribute("aria-pressed") == "true", 15, message=lambda: f"camera not on; SIP: {sip_in(page, 'SIP/2.0')[-3:]}")

            # The SSRC the browser receives the call centre's video under, and where the
            # gateway's video RTCP is (its video port + 1, or the port itself with rtcp-mux).
            browser_video = media_sections(invite_answer(page, sip_out(page, "INVITE")[1]))["video"]
            assert re.search(r"^a=rtcp-fb:(\d+) nack\r?$", browser_video, re.M), browser_video
            gateway_to_browser = int(sdp_value(browser_video, "ssrc").split()[0])
            offers = gateway_offers_to_sipp(uas)
            assert len(offers) == 2 and "m=video" in offers[1], offers
            sipp_video = media_sections(offers[1])["video"]
            gateway_rtcp_port = int(sipp_video.split(" ")[1]) + (0 if "a=rtcp-mux" in sipp_video else 1)
            if sdp_value(sipp_video, "rtcp"):
                gateway_rtcp_port = int(sdp_value(sipp_video, "rtcp").split()[0])

            stats = wait_for_video_both_ways(page, detail=lambda: f"peer got {peer.rtp_received} RTP")
            browser_ssrc = stats["outbound-rtp"]["ssrc"]
            assert stats["inbound-rtp"]["ssrc"] == gateway_to_browser, (stats, gateway_to_browser)
            assert len(peer.gateway_ssrcs) == 1, f"the gateway sent video under {peer.gateway_ssrcs}"
            gateway_to_peer = next(iter(peer.gateway_ssrcs))
            assert gateway_to_peer not in (browser_ssrc, peer.ssrc, gateway_to_browser), (gateway_to_peer, browser_ssrc, gateway_to_browser)
            print(f"SSRCs: browser {browser_ssrc:#010x}, gateway to peer {gateway_to_peer:#010x}, peer {peer.ssrc:#010x}, "
                  f"gateway to browser {gateway_to_browser:#010x}; gateway video RTCP port {gateway_rtcp_port}")

            # Without loss or requests, nothing moves.
            quiet = video_stats(page)
            time.sleep(2.0)
            still = video_stats(page)
            for kind, name in (("outbound-rtp", "pliCount"), ("outbound-rtp", "firCount"), ("inbound-rtp", "nackCount")):
                assert still[kind][name] == quiet[kind][name], f"{kind} {name} moved with no loss and no request: {quiet} {still}"
            assert peer.nacks() == [], peer.nacks()
            print(f"quiet 2 s: outbound pli {still['outbound-rtp']['pliCount']} fir {still['outbound-rtp']['firCount']} "
                  f"keyframes {quiet['outbound-rtp']['keyFramesEncoded']}->{still['outbound-rtp']['keyFramesEncoded']}; "
                  f"inbound nack {still['inbound-rtp']['nackCount']}")

            # 1. The peer leaves three packets out: Chromium's NACK reaches it about its own SSRC.
            peer.skip(3)
            wait_until(lambda: len(peer.skipped) == 3, 5, message="the peer had no video to leave out")
            skipped = list(peer.skipped)

            def nacked() -> list:
                return [m for m in peer.nacks() if set(skipped) & set(m.lost)]

            nacks = wait_until(nacked, 5, message=lambda: f"no NACK for {skipped} at the peer; feedback {peer.feedback}")
            lost = {sequence for m in nacks for sequence in m.lost}
            assert set(skipped) <= lost, (skipped, nacks)
            assert all(m.media == peer.ssrc and m.sender == gateway_to_peer for m in peer.nacks()), peer.nacks()
            nack_compounds = [c for c in peer.compounds if any(t == 205 for t, _, _ in c)]
            assert all(c[0] == (201, 0, gateway_to_peer) for c in nack_compounds), f"not an empty RR first: {nack_compounds}"
            ports = {port for port, m in peer.feedback}
            assert ports == {"rtp" if gateway_rtcp_port == int(sipp_video.split(" ")[1]) else "rtcp"}, ports
            wait_until(lambda: video_stats(page)["inbound-rtp"]["nackCount"] > still["inbound-rtp"]["nackCount"], 5,
                       message=lambda: f"Chromium counts no NACK: {video_stats(page)}")
            print(f"NACK: skipped {skipped}, peer got {len(peer.nacks())} NACK(s) naming {sorted(lost)}, "
                  f"retransmitted {peer.retransmitted}, compound {[(t, n, hex(x)) for t, n, x in nack_compounds[0]]}; inbound nackCount {video_stats(page)['inbound-rtp']['nackCount']}")

            # 2. A PLI from the peer about the gateway's SSRC reaches Chromium's encoder; a FIR does not come with it.
            before = video_stats(page)["outbound-rtp"]
            peer.send_pli(gateway_to_peer, gateway_rtcp_port)
            wait_until(lambda: video_stats(page)["outbound-rtp"]["pliCount"] > before["pliCount"], 5,
                       message=lambda: f"Chromium's pliCount did not rise: {video_stats(page)}")
            time.sleep(0.5)
            after_pli = video_stats(page)["outbound-rtp"]
            assert after_pli["pliCount"] == before["pliCount"] + 1 and after_pli["firCount"] == before["firCount"], (before, after_pli)

            # 3. A FIR likewise.
            peer.send_fir(gateway_to_peer, gateway_rtcp_port)
            wait_until(lambda: video_stats(page)["outbound-rtp"]["firCount"] > after_pli["firCount"], 5,
                       message=lambda: f"Chromium's firCount did not rise: {video_stats(page)}")
            wait_until(lambda: video_stats(page)["outbound-rtp"]["keyFramesEncoded"] > before["keyFramesEncoded"], 5,
                       message=lambda: f"no keyframe followed: {video_stats(page)}")
            time.sleep(0.5)
            after_fir = video_stats(page)["outbound-rtp"]
            assert after_fir["firCount"] == after_pli["firCount"] + 1 and after_fir["pliCount"] == after_pli["pliCount"], (after_pli, after_fir)
            print(f"PLI/FIR: outbound pliCount {before['pliCount']}->{after_pli['pliCount']}->{after_fir['pliCount']}, "
                  f"firCount {before['firCount']}->{after_pli['firCount']}->{after_fir['firCount']}, "
                  f"keyFramesEncoded {before['keyFramesEncoded']}->{after_pli['keyFramesEncoded']}->{after_fir['keyFramesEncoded']}")
            assert page.state() == "in-call"

            page.js("CallMe.hangup()")
            page.wait_state("ended", timeout=10)
            assert uas.wait(timeout=30) == 0, uas.report()
        finally:
            uas.stop()

def gateway_answer_to_sipp(uas: Sipp) -> str:
    """The SDP of the last 200 OK SIPp received for an INVITE (its re-INVITE's answer), from
    SIPp's message log; "" before there is one."""
    log = uas.message_file.read_text(errors="replace")
    received = [block.split("\n", 1)[1] for block in re.split(r"\r?\n(?=\w+ message (?:received|sent))", log)
                if re.match(r"\w+ message received", block) and "\n" in block]
    answers = [m for m in received if m.lstrip().startswith("SIP/2.0 200") and re.search(r"^CSeq: *\d+ INVITE", m, re.M | re.I)]
    return body(answers[-1].lstrip().replace("\r\n", "\n").replace("\n", "\r\n")) if answers else ""


@pytest.mark.parametrize("share", [True, False], ids=["camera-shared", "camera-declined"])
def test_call_centre_asks_for_video_and_the_shopper_decides(share: bool, admin: Client, page: WidgetPage, shop, server, script_src, tmp_path: Path) -> None:
    """SIPp re-INVITEs to add video to an audio call. The gateway does not answer it at once: it
    re-offers to the widget with a video m= line bundled with the audio, the widget asks the
    shopper for the camera (the consent panel), and only the browser's answer gives SIPp's: the
    video on a video port of the gateway's, sendrecv when the shopper shares the camera (then the
    video flows both ways through SIPp's echo), inactive when the shopper declines (no camera is
    opened, the audio goes on)."""
    assert sipp_binary(), "sipp not found: apt-get install sip-tester (scripts/install-deps.sh)"
    uas = Sipp("uas_video_upgrade.xml", tmp_path, name="upgrade", duration_ms=1500, timeout_s=60, extra_args=["-rtp_echo"]).start()
    try:
        trunk = create_trunk(admin, name="video asking call centre", uri=f"sip:127.0.0.1:{uas.port}", transport="udp", codecs=["PCMU"])
        widget = admin.post("/v1/widgets", {"name": "video upgrade shop", "destination": trunk["id"], "allowedOrigins": [shop.origin], "video": True})
        assert widget.status_code == 201, describe(widget)
        page.open(shop.url(widget=widget.json()["id"], gateway=server.url, script_src=script_src))
        start_call_by_click(page)
        page.wait_state("in-call", timeout=20)

        consent = page.shadow(".consent")
        wait_until(consent.is_displayed, 15, message="the widget did not ask for the camera")
        assert page.text("#consent-text") == "The agent would like to turn on video. Share your camera?"
        if share:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.driver.save_screenshot(str(SCREENSHOTS / "video-consent-en.png"))
        offer = body(sip_in(page, "INVITE ")[0])
        video_offer = media_sections(offer)["video"]
        assert video_offer.split(" ")[1] == media_sections(offer)["audio"].split(" ")[1], "the video is offered on the audio's transport"
        assert sdp_value(offer, "group").split()[1:] == [sdp_value(media_sections(offer)["audio"], "mid"), sdp_value(video_offer, "mid")]
        assert re.search(r"^a=rtpmap:\d+ VP8/90000", video_offer, re.M) and sdp_value(video_offer, "setup") == "actpass", video_offer
        assert gateway_answer_to_sipp(uas) == "", "the gateway answered the call centre before the shopper decided"
        page.shadow("[data-action=allow-camera]" if share else "[data-action=decline-camera]").click()

        answers = wait_until(lambda: [t for t in sip_out(page, "SIP/2.0 200") if "INVITE" in (header(t, "CSeq") or "")], 15,
                             message="the widget did not answer the video offer")
        answer = body(answers[0])
        browser_video = media_sections(answer)["video"]
        assert ("a=sendrecv" in browser_video) == share and ("a=inactive" in browser_video) == (not share), browser_video
        wait_until(lambda: "m=video" in gateway_answer_to_sipp(uas), 10, message="the call centre got no answer with video")
        sipp_video = media_sections(gateway_answer_to_sipp(uas))["video"]
        assert sipp_video.split(" ")[1] != "0", sipp_video
        assert ("a=sendrecv" in sipp_video) == share and ("a=inactive" in sipp_video) == (not share), sipp_video

        if share:
            wait_for_video_both_ways(page)
            assert page.shadow("[data-action=video]").get_attribute("aria-pressed") == "true"
            time.sleep(0.5)
            page.driver.save_screenshot(str(SCREENSHOTS / "video-call-en.png"))
        else:
            time.sleep(1.0)
            stats = video_stats(page)
            assert stats.get("outbound-rtp", {}).get("framesEncoded", 0) == 0, stats
            assert page.shadow("[data-action=video]").get_attribute("aria-pressed") == "false"
        inbound, outbound, _ = measure_audio(page, 1.0)
        assert inbound > ENERGY_THRESHOLD and outbound > ENERGY_THRESHOLD, f"the audio stopped: {inbound} {outbound}"
        assert page.state() == "in-call"

        page.js("CallMe.hangup()")
        page.wait_state("ended", timeout=10)
        assert uas.wait(timeout=30) == 0, uas.report()
    finally:
        uas.stop()


def test_denied_microphone_shows_a_clear_message(denying_browser, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    call_centre.reset("answer")
    deny_media(denying_browser, shop.origin)
    page = WidgetPage(denying_browser).open(shop_url(shop, widget, server, script_src))
    assert page.js("return navigator.permissions.query({name: 'microphone'}).then((p) => p.state)") == "denied"
    page.shadow(".launcher").click()
    page.wait_state("ended", timeout=15)
    assert page.events()[-1]["detail"]["cause"] == "microphone-denied", page.events()
    assert "Microphone access is blocked" in page.text(".message")
    assert not call_centre.invites(), "a call was placed without a microphone"


def test_page_origin_not_allowed(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    # The same page under http://localhost:… — not in the widget's allowedOrigins.
    page.open(shop.url(origin=shop.foreign_origin, widget=widget["id"], gateway=server.url, script_src=script_src))
    session = requests.post(f"{server.url}/v1/widgets/{widget['id']}/sessions", json={"context": {}}, headers={"Origin": shop.foreign_origin}, timeout=5)
    assert session.status_code == 403 and session.headers["Content-Type"].startswith("application/problem+json"), describe(session)
    page.shadow(".launcher").click()
    page.wait_state("ended", timeout=15)
    assert page.events()[-1]["detail"]["cause"] == "origin-not-allowed", page.events()
    assert page.text(".message") == "Calling is not enabled on this website."
    assert not call_centre.invites()


# --------------------------------------------------------------------------------------------
# Accessibility of the shadow markup

A11Y_CHECK = """
const host = document.querySelector('callme-button'), root = host.shadowRoot, problems = [];
const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
const name = (el) => {
  if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
  const by = el.getAttribute('aria-labelledby');
  if (by) return by.split(/\\s+/).map((id) => (root.getElementById(id) || {}).textContent || '').join(' ').trim();
  return (el.textContent || '').trim();
};
const ROLES = new Set(['status', 'timer', 'group', 'region', 'img', 'button', 'dialog', 'alert', 'presentation', 'none']);
const BOOLEAN = new Set(['true', 'false']);
for (const el of root.querySelectorAll('*')) {
  const role = el.getAttribute('role');
  if (role && !ROLES.has(role)) problems.push(`unknown role ${role} on ${el.tagName}`);
  for (const attr of el.getAttributeNames()) {
    if (!attr.startsWith('aria-')) continue;
    const value = el.getAttribute(attr);
    if (['aria-pressed', 'aria-expanded', 'aria-hidden', 'aria-atomic'].includes(attr) && !BOOLEAN.has(value)) problems.push(`${attr}=${value}`);
    if (attr === 'aria-live' && !['polite', 'assertive', 'off'].includes(value)) problems.push(`aria-live=${value}`);
    if (['aria-controls', 'aria-labelledby', 'aria-describedby'].includes(attr)) {
      for (const id of value.split(/\\s+/)) if (!root.getElementById(id)) problems.push(`${attr} refers to a missing #${id}`);
    }
    if (!['aria-pressed', 'aria-expanded', 'aria-hidden', 'aria-atomic', 'aria-live', 'aria-controls', 'aria-labelledby', 'aria-describedby', 'aria-label'].includes(attr)) problems.push(`unexpected ${attr}`);
  }
}
const buttons = Array.from(root.querySelectorAll('button')).filter(visible);
for (const b of buttons) {
  if (!name(b)) problems.push(`button without an accessible name: ${b.outerHTML.slice(0, 120)}`);
  if (b.tabIndex < 0) problems.push(`button out of the tab order: ${name(b)}`);
}
for (const svg of root.querySelectorAll('svg')) if (svg.getAttribute('aria-hidden') !== 'true') problems.push('svg not hidden from assistive technology');
const live = root.querySelector('[aria-live=polite]');
if (!live) problems.push('no polite live region');
// Contrast of every visible text against its effective background.
const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const background = (el) => {
  for (let node = el; node; node = node.parentElement || (node.getRootNode() && node.getRootNode().host)) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c && c[3] > 0.5) return c;
    if (node === document.documentElement) break;
  }
  return [255, 255, 255, 1];
};
const checked = [];
for (const el of root.querySelectorAll('*')) {
  const text = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
  if (!text || !visible(el)) continue;
  const fg = parse(getComputedStyle(el).color), bg = background(el);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05);
  checked.push({text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100});
  if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}:1 for "${text.slice(0, 40)}"`);
}
return {problems, checked, buttons: buttons.map(name), live: live && live.textContent.trim()};
"""


def test_widget_markup_is_accessible(page: WidgetPage, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    page.open(shop_url(shop, widget, server, script_src))
    results = {}
    results["idle"] = page.js(A11Y_CHECK)
    assert results["idle"]["buttons"] == ["Call us"], results["idle"]
    page.shadow(".launcher").click()
    page.wait_state("in-call", timeout=20)
    results["in-call"] = page.js(A11Y_CHECK)
    assert results["in-call"]["live"] == "Connected"
    assert set(results["in-call"]["buttons"]) >= {"Mute", "Keypad", "Hang up"}, results["in-call"]
    page.shadow("[data-action=keypad]").click()
    results["keypad"] = page.js(A11Y_CHECK)
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    results["ended"] = page.js(A11Y_CHECK)
    assert results["ended"]["live"].startswith("Call ended"), results["ended"]
    for state, result in results.items():
        assert not result["problems"], f"{state}: {result['problems']}"
        assert result["checked"], f"{state}: no text was checked"


def test_low_contrast_shop_colours_are_corrected(admin: Client, page: WidgetPage, shop, widget, server, script_src) -> None:
    """A shop that picks a text colour unreadable on its primary colour still gets 4.5:1."""
    response = admin.post("/v1/widgets", {
        "name": "pale shop", "destination": widget["destination"], "allowedOrigins": [shop.origin],
        "appearance": {"primaryColor": "#FDE68A", "textColor": "#FFFFFF", "shape": "round"},
    })
    assert response.status_code == 201, describe(response)
    page.open(shop.url(widget=response.json()["id"], gateway=server.url, script_src=script_src, lang="de"))
    result = page.js(A11Y_CHECK)
    assert result["buttons"] == ["Rufen Sie uns an"], result  # round: the label is visually hidden but named
    colour = page.js("return getComputedStyle(document.querySelector('callme-button').shadowRoot.querySelector('.launcher')).color")
    assert colour == "rgb(17, 24, 39)", colour  # near-black instead of white on pale yellow
    assert not result["problems"], result["problems"]


# --------------------------------------------------------------------------------------------
# Screenshots of every state in English and German (committed in WebClient/screenshots/)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_screenshots_of_each_state(lang: str, page: WidgetPage, denying_browser, shop, widget, server, script_src, call_centre: CallCentre) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(state: str, driver=None) -> None:
        path = SCREENSHOTS / f"{state}-{lang}.png"
        (driver or page.driver).save_screenshot(str(path))
        shots.append(path)

    url = shop_url(shop, widget, server, script_src, lang=lang)
    # Still pictures: the ringing indicator's pulse stops when the user prefers reduced motion.
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
    call_centre.reset("ring")
    page.open(url)
    shot("idle")
    page.shadow(".launcher").click()
    page.wait_state("ringing", timeout=20)
    shot("ringing")
    call_centre.answer_ringing()
    page.wait_state("in-call", timeout=20)
    wait_until(lambda: page.text(".timer") not in ("", "00:00"), 5)
    shot("in-call")
    # The agent puts the shopper on hold (a re-INVITE that the gateway passes on to the widget).
    held = call_centre.reinvite(call_centre.only_call(), "sendonly")
    assert held.status == 200, held.text
    page.wait_state("hold")
    shot("hold")
    page.shadow("[data-action=hangup]").click()
    page.wait_state("ended")
    # Focus rings belong to keyboard use; the picture shows the panel as a mouse user sees it.
    page.js("document.activeElement && document.activeElement.blur()")
    shot("ended")

    deny_media(denying_browser, shop.origin)
    denied = WidgetPage(denying_browser).open(url)
    denied.shadow(".launcher").click()
    denied.wait_state("ended", timeout=15)
    denied.js("document.activeElement && document.activeElement.blur()")
    shot("error", denying_browser)

    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    texts = {"en": ("Call us", "Could not call"), "de": ("Rufen Sie uns an", "Anruf nicht möglich")}[lang]
    assert page.text(".launcher") == texts[0]
    assert denied.text(".status") == texts[1]
    for path in shots:
        assert path.stat().st_size > 5000, f"{path} looks empty"

