#!/usr/bin/env bash
# Transcoding benchmark: CPU per 20 ms frame for an Opus ↔ PCMU call (bare libopus + resampler
# vs the Media module's Transcoder), calls per core, and PESQ narrow-band scores that show what
# Opus complexity 0, 5, 6, 8 and 10 cost in quality once the audio ends up in PCMU.
#
# Needs: espeak-ng, sox, the Swift toolchain, python3 (a venv with pesq, numpy, scipy is made in
# .build-venv on first use). Usage: Benchmarks/transcoding.sh  (JOBS=2 by default)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/Benchmarks/Transcoding"
out="$root/Benchmarks/.out/transcoding"
venv="${VENV:-$root/.build-venv}"
jobs="${JOBS:-2}"
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
(cd "$package" && swift build -c release -j "$jobs" 2>&1 | tail -1)
bench="$package/.build/release/TranscodingBenchmark"

echo "== speed"
"$bench" speed "$out/speech48.raw"

echo "== heap allocations on the per-frame path"
cc -O2 -shared -fPIC -o "$out/libAllocationCounter.so" "$package/AllocationCounter/counter.c"
LD_PRELOAD="$out/libAllocationCounter.so" "$bench" allocations "$out/speech48.raw"

echo "== PESQ (ITU-T P.862 narrow band, 8 kHz; reference: the speech resampled to 8 kHz)"
"$bench" pesq-material "$out/speech48.raw" "$out/pesq"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy scipy pesq
fi
"$venv/bin/python" - "$out/pesq" <<'PY'
import sys, numpy as np
from pesq import pesq
d = sys.argv[1]
load = lambda name: np.fromfile(f"{d}/{name}.raw", dtype="<i2").astype(np.float64)
ref = load("reference")
complexities = (0, 5, 6, 8, 10)
rows = [("speech → PCMU (direct)", "pcmu")] + [
    (f"speech → Opus 32 kb/s c{c} (48 kHz) → decode → 8 kHz → PCMU", f"opus-c{c}") for c in complexities] + [
    (f"speech → PCMU → gateway Opus 32 kb/s c{c} → decode → 8 kHz", f"gateway-c{c}") for c in complexities]
for label, name in rows:
    deg = load(name)
    n = min(len(ref), len(deg))
    print(f"  PESQ-NB {pesq(8000, ref[:n], deg[:n], 'nb'):.3f}  {label}")
PY
