#!/usr/bin/env bash
# CPU per call of the gateway at one fixed rate, per thread: a fresh server, a SIPp UAS and a
# SIPp UAC (the scenarios of sip_cps.sh: INVITE/200/ACK, 0 s hold, BYE/200, no media, UDP on
# 127.0.0.1) at RATE calls/s for DURATION seconds; the server's threads' CPU (from
# /proc/<pid>/task/*/stat) is read after the first 3 s and 3 s before the end, and divided by the
# calls of that window. For comparing two builds at the same rate (run them in turn, several
# times: the spread between runs of one build is about ±5 % on a shared 2-core machine).
#
# Usage: SWITCHBOARD_BIN=<release build> Benchmarks/sip_load.sh
#   RATE calls/s (2000), DURATION seconds (16), MODE:
#     plain   per-thread µs per call over the window (the default)
#     halves  also the whole process and the signalling thread over each half of the window
#     perf    also `perf record -g` of the server over the window (Benchmarks/.out/sip-load/perf.data)
#   KEEP seconds: after the load, the resident set, again after KEEP idle seconds, and after a
#     malloc_trim(0) called into the server with gdb (what stays resident once every call and
#     transaction has ended); glibc's malloc_stats before and after the trim go to the server's
#     log (Benchmarks/.out/sip-load/server.log): in use against what the arenas hold
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
scenarios=$repo/Tests/EndToEnd/sipp
bin=${SWITCHBOARD_BIN:-$repo/.build/release/switchboard}
rate=${RATE:-2000}
duration=${DURATION:-16}
mode=${MODE:-plain}
[ -x "$bin" ] || { echo "sip_load: server binary $bin not found (set SWITCHBOARD_BIN)" >&2; exit 1; }
[ "$duration" -ge 10 ] || { echo "sip_load: DURATION must be at least 10 s" >&2; exit 1; }
. "$here/sip_common.sh"

out=$here/.out/sip-load
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
http=$(free_port)
sip=$(free_port)
uas=$(free_port)
key=sbk_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
server_pid=
uas_pid=
trap 'stop_pid "$uas_pid"; stop_pid "$server_pid"; rm -rf "$work"' EXIT

SWITCHBOARD_BOOTSTRAP_KEY=$key "$bin" serve --http-host 127.0.0.1 --http-port "$http" --sip-port "$sip" \
    --data-dir "$work/data" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$http/healthz" 2>/dev/null && break
    sleep 0.1
done
sipp -sf "$scenarios/uas_answer_at_once.xml" -i 127.0.0.1 -p "$uas" -t u1 -buff_size 8388608 -nostdin \
    -max_socket 65000 >"$out/uas.log" 2>&1 &
