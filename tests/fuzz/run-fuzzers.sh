#!/usr/bin/env bash
# Run every libFuzzer harness in build-fuzz/ for FUZZ_SECONDS (default 60)
# each, starting from the seed corpus in tests/fuzz/corpus/NAME (never
# modified: new inputs go to build-fuzz/corpus/NAME). A crash, leak, timeout
# or sanitizer report fails the run and leaves the reproducer in
# build-fuzz/artifacts/ (replay: build-fuzz/fuzz_NAME FILE).
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60}
B=build-fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # MPI singleton (fuzz_binload)
export OMPI_MCA_mca_base_component_disable_dlclose=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0; pass=0
mkdir -p "$B/artifacts"
for h in "$B"/fuzz_*; do
    [ -x "$h" ] || continue
    name=${h##*/fuzz_}
    seeds=tests/fuzz/corpus/$name
    work=$B/corpus/$name
    mkdir -p "$work"
    dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    # MPI-IO keeps per-process caches that look like per-input leaks.
    # (and MPI is never finalized): no leak checking for this one.
    asan=$ASAN_OPTIONS
    [ "$name" = binload ] && dict+=(-detect_leaks=0) && asan=$asan:detect_leaks=0
    echo "== fuzz_$name for ${SECS}s (seeds: $(ls "$seeds" | wc -l))"
    if ASAN_OPTIONS=$asan "$h" "${dict[@]}" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
          -print_final_stats=1 -artifact_prefix="$B/artifacts/$name-" "$work" "$seeds" \
          > "$B/fuzz_$name.log" 2>&1; then
        pass=$((pass + 1))
        grep -E "stat::number_of_executed_units|stat::new_units_added" "$B/fuzz_$name.log" | tr '\n' ' '
        echo "cov/corpus: $(grep -E '^#[0-9]+.*(DONE|cov:)' "$B/fuzz_$name.log" | tail -1)"
        echo "ok   fuzz_$name: no crash in ${SECS}s"
    else
        fail=$((fail + 1))
        echo "FAIL fuzz_$name"
        grep -E "ERROR|SUMMARY|runtime error|Test unit written|#[0-9]+ 0x" "$B/fuzz_$name.log" | head -30
    fi
done
echo "fuzzers: $pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]
