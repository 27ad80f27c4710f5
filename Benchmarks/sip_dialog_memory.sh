#!/usr/bin/env bash
# Memory per established dialog: the gateway's resident memory with N calls up (trunk -> trunk,
# SIP only, no media anchored), against the same process before and after.
#
# Starts the server (SWITCHBOARD_BIN, default .build-release/release/switchboard if built, else
# .build/release/switchboard, else .build/debug/switchboard) on free ports with a temporary data
# dir, a SIPp UAS as the call centre (Tests/EndToEnd/sipp/uas_answer_at_once.xml), trunks
# "callcentre" (to the UAS) and "pbx" (inbound from 127.0.0.1, destination "callcentre"), then:
#  1. warm-up: BENCH_WARMUP calls (100) through the gateway, 0 s hold; waits BENCH_SETTLE
#     seconds (35: the 32 s of RFC 3261 Timer J / RFC 6026 Timer L for UDP, plus margin) so their
#     transactions are gone, then reads VmRSS from /proc/<pid>/status ("before");
#  2. BENCH_CALLS calls (5000) at BENCH_RATE calls/s (200) with a long hold (BENCH_HOLD seconds,
#     default set-up time + 2 × BENCH_SETTLE + 120); waits until the UAC's statistics show all of
#     them created and none ended, and the gateway lists them all as in-progress
#     (GET /v1/calls?status=in-progress, paged); reads VmRSS ("established"); waits BENCH_SETTLE
#     more so the INVITE transactions of the last calls have ended, checks the count again and
#     reads VmRSS ("with N calls", the figure per call is taken from this one);
#  3. SIPp hangs every call up (BYE from the caller at the end of the hold); once the UAC has
#     finished and BENCH_SETTLE seconds have passed, reads VmRSS ("after").
#  4. with BENCH_ROUNDS=2 (the default), steps 2 and 3 again: the allocator need not give freed
#     memory back to the system, so RSS after the hang-up may stay near the peak; a second round
#     that does not grow past the first shows the memory was freed and reused, one that grows by
#     as much again would be a leak.
# Each reading except "established" is taken twice: VmRSS as it is, then VmRSS after the server
# has run malloc_trim(0) (called through gdb; BENCH_TRIM=0 skips it). The plain figure counts all
# the calls made the process map, including the peak of transactions that were alive at once
# during set-up (so it depends on the rate); the trimmed one is the memory the held calls still
# use. Prints both, KiB per call (a B2BUA call is two SIP dialogs, the caller leg and the callee
# leg, plus the call record) and KiB per dialog (half of that).
#
# The server runs with --max-call-duration and --media-timeout well beyond the hold, so no call is
# ended by the gateway; SIPp retransmits only until a transaction is answered and has no receive
# timeout, so the held calls stay up. SIPp statistics and logs and the server's logs are kept in
# Benchmarks/.out/sip-memory/ (BENCH_OUT sets another directory, for runs side by side).
# Exit status: 0 when every call was established and ended cleanly; 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
scenarios=$repo/Tests/EndToEnd/sipp
calls=${BENCH_CALLS:-5000}
rate=${BENCH_RATE:-200}
warmup=${BENCH_WARMUP:-100}
settle=${BENCH_SETTLE:-35}
rounds=${BENCH_ROUNDS:-2}
trim=${BENCH_TRIM:-1}
setup_s=$(( (calls + rate - 1) / rate ))
hold=${BENCH_HOLD:-$(( setup_s + 2 * settle + 120 ))}

die() { echo "sip_dialog_memory: $*" >&2; exit 1; }
say() { echo "sip_dialog_memory: $*" >&2; }

if [ -n "${SWITCHBOARD_BIN:-}" ]; then
    bin=$SWITCHBOARD_BIN
elif [ -x "$repo/.build-release/release/switchboard" ]; then
    bin=$repo/.build-release/release/switchboard
elif [ -x "$repo/.build/release/switchboard" ]; then
    bin=$repo/.build/release/switchboard
else
    bin=$repo/.build/debug/switchboard