uas_pid=$!
wait_udp_bound "$uas" || { echo "sip_load: the SIPp UAS did not bind" >&2; exit 1; }
api() { curl -fsS -X "$1" "http://127.0.0.1:$http$2" -H "Authorization: Bearer $key" -H "Content-Type: application/json" "${@:3}"; }
callcentre=$(api POST /v1/trunks -d "{\"name\":\"callcentre\",\"uri\":\"sip:127.0.0.1:$uas\",\"transport\":\"udp\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
api POST /v1/trunks -d "{\"name\":\"pbx\",\"uri\":\"sip:127.0.0.1:9\",\"transport\":\"udp\",\"inbound\":{\"allowedSources\":[\"127.0.0.1/32\"],\"destination\":\"$callcentre\"}}" >/dev/null

# One line per thread: "<name>:<tid> <utime+stime ticks>".
ticks() {
    for task in /proc/"$server_pid"/task/*; do
        echo "$(tr ' ' _ <"$task/comm"):$(basename "$task") $(awk '{ print $14 + $15 }' "$task/stat")"
    done | sort
}

sipp -sf "$scenarios/uac_call.xml" -i 127.0.0.1 -p "$(free_port)" -t u1 -buff_size 8388608 -r "$rate" -rp 1000 \
    -l 4000 -m $((rate * duration)) -d 0 -timeout $((duration + 30))s -timeout_error -nostdin -max_socket 65000 \
    -key caller_headers "" -trace_stat -stf "$out/uac.csv" -fd 1 "127.0.0.1:$sip" >"$out/uac.log" 2>&1 &
uac_pid=$!
window=$((duration - 6))
sleep 3
ticks >"$out/t0"
date +%s.%N >"$out/t0.time"
case "$mode" in
    halves) sleep $((window / 2)); ticks >"$out/tm"; date +%s.%N >"$out/tm.time"; sleep $((window - window / 2)) ;;
    perf) perf record -F 999 -g -p "$server_pid" -o "$out/perf.data" -- sleep "$window" >/dev/null 2>&1 ;;
    *) sleep "$window" ;;
esac
ticks >"$out/t1"
date +%s.%N >"$out/t1.time"
wait "$uac_pid" || true
if [ -n "${KEEP:-}" ]; then
    echo "resident after the load: $(awk '/VmRSS/ { print $2, $3 }' /proc/"$server_pid"/status)"
    sleep "$KEEP"
    echo "resident after $KEEP s idle: $(awk '/VmRSS/ { print $2, $3 }' /proc/"$server_pid"/status)"
    gdb -p "$server_pid" -batch -ex 'call (void)malloc_stats()' -ex 'call (int)malloc_trim(0)' -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || echo "sip_load: gdb could not attach"
    echo "resident after malloc_trim(0): $(awk '/VmRSS/ { print $2, $3 }' /proc/"$server_pid"/status)"
fi
python3 - "$out" "$rate" "$window" "$(getconf CLK_TCK)" <<'EOF'
import csv, os, sys
out, rate, window, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = list(csv.DictReader(open(os.path.join(out, "uac.csv")), delimiter=";"))
last = rows[-1]
print(f"SIPp: {last['SuccessfulCall(C)']} calls, {last['FailedCall(C)']} failed, {float(last['CallRate(C)']):.1f} calls/s")
def read(name):
    return {k: int(v) for k, v in (line.split() for line in open(os.path.join(out, name)))}
def per_call(a, b, calls, only=None):
    return sum(b[k] - a.get(k, b[k]) for k in b if only is None or only(k)) * 1e6 / hz / calls
t0, t1 = read("t0"), read("t1")
# The calls SIPp completed in the window (its statistics, one row a second, interpolated to the
# times the counters were read): below the rate asked when the server falls behind.
def completed_at(when):
    points = [(float(r["CurrentTime"].split("\t")[-1]), int(r["SuccessfulCall(C)"])) for r in rows]
    for (ta, ca), (tb, cb) in zip(points, points[1:]):
        if ta <= when <= tb:
            return ca + (cb - ca) * (when - ta) / (tb - ta) if tb > ta else cb
    return points[-1][1] if when > points[-1][0] else points[0][1]
start, end = (float(open(os.path.join(out, name)).read()) for name in ("t0.time", "t1.time"))
calls = max(1.0, completed_at(end) - completed_at(start))
print(f"CPU per call at {rate} calls/s asked, {calls / (end - start):.0f} completed/s, over {window} s:")
for k in sorted(t1):
    value = per_call(t0, t1, calls, lambda name: name == k)
    if value >= 0.5:
        print(f"  {k:28s} {value:7.1f} µs")
print(f"  {'whole process':28s} {per_call(t0, t1, calls):7.1f} µs")
if os.path.exists(os.path.join(out, "tm")):
    tm = read("tm")
    # The signalling thread: the busiest of the server's threads.
    busiest = max(t1, key=lambda k: t1[k] - t0.get(k, t1[k]))
    middle = float(open(os.path.join(out, "tm.time")).read())
    for name, a, b, first, last in (("first half", t0, tm, start, middle), ("second half", tm, t1, middle, end)):
        half = max(1.0, completed_at(last) - completed_at(first))
        print(f"  {name}: whole process {per_call(a, b, half):.1f} µs, {busiest} {per_call(a, b, half, lambda k: k == busiest):.1f} µs")
EOF
