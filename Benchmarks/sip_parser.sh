#!/usr/bin/env bash
# SIP parser throughput: messages/s through `SIPMessage.parse(datagram:)`, parse + the accessors a
# B2BUA reads per message (top Via branch, From/To tags, Call-ID, CSeq), `serialize(into:)`, and a
# whole call's messages through the B2BUA (6 in, 6 out) as calls/s on one core.
#
# Builds Benchmarks/SIPParser in release (its Sources/SIP is a symlink to the real module; the
# package has its own .build) and runs it. SIP_PARSER_PASS_SECONDS sets the length of each of the
# 5 passes per case (0.5). Usage: Benchmarks/sip_parser.sh  (JOBS=1 by default)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/Benchmarks/SIPParser"
jobs="${JOBS:-1}"
swift="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"

echo "== build (release)"
if ! log=$(cd "$package" && "$swift" build -c release -j "$jobs" 2>&1); then
    echo "$log"
    exit 1
fi
echo "$log" | tail -1
bench="$package/.build/release/SIPParserBenchmark"

echo "== run"
"$bench" "$root/Tests/SIPTests/Fixtures/rfc4475/wsinv.dat"