fi
[ -x "$bin" ] || die "server binary $bin not found (swift build [-c release], or set SWITCHBOARD_BIN)"
command -v sipp >/dev/null || die "sipp not found (apt-get install sip-tester)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"
if [ "$trim" = 1 ] && ! command -v gdb >/dev/null; then trim=0; say "gdb not found: no malloc_trim figures (apt-get install gdb)"; fi

# free_port, wait_udp_bound, stop_pid
. "$here/sip_common.sh"

out=${BENCH_OUT:-$here/.out/sip-memory}
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
http_port=$(free_port)
sip_port=$(free_port)
while [ "$sip_port" = "$http_port" ]; do sip_port=$(free_port); done
uas_port=$(free_port)
key=sbk_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
base=http://127.0.0.1:$http_port
server_pid=
uas_pid=
uac_pid=


cleanup() {
    stop_pid "$uac_pid"
    stop_pid "$uas_pid"
    stop_pid "$server_pid"
    rm -rf "$work"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }
# VmRSS after the server's malloc_trim(0) (through gdb): the pages the allocator holds free go back
# to the system, so what remains is the memory in use. 0 when BENCH_TRIM=0 or gdb is missing.
trimmed_kib() {
    if [ "$trim" = 1 ]; then
        gdb -p "$server_pid" -batch -nx -ex 'call (int)malloc_trim(0)' >>"$out/gdb.log" 2>&1 || die "gdb could not call malloc_trim; see $out/gdb.log"
        rss_kib
    else
        echo 0
    fi
}

# -- the gateway ---------------------------------------------------------------------------------

limit_s=$(( hold * 4 + 3600 ))
SWITCHBOARD_BOOTSTRAP_KEY=$key "$bin" serve \
    --http-host 127.0.0.1 --http-port "$http_port" --sip-port "$sip_port" \
    --data-dir "$work/data" --max-call-duration "$limit_s" --media-timeout "$limit_s" \
    >"$out/server.stdout.log" 2>"$out/server.stderr.log" &
server_pid=$!

ready=
for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || die "server exited during startup; see $out/server.stderr.log"
    if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then ready=1; break; fi
    sleep 0.1
done
[ -n "$ready" ] || die "server not ready after 60 s; see $out/server.stderr.log"

# -- the call centre -------------------------------------------------------------------------------
# Bounded by -timeout (the whole benchmark cannot take longer) and stopped at the end.

uas_timeout=$(( warmup + (hold + setup_s * 4 + settle * 4) * rounds + 600 ))
sipp -sf "$scenarios/uas_answer_at_once.xml" -i 127.0.0.1 -p "$uas_port" -t u1 \
    -timeout "${uas_timeout}s" -nostdin -max_socket 65000 \
    -trace_err -error_file "$out/uas.errors.log" -trace_stat -stf "$out/uas.stat.csv" -fd 1 \
    >"$out/uas.stdout.log" 2>&1 &
uas_pid=$!
wait_udp_bound "$uas_port" || die "the SIPp UAS did not bind 127.0.0.1:$uas_port; see $out/uas.stdout.log"

