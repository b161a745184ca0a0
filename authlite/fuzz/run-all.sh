#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after another (one fuzz process at a time),
# growing the corpora in fuzz/corpus/<target>, and prints one summary line per target.
# Full logs: fuzz/target/run-all/<target>.log; crashing inputs: fuzz/artifacts/<target>/.
# Usage: fuzz/run-all.sh SECONDS
set -euo pipefail

seconds=${1:?usage: $0 SECONDS}
cd "$(dirname "$0")"
# cargo fuzz needs nightly flags (-Zsanitizer=address); this lets stable accept them.
export RUSTC_BOOTSTRAP=1
# Known false leak reports (see lsan.supp), kept apart from any options set by the caller.
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
cargo fuzz build
mkdir -p target/run-all

# The last exec count in a libFuzzer log: its final "Done N runs in S second(s)", else the
# "#N DONE" status line, else (after a crash) the last "#N" status line.
execs() {
    local count
    count=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$1" | tail -n1)
    count=${count:-$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$1" | tail -n1)}
    count=${count:-$(sed -n 's/^#\([0-9]*\)[[:space:]].*/\1/p' "$1" | tail -n1)}
    echo "${count:-?}"
}

failed=0
summary=()
for target in $(cargo fuzz list); do
    log=target/run-all/$target.log
    echo "fuzzing $target for ${seconds}s (log: fuzz/$log)" >&2
    if cargo fuzz run "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
        status=ok
    else
        status="FAILED ($(grep -m1 -o 'Test unit written to .*' "$log" || echo "see fuzz/$log"))"
        failed=1
    fi
    corpus=$(find "corpus/$target" -type f 2>/dev/null | wc -l)
    summary+=("$(printf '%-14s %10s execs  %5s corpus files  %s' \
        "$target" "$(execs "$log")" "$corpus" "$status")")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
