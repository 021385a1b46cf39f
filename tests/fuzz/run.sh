#!/bin/sh
# Builds the libFuzzer targets (once) and runs each for N seconds (default
# 20) over a scratch copy of its seed corpus; fails if any target crashes.
# Usage: tests/fuzz/run.sh [seconds]
# Crash inputs are kept in $FUZZ_OUT (default: a temp dir, printed).
set -eu

secs=${1:-20}
case $secs in
''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz
targets="fuzz_packet fuzz_config fuzz_keys fuzz_authkeys fuzz_server_config
    fuzz_socks fuzz_control fuzz_slpath fuzz_postauth fuzz_cfgtok
    fuzz_ferryd_ctl fuzz_zstream fuzz_cert fuzz_krl fuzz_etcd fuzz_agent
    fuzz_fleet"

if [ ! -f "$build/build.ninja" ]; then
	(cd "$root" && CC=clang meson setup build-fuzz -Dfuzz=true \
	    -Db_lundef=false)
elif ! grep -q 'fuzz_packet' "$build/build.ninja"; then
	meson configure "$build" -Dfuzz=true -Db_lundef=false
fi
ninja -C "$build" $(for t in $targets; do printf 'tests/fuzz/%s ' "$t"; done)

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz.XXXXXX")
out=${FUZZ_OUT:-$work/artifacts}
mkdir -p "$out"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in $targets; do
	name=${t#fuzz_}
	corpus=$work/corpus-$name
	mkdir -p "$corpus"
	if [ -d "$root/tests/fuzz/corpus/$name" ]; then
		cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
	fi
	log=$work/$t.log
	printf '%-12s %ss ... ' "$t" "$secs"
	if "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix="$out/$t-" "$corpus" >"$log" 2>&1; then
		echo "ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' \
		    "$log" | grep -o '[0-9]*$') runs)"
	else
		echo "FAILED"
		grep -E 'ERROR|SUMMARY|Test unit written|^ *#[0-9]+ ' "$log" \
		    | head -40 >&2 || true
		echo "full log: $log" >&2
		status=1
	fi
done

if [ "$status" -eq 0 ]; then
	# Keep crash artifacts and logs only when something failed.
	rm -rf "$work"
else
	echo "artifacts in $out" >&2
fi
exit "$status"
