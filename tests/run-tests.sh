#!/bin/bash
# run-tests.sh -- the `make check` driver.  Runs every executable C unit test
# in unit/ (TAP on stdout, non-zero exit on failure), builds the fixtures the
# selected suites share (once: they are cached, see common.bash), then runs
# the *.bats suites JOBS at a time, the slowest first, each with
# `bats --tap --timing` in its own process; shows each suite's TAP whole
# when it ends, then the ten slowest tests, and ends with one line
# "N passed, N failed[, N skipped]".  Exits non-zero if anything failed or
# if no test ran.
#   TESTS="raw options"   run only these suites (bats basenames and/or
#                         unit test names; "unit" selects all unit tests)
#   JOBS=N                suites run at once (default: twice the CPUs:
#                         suites also wait, on sleeps, syncs and disks)
#   BATS=/path/to/bats    bats to use (default: bats from PATH)
#   TESTS_BUILDDIR=DIR    where the unit tests were built (default: here;
#                         make check sets it, see common.bash)
#   FIXROOT=DIR           the fixture cache (default tests/work/fixtures)
#   SANITIZER_LOG_DIR=DIR where ASan/UBSan write their reports: each unit
#                         test and suite gets DIR/NAME as its log_path; any
#                         report found when it ends is shown and counted as
#                         a failure of it (make check-sanitize)
cd "$(dirname "$0")" || exit 1
BATS=${BATS:-bats}
[ -n "$BATS" ] || BATS=bats
JOBS=${JOBS:-$(($(nproc) * 2))}
case $JOBS in
'' | *[!0-9]* | 0) echo "run-tests.sh: JOBS=$JOBS is not a number of jobs" >&2; exit 2 ;;
esac
export JOBS
# the cache and its key, as common.bash computes them (once here)
export BATS_TEST_DIRNAME=$PWD
export FIXROOT=${FIXROOT:-${TESTS_BUILDDIR:-$PWD}/work/fixtures}
E2I_TOOLS_KEY=$(mke2fs -V 2>&1)
export E2I_TOOLS_KEY
SEAL_TIME=$(BATS_TEST_DIRNAME=$PWD bash -c '. ./common.bash && echo "$SEAL_TIME"')
# suites that took longest last time start first; without a record, these
SLOW="damaged anonymize raw move qcow2-compress qcow2-write"
history=$FIXROOT/suite-times

pass=0 fail=0 skip=0 ran=0
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
# a stopped run stops its suites
trap 'kill $(jobs -p) 2> /dev/null; exit 130' INT
trap 'kill $(jobs -p) 2> /dev/null; exit 143' TERM

selected() {
	[ -z "${TESTS:-}" ] && return 0
	local t
	for t in $TESTS; do
		[ "$t" = "$1" ] && return 0
		[ "$t" = "$2" ] && return 0
	done
	return 1
}

# count_tap SUITE: count the TAP lines read on stdin, echoing them; note
# each test's time (bats --timing: "ok N name in Mms") in $out/times
count_tap() {
	local line re='^(not )?ok [0-9]+ (.*) in ([0-9]+)ms( # [sS][kK][iI][pP].*)?$'
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*)
			fail=$((fail + 1)) ;;
		"ok "*" # skip"*|"ok "*" # SKIP"*)
			skip=$((skip + 1)) ;;
		"ok "*)
			pass=$((pass + 1)) ;;
		esac
		[[ $line =~ $re ]] &&
			printf '%s\t%s\t%s\n' "${BASH_REMATCH[3]}" "$1" "${BASH_REMATCH[2]#"$1: "}" >> "$out/times"
	done
}

# with_sanitizer_logs NAME CMD...: run CMD with the sanitizers' reports
# going to $SANITIZER_LOG_DIR/NAME (the last log_path given wins)
with_sanitizer_logs() {
	local name=$1
	shift
	if [ -n "${SANITIZER_LOG_DIR:-}" ]; then
		mkdir -p "$SANITIZER_LOG_DIR/$name"
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOG_DIR/$name/asan" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_LOG_DIR/$name/ubsan" \
			"$@"
	else
		"$@"
	fi
}