api() { # method path [curl args]
    local method=$1 path=$2
    shift 2
    curl -fsS -X "$method" "$base$path" -H "Authorization: Bearer $key" -H "Content-Type: application/json" "$@"
}
json_id() { python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'; }

callcentre_id=$(api POST /v1/trunks -d "{\"name\":\"callcentre\",\"uri\":\"sip:127.0.0.1:$uas_port\",\"transport\":\"udp\"}" | json_id) \
    || die "could not create the callcentre trunk"
api POST /v1/trunks -d "{\"name\":\"pbx\",\"uri\":\"sip:127.0.0.1:9\",\"transport\":\"udp\",\"inbound\":{\"allowedSources\":[\"127.0.0.1/32\"],\"destination\":\"$callcentre_id\"}}" \
    >/dev/null || die "could not create the pbx trunk"

# The number of calls the gateway lists as in-progress (pages of 100).
in_progress() {
    local total=0 cursor= page
    while :; do
        page=$(api GET "/v1/calls?status=in-progress&limit=100${cursor:+&after=$cursor}") || { echo -1; return; }
        read -r count cursor < <(python3 -c '
import json, sys
page = json.load(sys.stdin)
print(len(page["data"]), page.get("nextCursor") or "")' <<<"$page")
        total=$(( total + count ))
        [ -n "$cursor" ] || break
    done
    echo "$total"
}

# The last row of a SIPp statistics file as "created current successful failed".
uac_counts() { # stat.csv
    python3 - "$1" <<'EOF'
import csv, sys
try:
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    last = rows[-1]
    print(int(last["OutgoingCall(C)"]), int(last["CurrentCall"]), int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"]))
except (OSError, ValueError, KeyError, IndexError):
    print("0 0 0 0")
EOF
}

uac() { # name calls rate hold_ms timeout_s -> runs a SIPp UAC in the background, pid in uac_pid
    local name=$1 n=$2 r=$3 hold_ms=$4 timeout_s=$5
    sipp -sf "$scenarios/uac_call.xml" -i 127.0.0.1 -p "$(free_port)" -t u1 -s agents \
        -r "$r" -rp 1000 -l "$n" -m "$n" -d "$hold_ms" \
        -timeout "${timeout_s}s" -timeout_error -nostdin -max_socket 65000 \
        -key caller_headers "User-Agent: switchboard-sip-dialog-memory" \
        -trace_err -error_file "$out/$name.errors.log" -trace_stat -stf "$out/$name.stat.csv" -fd 1 \
        "127.0.0.1:$sip_port" >"$out/$name.stdout.log" 2>&1 &
    uac_pid=$!
}

# -- 1. warm-up ------------------------------------------------------------------------------------

say "warm-up: $warmup calls, 0 s hold"
uac warmup "$warmup" 50 0 120
status=0; wait "$uac_pid" || status=$?; uac_pid=
read -r w_created w_current w_ok w_failed < <(uac_counts "$out/warmup.stat.csv")
[ "$status" = 0 ] && [ "$w_ok" = "$warmup" ] || die "warm-up: $w_ok of $warmup calls succeeded (sipp exit $status); see $out/warmup.*"
[ "$(in_progress)" = 0 ] || die "warm-up calls still listed as in-progress"
say "warm-up done; settling ${settle}s"
sleep "$settle"
rss_before=$(rss_kib); trim_before=$(trimmed_kib)
say "RSS before: $rss_before KiB, after malloc_trim $trim_before KiB"

# -- 2. and 3., once per round: N held calls, then the hang-up -------------------------------------

uac_timeout=$(( hold + setup_s * 4 + settle * 2 + 300 ))
results=()
for round in $(seq 1 "$rounds"); do
    name=held$round
    say "round $round: $calls calls at $rate/s, hold ${hold}s"
    t0=$(date +%s)
    uac "$name" "$calls" "$rate" $(( hold * 1000 )) "$uac_timeout"
    deadline=$(( t0 + setup_s * 3 + 60 ))
    established=
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 1
        kill -0 "$uac_pid" 2>/dev/null || die "the SIPp UAC ended before all calls were up; see $out/$name.*"
        read -r created current ok failed < <(uac_counts "$out/$name.stat.csv")
        [ "$failed" = 0 ] && [ "$ok" = 0 ] || die "calls ended during set-up: $ok successful, $failed failed; see $out/$name.*"
        if [ "$created" = "$calls" ] && [ "$current" = "$calls" ]; then
            n=$(in_progress)
            say "SIPp: $created created, $current current; gateway: $n in-progress"
            if [ "$n" = "$calls" ]; then established=1; break; fi
        fi
    done
    [ -n "$established" ] || die "not all $calls calls were established in time; see $out/$name.*"
    t_up=$(date +%s)
    rss_established=$(rss_kib)
    say "all $calls up after $(( t_up - t0 ))s; RSS $rss_established KiB; settling ${settle}s"
    sleep "$settle"
    rss_with=$(rss_kib); trim_with=$(trimmed_kib)
    n=$(in_progress)
    read -r created current ok failed < <(uac_counts "$out/$name.stat.csv")
    [ "$n" = "$calls" ] && [ "$current" = "$calls" ] && [ "$failed" = 0 ] \
        || die "after settling: gateway lists $n in-progress, SIPp $current current, $failed failed"
    say "with $calls calls: RSS $rss_with KiB, after malloc_trim $trim_with KiB ($(( $(date +%s) - t_up ))s after the last was up, $(( $(date +%s) - t0 ))s into the hold of ${hold}s)"

    say "waiting for SIPp to hang up all calls"
    status=0; wait "$uac_pid" || status=$?; uac_pid=
    read -r created current ok failed < <(uac_counts "$out/$name.stat.csv")
    say "SIPp UAC done (exit $status): $ok successful, $failed failed; settling ${settle}s"
    sleep "$settle"
    left=$(in_progress)
    rss_after=$(rss_kib); trim_after=$(trimmed_kib)
    say "after hang-up: RSS $rss_after KiB, after malloc_trim $trim_after KiB; $left still in-progress"
    results+=("$rss_established $rss_with $rss_after $trim_with $trim_after $ok $failed $left $(( t_up - t0 ))")
done

build=debug
case "$bin" in *release*) build=release ;; esac
python3 - "$bin" "$build" "$calls" "$rate" "$hold" "$settle" "$warmup" "$rss_before" "$trim_before" "${results[@]}" <<'EOF'
import sys
binary, build, calls, rate, hold, settle, warmup, rb, tb = sys.argv[1:10]
calls, rb, tb = int(calls), int(rb), int(tb)
rounds = [list(map(int, r.split())) for r in sys.argv[10:]]
trimmed = tb > 0
k = lambda v: f"{v:,} KiB"
t = lambda v: k(v) if trimmed and v > 0 else "-"
lines = [f"{'':38}{'VmRSS':>14}{'after malloc_trim':>20}",
         f"{f'before (after warm-up, +{settle} s)':38}{k(rb):>14}{t(tb):>20}"]
for number, (re_, rw, ra, tw, ta, ok, failed, left, up_s) in enumerate(rounds, 1):
    prefix = f"round {number}: " if len(rounds) > 1 else ""
    lines += [
        f"{prefix + f'all {calls:,} just established':38}{k(re_):>14}{'-':>20}",
        f"{prefix + f'with {calls:,} calls (+{settle} s)':38}{k(rw):>14}{t(tw):>20}",
        f"{prefix + f'after hang-up (+{settle} s)':38}{k(ra):>14}{t(ta):>20}",
    ]
first = rounds[0]
# The baseline is the trimmed "before" when there is one: the plain VmRSS of "with" then counts
# everything the calls made the process map, the trimmed one what they still hold.
base = tb if trimmed else rb
per_call = (first[1] - base) / calls
per_call_live = (first[3] - tb) / calls if trimmed else None
kib = lambda v: f"{v:.2f} KiB" if v is not None else "-"
lines += [
    f"{'per call (2 dialogs + call record)':38}{kib(per_call):>14}{kib(per_call_live):>20}",
    f"{'per dialog (half)':38}{kib(per_call / 2):>14}{kib(per_call_live / 2 if trimmed else None):>20}",
    f"{'after - before (last round)':38}{k(rounds[-1][2] - base):>14}{(k(rounds[-1][4] - tb) if trimmed else '-'):>20}",
]
if len(rounds) > 1:
    # A second round on the memory the first one freed: no growth means the calls' memory went
    # back to the allocator; growing by the first round's size again would be a leak.
    growth = rounds[-1][1] - first[1]
    growth_live = rounds[-1][3] - first[3]
    lines.append(f"{f'round {len(rounds)} with - round 1 with':38}{k(growth):>14}{(k(growth_live) if trimmed else '-'):>20}")
calls_line = "\n         ".join(
    f"round {n}: {r[5]} ended by the caller's BYE, {r[6]} failed, {r[7]} left in-progress; all up in {r[8]} s"
    for n, r in enumerate(rounds, 1))
table = "\n".join(lines)
print(f"""
=================== Switchboard memory per established dialog ===================
binary   {binary} ({build})
load     SIPp uac_call.xml -> gateway -> uas_answer_at_once.xml, UDP, 127.0.0.1;
         {warmup} warm-up calls, then {len(rounds)} round(s) of {calls:,} calls at {rate}/s held {hold} s; no media
{table}
calls    {calls_line}
=================================================================================""")
EOF
for result in "${results[@]}"; do
    set -- $result
    [ "$6" = "$calls" ] && [ "$7" = 0 ] && [ "$8" = 0 ] || die "not every held call ended cleanly; see $out/"
done
