"""The B2BUA with two signalling threads (`--sip-threads 2`) against SIPp over UDP.

Each thread has its own socket on the SIP port; the kernel spreads datagrams over the sockets by
source address, and each message goes to the thread that owns its Call-ID (FNV-1a of the Call-ID,
modulo the thread count), which makes its outbound legs' Call-IDs hash to itself. So both legs
of a call are on one thread, whichever socket their messages arrive on.

The main scenarios of test_sip_b2bua.py run again here against a two-thread server, then calls
in bulk check that the calls really are spread over both threads: the shards of the callee legs'
Call-IDs (what the call centre saw) must match those of the caller legs' (what SIPp made), and
both threads must have had calls.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from sip_support import assert_success, list_calls, run_pair
from support import Client, ServerProcess, describe

# The scenarios of the one-thread module, collected again in this module (against its server).
from test_sip_b2bua import (  # noqa: F401  (fixtures and tests re-collected here)
    _need_sipp,
    check_call,
    sip_port,
    test_api_hangup_of_answered_call,
    test_call_bridged_and_caller_hangs_up,
    test_callee_failure_mapping,
    test_callee_hangs_up,
    test_caller_cancels_while_ringing,
    test_lossy_udp_ten_calls,
    test_reinvite_from_callee_is_relayed,
    test_reinvite_from_caller_is_relayed,
    trunks,
    uac_for,
    uas_for,
)

THREADS = 2
SERVER_ARGS = ["--session-rate-limit", "10000", "--sip-threads", str(THREADS)]


def shard(call_id: str, count: int = THREADS) -> int:
    """The gateway's owner of a Call-ID: FNV-1a (64-bit) of its UTF-8 bytes, modulo `count`."""
    value = 0xCBF29CE484222325
    for byte in call_id.encode():
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value % count


def test_calls_spread_over_both_threads(tmp_path: Path, admin: Client, sip_port: int, trunks) -> None:
    calls = 120
    uas = uas_for(tmp_path, "uas_answer_at_once.xml", calls=calls, timeout_s=40)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_call.xml", sip_port, calls=calls, rate=60, rate_period_ms=1000, timeout_s=40)
    run_pair(uas, uac)
    assert_success(uas, uac)

    caller_ids = {m.call_id for m in uac.sent("INVITE")}
    callee_ids = {m.call_id for m in uas.received("INVITE")}
    assert len(caller_ids) == calls and len(callee_ids) == calls, (len(caller_ids), len(callee_ids))
    caller_shards = Counter(shard(i) for i in caller_ids)
    callee_shards = Counter(shard(i) for i in callee_ids)
    # Each callee leg is made by the thread that owns its caller leg, with a Call-ID it owns.
    assert callee_shards == caller_shards, f"callee legs by thread {dict(callee_shards)}, caller legs {dict(caller_shards)}"
    assert all(caller_shards[index] > 0 for index in range(THREADS)), f"calls by thread: {dict(caller_shards)}"

    deadline = time.monotonic() + 15
    while True:
        mine = [c for c in list_calls(admin) if (c.get("source") or {}).get("trunkId") == t.pbx["id"]]
        if len(mine) >= calls and all(c.get("status") == "completed" for c in mine) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == calls, f"{len(mine)} calls recorded for {calls} placed"
    bad = [c for c in mine if c.get("status") != "completed" or c.get("hangupBy") != "caller"]
    assert not bad, f"calls not completed by the caller: {bad[:3]}"


def test_api_hangs_up_calls_on_either_thread(tmp_path: Path, server: ServerProcess, admin: Client, sip_port: int,
                                             trunks) -> None:
    """Twelve answered calls at once, each hung up through the API, whichever thread has it."""
    calls = 12
    uas = uas_for(tmp_path, "uas_answer.xml", calls=calls, timeout_s=30)
    t = trunks(uas.port)
    uac = uac_for(tmp_path, "uac_callee_bye.xml", sip_port, calls=calls, rate=20, rate_period_ms=1000, timeout_s=30)
    uas.start()
    uac.start()
    hung_up: set[str] = set()
    try:
        deadline = time.monotonic() + 20
        while len(hung_up) < calls and time.monotonic() < deadline:
            live = [
                c for c in list_calls(admin, status="in-progress")
                if (c.get("source") or {}).get("trunkId") == t.pbx["id"] and c["id"] not in hung_up
            ]
            for call in live:
                response = admin.post(f"/v1/calls/{call['id']}/hangup")
                assert response.status_code == 200, describe(response)
                hung_up.add(call["id"])
            time.sleep(0.05)
    finally:
        uac.wait()
        uas.wait()
    assert len(hung_up) == calls, f"{len(hung_up)} of {calls} calls were seen in progress and hung up"
    assert_success(uas, uac)
    caller_shards = Counter(shard(m.call_id) for m in uac.sent("INVITE"))
    assert all(caller_shards[index] > 0 for index in range(THREADS)), f"calls by thread: {dict(caller_shards)}"
    for call_id in hung_up:
        check_call(admin, call_id, status="completed", trunks=t, sip_code=200, hangup_by="api", answered=True)
