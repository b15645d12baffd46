#!/bin/bash
# run.sh -- the `make fuzz` driver (run from tests/ by make, after the
# targets are built into $FUZZ_DIR).  Runs each libFuzzer target for
# FUZZ_SECONDS seconds:
#   fuzz_qcow2_reader  corpus: work/fuzz/corpus/qcow2, seeds fuzz/corpus/qcow2
#   fuzz_qcow2_image   corpus: work/fuzz/corpus/image (no seeds needed)
#   fuzz_capture       corpus: work/fuzz/corpus/fs, seeds built by
#                      fuzz/make-fs-seeds.sh into work/fuzz/seeds/fs
# Crashes, leaks and timeouts are written to work/fuzz/crashes/; each run's
# log is work/fuzz/<target>.log.  Exits non-zero when a run found something.
#   FUZZ_SECONDS=N         seconds per target (default 60)
#   FUZZ_TARGETS="capture" the targets to run (default: both)
#   FUZZ_PARALLEL=1        run the targets at the same time
#   FUZZ_ARGS="..."        more libFuzzer flags (e.g. -jobs=2 -workers=2)
set -u
cd "$(dirname "$0")/.." || exit 1
dir=${FUZZ_DIR:-work/fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-qcow2_reader capture qcow2_image}
mkdir -p "$dir/crashes" "$dir/corpus/qcow2" "$dir/corpus/fs" "$dir/corpus/image" || exit 1
[ -d "$dir/seeds/fs" ] || ./fuzz/make-fs-seeds.sh "$dir/seeds/fs" || exit 1

run_one() {
	local t=$1 corpus seeds maxlen
	case $t in
	qcow2_reader) corpus=$dir/corpus/qcow2 seeds=fuzz/corpus/qcow2 maxlen=65536 ;;
	capture) corpus=$dir/corpus/fs seeds=$dir/seeds/fs maxlen=262144 ;;
	qcow2_image) corpus=$dir/corpus/image seeds=$dir/corpus/image maxlen=1024 ;;
	*) echo "run.sh: no target $t" >&2; return 1 ;;
	esac
	echo "# fuzz_$t: ${secs}s, log in $dir/fuzz_$t.log"
	# libFuzzer's own leak check; ASan's abort makes each finding one file.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$dir/fuzz_$t" -max_total_time="$secs" -timeout=10 -max_len="$maxlen" \
		-rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$dir/crashes/$t-" ${FUZZ_ARGS:-} \
		"$corpus" "$seeds" > "$dir/fuzz_$t.log" 2>&1
	local rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' \
		"$dir/fuzz_$t.log" | sed "s/^/# fuzz_$t: /"
	if [ $rc != 0 ]; then
		echo "not ok - fuzz_$t exited with status $rc:"
		grep -E 'ERROR|SUMMARY|Test unit written|runtime error' "$dir/fuzz_$t.log" | sed 's/^/#   /'
		return 1
	fi
	echo "ok - fuzz_$t"
}

status=0
if [ -n "${FUZZ_PARALLEL:-}" ]; then
	pids=""
	for t in $targets; do
		run_one "$t" & pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || status=1
	done
else
	for t in $targets; do
		run_one "$t" || status=1
	done
fi
exit $status
