#!/usr/bin/env bash
# SIP call-rate benchmark: the highest calls/s the gateway bridges with zero failed calls,
# against the same measured through a minimal Kamailio stateful proxy (Benchmarks/kamailio/).
#
# Starts the server (SWITCHBOARD_BIN, default .build/release/switchboard if built, else
# .build/debug/switchboard) on free ports with a temporary data dir, a SIPp UAS as the call
# centre (Tests/EndToEnd/sipp/uas_answer_at_once.xml), trunks "callcentre" (to the UAS) and
# "pbx" (inbound from 127.0.0.1, destination "callcentre"), then ramps a SIPp UAC
# (uac_call.xml: INVITE, 200, ACK, 0 s hold, BYE; no media) through a list of rates, one
# window per rate. A rate passes when every call of its window succeeds and SIPp reached at
# least 90 % of it; the ramp stops at the first rate that does not pass. The same ramp then runs
# through Kamailio (UAC -> kamailio -> the same UAS). Prints both highest passing rates and
# their ratio.
#
# Tuning: BENCH_WINDOW (seconds per rate, 10), BENCH_RATES (calls/s to try, in order,
# "50 100 200 300 400 600 800 1000 1200 1500 2000 2500 3000"), BENCH_LIMIT (most concurrent
# calls for SIPp -l, 2000), BENCH_KAMAILIO (1; 0 skips the Kamailio run), BENCH_WORKERS (2: the
# gateway's --sip-threads and Kamailio's UDP worker processes, -n; one per core of the machine the
# figures were measured on), BENCH_SIP_THREADS (the gateway's alone, default BENCH_WORKERS).
# SIPp statistics and logs, Kamailio's and the server's logs are kept in Benchmarks/.out/sip/.
# Exit status: 0 on a clean run; 1 if something did not start, or if not even the lowest rate
# passed through the gateway (there would be no figure to report).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
scenarios=$repo/Tests/EndToEnd/sipp
window=${BENCH_WINDOW:-10}
rates=${BENCH_RATES:-"50 100 200 300 400 600 800 1000 1200 1500 2000 2500 3000"}
limit=${BENCH_LIMIT:-2000}
with_kamailio=${BENCH_KAMAILIO:-1}
workers=${BENCH_WORKERS:-2}
sip_threads=${BENCH_SIP_THREADS:-$workers}
# Socket buffers of the SIPp processes (the default, 64 KiB, drops datagrams in bursts at a few
# thousand calls a second, and a lost message costs a call a 500 ms retransmission).
sipp_buffer=${BENCH_SIPP_BUFFER:-8388608}
# Kamailio's shared memory in MiB: its transactions stay in memory until their wait timers end,
# and with 256 MiB it ran out ("could not allocate shared memory from shm pool", answered 500)
# at 2,000 calls/s, a limit of the configuration rather than of the proxy.
kamailio_shm=${BENCH_KAMAILIO_SHM:-2048}

die() { echo "sip_cps: $*" >&2; exit 1; }
say() { echo "sip_cps: $*" >&2; }

if [ -n "${SWITCHBOARD_BIN:-}" ]; then
    bin=$SWITCHBOARD_BIN
elif [ -x "$repo/.build/release/switchboard" ]; then
    bin=$repo/.build/release/switchboard
else
    bin=$repo/.build/debug/switchboard
fi
[ -x "$bin" ] || die "server binary $bin not found (swift build [-c release], or set SWITCHBOARD_BIN)"
command -v sipp >/dev/null || die "sipp not found (apt-get install sip-tester)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"
if [ "$with_kamailio" = 1 ]; then
    command -v kamailio >/dev/null || die "kamailio not found (apt-get install kamailio, or BENCH_KAMAILIO=0)"
fi

# free_port, wait_udp_bound, stop_pid
. "$here/sip_common.sh"

out=$here/.out/sip
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
http_port=$(free_port)
sip_port=$(free_port)
while [ "$sip_port" = "$http_port" ]; do sip_port=$(free_port); done
uas_port=$(free_port)
kam_port=$(free_port)
key=sbk_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
base=http://127.0.0.1:$http_port
server_pid=
uas_pid=
kam_pid=


cleanup() {
    stop_pid "$kam_pid"
    stop_pid "$uas_pid"
    stop_pid "$server_pid"
    rm -rf "$work"
}
trap cleanup EXIT

# -- the gateway ---------------------------------------------------------------------------------

