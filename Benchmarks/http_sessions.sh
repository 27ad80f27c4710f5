#!/usr/bin/env bash
# HTTP load benchmark: GET /healthz versus authenticated POST /v1/widgets/{id}/sessions.
#
# Starts the server (SWITCHBOARD_BIN, default .build/release/switchboard if built, else
# .build/debug/switchboard) on free ports with a temporary data dir, creates a widget, runs wrk
# against both endpoints and prints requests/s, p99 latency and the sessions/healthz ratio.
#
# Tuning: BENCH_DURATION (10s), BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_WARMUP (2s).
# Raw wrk output and the server log are kept in Benchmarks/.out/.
# Exit status: 0 on a clean run; 1 if the server did not start or any request got an unexpected
# status or socket error (the numbers would not mean anything).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
duration=${BENCH_DURATION:-10s}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-32}
warmup=${BENCH_WARMUP:-2s}

die() { echo "http_sessions: $*" >&2; exit 1; }

if [ -n "${SWITCHBOARD_BIN:-}" ]; then
    bin=$SWITCHBOARD_BIN
elif [ -x "$repo/.build/release/switchboard" ]; then
    bin=$repo/.build/release/switchboard
else
    bin=$repo/.build/debug/switchboard
fi
[ -x "$bin" ] || die "server binary $bin not found (swift build [-c release], or set SWITCHBOARD_BIN)"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"

free_port() {
    python3 - <<'EOF'
import socket
for _ in range(50):
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        print(port)
        break
EOF
}

out=$here/.out
mkdir -p "$out"
work=$(mktemp -d)
http_port=$(free_port)
sip_port=$(free_port)
while [ "$sip_port" = "$http_port" ]; do sip_port=$(free_port); done
key=sbk_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
base=http://127.0.0.1:$http_port
server_pid=

cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

SWITCHBOARD_BOOTSTRAP_KEY=$key "$bin" serve \
    --http-host 127.0.0.1 --http-port "$http_port" --sip-port "$sip_port" \
    --data-dir "$work/data" --session-rate-limit 100000000 \
    >"$out/server.stdout.log" 2>"$out/server.stderr.log" &
server_pid=$!

ready=
for _ in $(seq 1 600); do
    kill -0 "$server_pid" 2>/dev/null || die "server exited during startup; see $out/server.stderr.log"
    if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then ready=1; break; fi
    sleep 0.1
done
[ -n "$ready" ] || die "server not ready after 60 s; see $out/server.stderr.log"

widget_json=$(curl -fsS -X POST "$base/v1/widgets" \
    -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -d '{"name":"benchmark","destination":"sip:agents@callcentre.example","allowedOrigins":["https://shop.example"]}') \
    || die "could not create a widget"
widget_id=$(printf '%s' "$widget_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
sessions_url=$base/v1/widgets/$widget_id/sessions

export SWITCHBOARD_BENCH_DIR=$here SWITCHBOARD_BENCH_KEY=$key

run_wrk() { # name script url
    local name=$1 script=$2 url=$3
    if [ "$warmup" != "0" ] && [ "$warmup" != "0s" ]; then
        wrk -t "$threads" -c "$connections" -d "$warmup" -s "$script" "$url" >"$out/$name.warmup.txt" 2>&1 || true
    fi
    echo "http_sessions: $name: wrk -t$threads -c$connections -d$duration --latency $url" >&2
    wrk -t "$threads" -c "$connections" -d "$duration" --latency -s "$script" "$url" >"$out/$name.txt" 2>&1 \
        || die "wrk failed for $name; see $out/$name.txt"
    grep '^RESULT ' "$out/$name.txt" | tail -1 || die "no RESULT line from wrk for $name; see $out/$name.txt"
}

field() { # RESULT-line key
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

health=$(run_wrk healthz "$here/healthz.lua" "$base/healthz")
sessions=$(run_wrk sessions "$here/sessions.lua" "$sessions_url")

health_rps=$(field "$health" rps)
sessions_rps=$(field "$sessions" rps)
ratio=$(awk -v a="$sessions_rps" -v b="$health_rps" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
bad=0
for line in "$health" "$sessions"; do
    bad=$((bad + $(field "$line" unexpected_status) + $(field "$line" socket_errors)))
done

build=debug
case "$bin" in *release*) build=release ;; esac
cat <<EOF

==================== Switchboard HTTP benchmark ====================
binary        $bin ($build)
load          wrk, $threads threads, $connections connections, $duration per endpoint
                               req/s      p50 ms     p99 ms   bad status / socket errors
GET  /healthz              $(printf '%10s %10s %10s' "$health_rps" "$(field "$health" p50_ms)" "$(field "$health" p99_ms)")   $(field "$health" unexpected_status) / $(field "$health" socket_errors)
POST /v1/widgets/{id}/sessions
     (API key)             $(printf '%10s %10s %10s' "$sessions_rps" "$(field "$sessions" p50_ms)" "$(field "$sessions" p99_ms)")   $(field "$sessions" unexpected_status) / $(field "$sessions" socket_errors)
ratio sessions/healthz     $ratio
raw output                 $out/{healthz,sessions}.txt
=====================================================================
EOF

if [ "$bad" -ne 0 ]; then
    die "$bad requests got an unexpected status or a socket error; the numbers above are not valid"
fi
