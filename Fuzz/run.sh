#!/usr/bin/env bash
# Builds the libFuzzer targets of the SIP module and fuzzes each for FUZZ_SECONDS seconds,
# starting from a copy of its seed corpus in Fuzz/Corpus/<target>/ (the committed corpus is
# never written to). Exits non-zero when the build fails or any target finds a crash, a
# timeout, a leak or an out-of-memory input; those inputs are kept in Fuzz/.artifacts/<target>/.
#
#   Fuzz/run.sh                       # every target, 60 s each
#   FUZZ_SECONDS=10 Fuzz/run.sh       # a short run (`make test` runs 60 s each)
#   Fuzz/run.sh SDPFuzzer             # selected targets
#   Fuzz/run.sh --reproduce           # replay the saved crashes in Fuzz/Crashes/<target>/
#
# Environment: FUZZ_SECONDS (60), FUZZ_BUILD_JOBS (2), FUZZ_KEEP_CORPUS=1 keeps the temporary
# corpus directory, FUZZ_ARGS (extra libFuzzer flags), SWIFT (the swift binary).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SWIFT="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"
seconds="${FUZZ_SECONDS:-60}"
build_jobs="${FUZZ_BUILD_JOBS:-2}"
read -r -a extra_args <<< "${FUZZ_ARGS:-}"

# target  max_len  dictionary
targets_table="
SIPDatagramFuzzer 65536 sip.dict
SDPFuzzer         65536 sdp.dict
SIPStreamFuzzer   65545 sip.dict
RTPFuzzer         4096  rtp.dict
STUNFuzzer        65552 stun.dict
XMLRPCFuzzer      65536 xmlrpc.dict
"

reproduce=0
selected=()
for argument in "$@"; do
    case "$argument" in
        --reproduce) reproduce=1 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) selected+=("$argument") ;;
    esac
done

echo "== building fuzz targets (release, -sanitize=fuzzer,address)"
build_log="$(mktemp)"
if ! "$SWIFT" build -c release --package-path "$here" --scratch-path "$here/.build" -j "$build_jobs" >"$build_log" 2>&1; then
    cat "$build_log"
    echo "FAIL: the fuzz targets do not build" >&2
    exit 1
fi
bin="$("$SWIFT" build -c release --package-path "$here" --scratch-path "$here/.build" --show-bin-path)"
rm -f "$build_log"

work="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fuzz.XXXXXX")"
cleanup() {
    if [[ "${FUZZ_KEEP_CORPUS:-0}" == 1 ]]; then echo "corpora and logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

failures=0
while read -r target max_len dictionary; do
    [[ -z "$target" ]] && continue
    if ((${#selected[@]})) && [[ " ${selected[*]} " != *" $target "* ]]; then continue; fi

    if ((reproduce)); then
        crashes=("$here/Crashes/$target"/*)
        [[ -e "${crashes[0]}" ]] || { echo "$target: no saved crashes"; continue; }
        for input in "${crashes[@]}"; do
            if "$bin/$target" "$input" >"$work/$target.reproduce.log" 2>&1; then
                echo "$target: $(basename "$input"): passes"
            else
                echo "$target: $(basename "$input"): CRASHES"
                grep -m1 -E "PROPERTY FAILED|ERROR: AddressSanitizer|Fatal error|ERROR: libFuzzer" "$work/$target.reproduce.log" || true
                failures=$((failures + 1))
            fi
        done
        continue
    fi

    corpus="$work/$target"
    artifacts="$here/.artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    cp "$here/Corpus/$target"/* "$corpus/"
    seeds=$(find "$corpus" -type f | wc -l)
    log="$work/$target.log"

    status=0
    "$bin/$target" \
        -max_total_time="$seconds" \
        -max_len="$max_len" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -dict="$here/Dictionaries/$dictionary" \
        -artifact_prefix="$artifacts/" \
        -print_final_stats=1 \
        "${extra_args[@]}" \
        "$corpus" >"$log" 2>&1 || status=$?

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    units=$(find "$corpus" -type f | wc -l)
    found=$(grep -cE '^artifact_prefix=|Test unit written to' "$log" || true)

    if ((status == 0)); then
        printf '%-18s ok     %9s runs  %6s exec/s  cov %-5s ft %-6s corpus %s -> %s  crashes 0\n' \
            "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "$units"
        rmdir "$artifacts" "$here/.artifacts" 2>/dev/null || true
    else
        failures=$((failures + 1))
        cp "$log" "$artifacts/last-failure.log"
        printf '%-18s FAILED %9s runs  %6s exec/s  cov %-5s ft %-6s corpus %s -> %s  crashes %s (exit %s)\n' \
            "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "$units" "$found" "$status"
        grep -E 'PROPERTY FAILED|Fatal error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|Test unit written to' "$log" | head -n 8 | sed 's/^/    /'
        echo "    full log: $artifacts/last-failure.log"
    fi
done <<< "$targets_table"

if ((failures)); then
    echo "FAIL: $failures fuzz target(s) failed" >&2
    exit 1
fi
echo "OK: no crashes"
