#!/usr/bin/env bash
# Relayed calls per core through the real sockets (SRTP ↔ RTP, PCMU on both legs) against the
# bound measured in the same run: a bare recvmmsg/sendmmsg UDP echo carrying the same traffic
# on as many sockets, plus libsrtp2's protect and unprotect per relayed packet pair. Also the
# resident memory per relayed call (release build).
#
# Builds Benchmarks/MediaRelay in release (its Sources/ are symlinks to the real modules; the
# package has its own .build) and runs it: a load generator (browsers: ICE, DTLS as the
# server, SRTP at 50 packets/s; call centres: plain RTP at 50 packets/s) drives a gateway
# process running the real MediaPlane, then the echo; only the gateway's media thread is timed.
# A malloc counter (AllocationCounter/counter.c) is preloaded into the gateway process, for the
# heap allocations per relayed packet.
#
# Usage: Benchmarks/media_relay.sh
#   CALLS (500), WINDOW seconds (10), WARMUP seconds (3), THREADS event loops (1),
#   PORTS media range (20000-29999), PRIORITY nice value of the run (0; a negative one keeps a
#   busy machine from starving the gateway, which then falls behind and batches), JOBS build jobs (1),
#   RECEIVE_INTERVAL_US how often the gateway's loop reads its media sockets (the server's default;
#   0: NIO reads each socket's datagrams as they come), RECEIVE_POLL_ABOVE the datagrams a second above
#   which it polls them (the server's default; 0: whatever the rate)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/Benchmarks/MediaRelay"
jobs="${JOBS:-1}"
swift="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"

echo "== build (release)"
if ! log=$(cd "$package" && "$swift" build -c release -j "$jobs" 2>&1); then
    echo "$log"
    exit 1
fi
echo "$log" | tail -1
bench="$package/.build/release/MediaRelayBenchmark"
# Heap allocations per relayed packet: a per-thread malloc counter preloaded into the gateway.
counter="$package/.build/release/libAllocationCounter.so"
cc -O2 -shared -fPIC -o "$counter" "$package/AllocationCounter/counter.c"

echo "== machine: $(nproc) cores, $(uptime)"
"$bench" --calls "${CALLS:-500}" --window "${WINDOW:-10}" --warmup "${WARMUP:-3}" --threads "${THREADS:-1}" \
    --ports "${PORTS:-20000-29999}" --priority "${PRIORITY:-0}" --allocation-counter "$counter"