# sanitizer_reports NAME WHAT: fail once per sanitizer report in
# $SANITIZER_LOG_DIR/NAME, or in $SANITIZER_LOG_DIR itself (a program that
# was given its own log_path), showing it; reports are moved to DIR/seen.
sanitizer_reports() {
	local f
	[ -n "${SANITIZER_LOG_DIR:-}" ] && [ -d "$SANITIZER_LOG_DIR" ] || return 0
	for f in "$SANITIZER_LOG_DIR/$1"/* "$SANITIZER_LOG_DIR"/*; do
		[ -f "$f" ] || continue
		echo "not ok - sanitizer report during $2: ${f##*/}"
		sed 's/^/# /' "$f"
		fail=$((fail + 1))
		mkdir -p "$SANITIZER_LOG_DIR/seen"
		mv "$f" "$SANITIZER_LOG_DIR/seen/"
	done
}

# sealed_fixtures WHAT: fail once per cached fixture file written to (its
# mtime is no longer SEAL_TIME: common.bash's cached()), and drop it from
# the cache. Only sealed files (read-only): a cache left by an older
# run-tests.sh holds writable files of any mtime.
sealed_fixtures() {
	local f
	[ -d "$FIXROOT" ] || return 0
	while IFS= read -r f; do
		echo "not ok - the shared fixture $f was written to during $1 (tests must copy a fixture to change it); removed from the cache"
		fail=$((fail + 1))
		rm -f "$f"
	done < <(find "$FIXROOT" -mindepth 2 -maxdepth 2 -type f -newermt "@$SEAL_TIME" \
		! -perm -u=w -path "$FIXROOT/*-????????????????/*" ! -name '.*')
}

# now_ms: the time in milliseconds
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

