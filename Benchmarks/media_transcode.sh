#!/usr/bin/env bash
# Transcoded calls per core through the real sockets (browser: SRTP Opus; call centre: RTP PCMU)
# against the bound measured in the same run and process: bare libopus decode + the 48 → 8 kHz
# resampler + µ-law, and µ-law + 8 → 48 kHz + Opus encode at the same complexity and 32 kb/s,
# over the same speech frames (thread CPU time, best of several passes).
#
# Builds Benchmarks/MediaRelay in release (its Sources/ are symlinks to the real modules) and
# runs `MediaRelayBenchmark transcode`: a gateway process runs the real MediaPlane with N calls
# whose browser offers Opus only against PCMU trunk codecs, so every call takes the transcoding
# path (SRTP unprotect → jitter buffer → Opus decode → resample → PCMU → RTP, and back); the load
# generator plays N browsers (ICE, DTLS as the server, SRTP Opus of speech at 50 packets/s) and
# N call centres (PCMU of the same speech at 50 packets/s); only the gateway's media thread is
# timed. The speech is espeak-ng's, as in Benchmarks/transcoding.sh.
#
# Needs: espeak-ng, sox, the Swift toolchain.
# Usage: Benchmarks/media_transcode.sh
#   CALLS (30), COMPLEXITY gateway Opus complexity (8, the server's default), WINDOW seconds (10),
#   WARMUP seconds (3), PASSES of the bound before and after the run (5), THREADS event loops (1),
#   PORTS media range (20000-29999), PRIORITY nice value of the run (0; a negative one keeps a
#   busy machine from starving the gateway), JOBS build jobs (1), TRANSCODING_TICK_MS the gateway's
#   transcoding playout tick in ms (the server's default, 10, otherwise), RECEIVE_INTERVAL_US how
#   often the gateway's loop reads its media sockets (the server's default; 0: NIO reads them), RECEIVE_POLL_ABOVE
#   the datagrams a second above which it polls them (the server's default; 0: whatever the rate)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/Benchmarks/MediaRelay"
out="$root/Benchmarks/.out/media-transcode"
jobs="${JOBS:-1}"
swift="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"
mkdir -p "$out"

echo "== speech (espeak-ng, resampled with sox to 48 kHz mono, no dither so runs repeat exactly)"
text="Thank you for calling the customer service centre. Please hold the line while we connect \
you to the next available agent. Your order number is four seven one one, placed on the third \
of March. Would you like to hear about our delivery options, or speak to someone about a return? \
The weather today is bright and clear, with a gentle breeze from the south west."
for voice in en-gb en-us+f3; do
    espeak-ng -v "$voice" -s 150 -w "$out/speech-$voice.wav" "$text"
done
sox -D "$out/speech-en-gb.wav" "$out/speech-en-us+f3.wav" -r 48000 -c 1 -b 16 -e signed-integer -t raw "$out/speech48.raw" \
    gain -n -3 rate -v 48000
echo "$(( $(stat -c %s "$out/speech48.raw") / 96000 )) s of speech"

echo "== build (release)"
if ! log=$(cd "$package" && "$swift" build -c release -j "$jobs" 2>&1); then
    echo "$log"
    exit 1
fi
echo "$log" | tail -1
bench="$package/.build/release/MediaRelayBenchmark"

echo "== machine: $(nproc) cores, $(uptime)"
"$bench" transcode --speech "$out/speech48.raw" --calls "${CALLS:-30}" --complexity "${COMPLEXITY:-8}" \
    --window "${WINDOW:-10}" --warmup "${WARMUP:-3}" --passes "${PASSES:-5}" --threads "${THREADS:-1}" \
    --ports "${PORTS:-20000-29999}" --priority "${PRIORITY:-0}"