SWITCHBOARD_BOOTSTRAP_KEY=$key "$bin" serve \
    --http-host 127.0.0.1 --http-port "$http_port" --sip-port "$sip_port" --sip-threads "$sip_threads" \
    --data-dir "$work/data" \
    >"$out/server.stdout.log" 2>"$out/server.stderr.log" &
server_pid=$!

ready=
for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || die "server exited during startup; see $out/server.stderr.log"
    if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then ready=1; break; fi
    sleep 0.1
done
[ -n "$ready" ] || die "server not ready after 60 s; see $out/server.stderr.log"

# -- the call centre: one SIPp UAS for both runs ---------------------------------------------------
# Bounded by -timeout (the whole benchmark cannot take longer) and stopped at the end.

uas_timeout=$(( (window + 20) * $(echo $rates | wc -w) * 2 + 120 ))
sipp -sf "$scenarios/uas_answer_at_once.xml" -i 127.0.0.1 -p "$uas_port" -t u1 -buff_size "$sipp_buffer" \
    -timeout "${uas_timeout}s" -nostdin -max_socket 65000 \
    -trace_err -error_file "$out/uas.errors.log" -trace_stat -stf "$out/uas.stat.csv" -fd 1 \
    >"$out/uas.stdout.log" 2>&1 &
uas_pid=$!
wait_udp_bound "$uas_port" || die "the SIPp UAS did not bind 127.0.0.1:$uas_port; see $out/uas.stdout.log"