for t in "${TESTS_BUILDDIR:-.}"/unit/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case $t in *.c|*.o|*.h) continue ;; esac
	name=${t##*/}
	selected "$name" unit || continue
	echo "# unit: $name"
	ran=$((ran + 1))
	before=$fail
	t0=$(now_ms)
	count_tap "unit" < <(with_sanitizer_logs "unit-$name" "$t" 2>&1; echo $? > "$out/rc")
	printf '%s\t%s\t%s\n' $(($(now_ms) - t0)) unit "$name (all of it)" >> "$out/times"
	rc=$(cat "$out/rc")
	# a non-zero exit with no "not ok" line is still a failure
	if [ "$rc" != 0 ] && [ "$fail" = "$before" ]; then
		echo "not ok - unit test $name exited with status $rc"
		fail=$((fail + 1))
	fi
	sanitizer_reports "unit-$name" "unit test $name"
done

suites=()
for t in *.bats; do
	[ -f "$t" ] || continue
	selected "${t%.bats}" bats && suites+=("${t%.bats}")
done

# the healthy fixtures the suites name (all of them for a suite that goes
# through every fixture), and the ones named by the fixture builders they run
if [ ${#suites[@]} -gt 0 ]; then
	files=("${suites[@]/%/.bats}")
	for f in $(grep -ohE 'make-[a-z0-9-]+\.sh' "${files[@]}" | sort -u); do
		[ -f "fixtures/$f" ] && files+=("fixtures/$f")
	done
	all=$(fixtures/list)
	if grep -qE 'fixtures_built|each_fixture|\$\(fixtures\)' "${files[@]}"; then
		wanted=$all
	else
		wanted=$(grep -ohwE "$(echo $all | tr ' ' '|')" "${files[@]}" | sort -u)
	fi
	if [ -n "$wanted" ]; then
		t0=$(now_ms)
		if ( . ./common.bash && fixtures_built $wanted ) > "$out/fixtures.err" 2>&1; then
			echo "# fixtures: $(echo $wanted | wc -w) ready in $(( ($(now_ms) - t0) / 1000 )) s ($FIXROOT)"
		else
			echo "not ok - building the fixtures failed"
			sed 's/^/# /' "$out/fixtures.err"
			fail=$((fail + 1))
		fi
	fi
fi

# the suites in the order to start them: by their last time, longest first
order_suites() {
	local s secs
	for s in "${suites[@]}"; do
		secs=$(awk -v s="$s" '$1 == s { t = $2 } END { print t + 0 }' "$history" 2> /dev/null)
		if [ "${secs:-0}" = 0 ]; then
			case " $SLOW " in *" $s "*) secs=1000 ;; esac
		fi
		printf '%s %s\n' "${secs:-0}" "$s"
	done | sort -k1,1nr -k2 | cut -d' ' -f2
}

# run_suite NAME: the suite's TAP to $out/NAME.tap, "STATUS MS" to $out/NAME.rc
run_suite() {
	local rc=0 t0
	t0=$(now_ms)
	with_sanitizer_logs "$1" "$BATS" --tap --timing "$1.bats" > "$out/$1.tap" 2>&1 || rc=$?
	echo "$rc $(($(now_ms) - t0))" > "$out/$1.rc"
}

# report_suite NAME: show a suite that has ended, count its tests
report_suite() {
	local name=$1 rc ms before beforefail
	read -r rc ms < "$out/$name.rc"
	echo "# bats: $name.bats ($((ms / 1000)) s)"
	ran=$((ran + 1))
	before=$((pass + fail + skip))
	beforefail=$fail
	count_tap "$name" < "$out/$name.tap"
	if [ $((pass + fail + skip)) = "$before" ]; then
		echo "not ok - $name.bats ran no test (bats exit status $rc)"
		fail=$((fail + 1))
	elif [ "$rc" != 0 ] && [ "$fail" = "$beforefail" ]; then
		echo "not ok - $name.bats: bats exited with status $rc"
		fail=$((fail + 1))
	fi
	# the time outside the tests: setup_file, teardown_file, bats itself
	awk -F'\t' -v s="$name" -v ms="$ms" '$2 == s { t += $1 } END {
		if (ms > t) printf "%d\t%s\t(outside its tests: setup_file, teardown_file, bats)\n", ms - t, s }' \
		"$out/times" >> "$out/times.more" 2> /dev/null
	printf '%s %d\n' "$name" $(((ms + 500) / 1000)) >> "$out/suite-times"
	sanitizer_reports "$name" "$name.bats"
	sealed_fixtures "$name.bats"
}

declare -A running=()
# reap: wait for a suite to end and report it
reap() {
	local pid
	wait -n -p pid
	[ -n "${pid:-}" ] && [ -n "${running[$pid]:-}" ] || return 0
	report_suite "${running[$pid]}"
	unset "running[$pid]"
}

if [ ${#suites[@]} -gt 0 ]; then
	n=${#suites[@]}
	echo "# bats: $n suite$([ "$n" = 1 ] || echo s), $JOBS at a time; each one's TAP when it ends"
	for name in $(order_suites); do
		while [ ${#running[@]} -ge "$JOBS" ]; do
			reap
		done
		run_suite "$name" &
		running[$!]=$name
	done
	while [ ${#running[@]} -gt 0 ]; do
		reap
	done
	# remember the times for the next run's order
	if [ -s "$out/suite-times" ] && mkdir -p "$FIXROOT"; then
		cat "$history" "$out/suite-times" 2> /dev/null |
			awk '{ t[$1] = $2 } END { for (s in t) print s, t[s] }' | sort > "$history.$$" &&
			mv "$history.$$" "$history"
	fi
fi

if [ -s "$out/times" ]; then
	echo "# the slowest tests (seconds, suite, test):"
	cat "$out/times" "$out/times.more" 2> /dev/null | sort -t "$(printf '\t')" -k1,1nr | head -n 10 |
		awk -F'\t' '{ printf "# %7.1f  %-16s %s\n", $1 / 1000, $2, $3 }'
fi

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ $((pass + skip)) -gt 0 ]
