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

# Runs one target; its libFuzzer output ends up in $log. `ops`, the stateful target (safe
# Rust over SQLite; its input is enum tags and small numbers, no magic values to find), runs
# on both cores without AddressSanitizer and compare tracing, from its own target dir so the
# ASan build of the others stays cached: the hooks were ~27% of its time.
fuzz() {
    local target=$1 log=$2
    if [ "$target" != ops ]; then
        cargo fuzz run "$target" -- -max_total_time="$seconds" >"$log" 2>&1
        return
    fi
    rm -f fuzz-0.log fuzz-1.log
    local rc=0
    cargo fuzz run -s none --no-trace-compares --target-dir target/fast ops -- \
        -max_total_time="$seconds" -jobs=2 -workers=2 >"$log" 2>&1 || rc=$?
    for job in 0 1; do
        mv fuzz-$job.log "${log%.log}-$job.log" 2>/dev/null || true
    done
    return "$rc"
}

# The exec count of a target: the sum over its jobs' logs, if it ran as jobs.
total_execs() {
    local log=$1 jobs=("${1%.log}"-[0-9].log)
    [ -e "${jobs[0]}" ] || { execs "$log"; return; }
    local sum=0 job count
    for job in "${jobs[@]}"; do
        count=$(execs "$job")
        [[ $count =~ ^[0-9]+$ ]] && sum=$((sum + count))
    done
    echo "$sum"
}

failed=0
summary=()
for target in $(cargo fuzz list); do
    log=target/run-all/$target.log
    rm -f "${log%.log}"-[0-9].log
    echo "fuzzing $target for ${seconds}s (log: fuzz/$log)" >&2
    if fuzz "$target" "$log"; then
        status=ok
    else
        found=$(grep -h -m1 -o 'Test unit written to .*' "$log" \
            $(ls "${log%.log}"-[0-9].log 2>/dev/null) | head -n1 || true)
        status="FAILED (${found:-see fuzz/$log})"
        failed=1
    fi
    corpus=$(find "corpus/$target" -type f 2>/dev/null | wc -l)
    summary+=("$(printf '%-14s %10s execs  %5s corpus files  %s' \
        "$target" "$(total_execs "$log")" "$corpus" "$status")")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