api() { # method path [json]
    local method=$1 path=$2
    shift 2
    curl -fsS -X "$method" "$base$path" -H "Authorization: Bearer $key" -H "Content-Type: application/json" "$@"
}
json_id() { python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'; }

callcentre_id=$(api POST /v1/trunks -d "{\"name\":\"callcentre\",\"uri\":\"sip:127.0.0.1:$uas_port\",\"transport\":\"udp\"}" | json_id) \
    || die "could not create the callcentre trunk"
api POST /v1/trunks -d "{\"name\":\"pbx\",\"uri\":\"sip:127.0.0.1:9\",\"transport\":\"udp\",\"inbound\":{\"allowedSources\":[\"127.0.0.1/32\"],\"destination\":\"$callcentre_id\"}}" \
    >/dev/null || die "could not create the pbx trunk"

# -- the ramp --------------------------------------------------------------------------------------

# Runs one window at rate $2 against $1 (host:port), the UAC's extra INVITE headers in "$3";
# prints "ok|fail achieved_cps successful failed".
# CPU time (clock ticks, every thread) of process $1 and its children: the system under test.
cpu_ticks() {
    local total=0 pid
    for pid in $1 $(pgrep -P "$1" 2>/dev/null); do
        [ -r "/proc/$pid/stat" ] || continue
        total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat") ))
    done
    echo "$total"
}

run_window() { # target rate caller_headers name
    local target=$1 rate=$2 headers=$3 name=$4
    local calls=$(( rate * window ))
    local stat="$out/$name.$rate.stat.csv"
    local status=0
    local sut=$server_pid
    [ "$name" = kamailio ] && sut=$kam_pid
    local cpu_before
    cpu_before=$(cpu_ticks "$sut")
    sipp -sf "$scenarios/uac_call.xml" -i 127.0.0.1 -p "$(free_port)" -t u1 -s agents -buff_size "$sipp_buffer" \
        -r "$rate" -rp 1000 -l "$limit" -m "$calls" -d 0 \
        -timeout "$(( window + 30 ))s" -timeout_error -nostdin -max_socket 65000 \
        -key caller_headers "$headers" \
        -trace_err -error_file "$out/$name.$rate.errors.log" -trace_stat -stf "$stat" -fd 1 \
        "$target" >"$out/$name.$rate.stdout.log" 2>&1 || status=$?
    local cpu_after
    cpu_after=$(cpu_ticks "$sut")
    python3 - "$stat" "$rate" "$calls" "$status" "$(( cpu_after - cpu_before ))" "$(getconf CLK_TCK)" <<'EOF'
import csv, sys
stat, rate, calls, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu_seconds = int(sys.argv[5]) / int(sys.argv[6])
ok = failed = 0
achieved = 0.0
try:
    with open(stat, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    if rows:
        last = rows[-1]
        ok = int(last.get("SuccessfulCall(C)") or 0)
        failed = int(last.get("FailedCall(C)") or 0)
        # Calls created per second over the whole run, as SIPp measures it (it falls behind the
        # target when -l concurrent calls are reached, i.e. when calls take too long to end).
        achieved = float(last.get("CallRate(C)") or 0)
except (OSError, ValueError):
    pass
passed = status == 0 and failed == 0 and ok == calls and achieved >= 0.9 * rate
# The CPU the system under test spent per completed call (all its threads or processes).
per_call = cpu_seconds * 1e6 / ok if ok else 0
print("ok" if passed else "fail", f"{achieved:.1f}", ok, failed, f"{per_call:.0f}")
EOF
}

ramp() { # name target caller_headers -> prints the highest passing rate (0 if none)
    local name=$1 target=$2 headers=$3 best=0 result
    for rate in $rates; do
        say "$name: $rate calls/s for ${window}s"
        result=$(run_window "$target" "$rate" "$headers" "$name")
        say "$name: $rate calls/s -> $result"
        echo "$rate $result" >>"$out/$name.summary.txt"
        set -- $result
        if [ "$1" != ok ]; then break; fi
        best=$rate
        sleep 2 # let retransmission and dead-call timers of the window drain
    done
    echo "$best"
}

gateway_best=$(ramp gateway "127.0.0.1:$sip_port" "User-Agent: switchboard-sip-cps")
# Done with the gateway: stopped, so that what it still does for the calls of its last window
# (2xx retransmissions to a UAC that has gone, BYEs, 32 s transaction timers) does not take CPU
# from Kamailio's first windows.
stop_pid "$server_pid"
server_pid=
sleep 2

# -- Kamailio ------------------------------------------------------------------------------------

kamailio_best=skipped
if [ "$with_kamailio" = 1 ]; then
    kamailio -f "$here/kamailio/kamailio.cfg" -DD -E -l "udp:127.0.0.1:$kam_port" \
        -A "UAS_URI=\"sip:127.0.0.1:$uas_port\"" -m "$kamailio_shm" -M 32 -n "$workers" \
        >"$out/kamailio.log" 2>&1 &
    kam_pid=$!
    wait_udp_bound "$kam_port" || die "kamailio did not bind 127.0.0.1:$kam_port; see $out/kamailio.log"
    # Kamailio forwards the INVITE as it is, so the UAC carries the headers the UAS checks.
    kamailio_best=$(ramp kamailio "127.0.0.1:$kam_port" \
        "$(printf 'X-Switchboard-Call-Id: cal_benchmark\r\nCall-Info: <http://127.0.0.1:1/v1/calls/cal_benchmark>;purpose=info')")
fi

ratio=n/a
if [ "$kamailio_best" != skipped ] && [ "$kamailio_best" -gt 0 ]; then
    ratio=$(awk -v a="$gateway_best" -v b="$kamailio_best" 'BEGIN { printf "%.2f", a / b }')
fi

build=debug
case "$bin" in *release*) build=release ;; esac
cat <<EOF

===================== Switchboard SIP call-rate benchmark =====================
binary        $bin ($build), --sip-threads $sip_threads; Kamailio -n $workers
load          SIPp uac_call.xml -> uas_answer_at_once.xml over UDP on 127.0.0.1:
              INVITE/200/ACK, 0 s hold, BYE/200, no media; ${window}s per rate, -l $limit
rates tried   $rates
                                   highest calls/s with zero failed calls
gateway (B2BUA, trunk -> trunk)    $gateway_best
kamailio (stateful proxy, t_relay) $kamailio_best
ratio gateway/kamailio             $ratio
per-rate results                   $out/{gateway,kamailio}.summary.txt
EOF
# CPU per completed call of the system under test (every thread of the gateway; every Kamailio
# process), at each rate both ran: how much of the machine each needs for the same load.
python3 - "$out/gateway.summary.txt" "$out/kamailio.summary.txt" <<'EOF'
import sys
def read(path):
    try:
        rows = [line.split() for line in open(path)]
    except OSError:
        return {}
    return {int(r[0]): (r[1], float(r[2]), int(r[5])) for r in rows if len(r) >= 6}
gateway, kamailio = read(sys.argv[1]), read(sys.argv[2])
print("CPU per call (µs)   rate   gateway   kamailio   ratio kamailio/gateway")
for rate in sorted(gateway):
    g = gateway[rate]
    k = kamailio.get(rate)
    line = f"                    {rate:5d}   {g[2]:7d}{'' if g[0] == 'ok' else '*'}"
    if k:
        line += f"   {k[2]:8d}{'' if k[0] == 'ok' else '*'}"
        if g[2] > 0:
            line += f"   {k[2] / g[2]:.2f}"
    print(line)
print("                    (* the rate did not pass)")
print("================================================================================")
EOF

[ "$gateway_best" -gt 0 ] || die "not even $(echo $rates | cut -d' ' -f1) calls/s passed through the gateway; see $out/"
