#!/usr/bin/env bats
# qcow2-interrupt.bats -- SIGINT and SIGTERM stop `e2image -r` on a qcow2
# input promptly, while the image is checked and while it is converted: the
# run fails, a new output file is not left under its name, and a stream or an
# output updated in place says how far it got. The inputs are valid images made by
# fixtures/make-huge-qcow2.py: huge.qcow2 has 9.8 TiB in 20000 L2 tables of
# 64 KiB, which take a second or more to read and check; pipe.qcow2 has
# 500 GiB in 1000 tables, checked in a moment. Both start with 4 MiB of
# data.

load common

setup_file() {
	"$BATS_TEST_DIRNAME/fixtures/make-huge-qcow2.py" \
		"$BATS_FILE_TMPDIR/huge.qcow2" 16 20000 4096
	"$BATS_TEST_DIRNAME/fixtures/make-huge-qcow2.py" \
		"$BATS_FILE_TMPDIR/pipe.qcow2" 16 1000 4096
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	HUGE=$BATS_FILE_TMPDIR/huge.qcow2
	PIPE=$BATS_FILE_TMPDIR/pipe.qcow2
	PIDS=""
}

teardown() {
	local p
	for p in $PIDS; do
		kill -KILL "$p" 2> /dev/null || true
	done
}

temp_exists() {
	compgen -G 'out.raw.e2i-*' > /dev/null
}

holds_the_data() {
	[ "$(stat -c %s target.raw)" -ge 4194304 ]
}

received_1mib() {
	[ "$(stat -c %s got.bin)" -ge 1048576 ]
}

# stop_and_wait SIG PID: send SIG, wait for PID; sets RC and MS (the time
# from the signal to the end of the process, in milliseconds).
stop_and_wait() {
	local t0
	t0=$(date +%s%N)
	kill -"$1" "$2"
	RC=0
	wait "$2" || RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
}

@test "qcow2-interrupt: SIGINT or SIGTERM while the image is checked ends the run at once, with nothing written" {
	local sig
	for sig in INT TERM; do
		"$E2IMAGE" -r "$HUGE" out.raw > so.txt 2> se.txt 3>&- &
		PIDS="$PIDS $!"
		# Checking (its signal handlers are set before it opens it)
		until_true 30 has_open $! "$HUGE"
		# Still checking: the output is opened only after the check.
		! temp_exists || fail "the check ended before the signal: the fixture is too small"
		stop_and_wait "$sig" $!
		echo "SIG$sig: exit $RC after $MS ms: $(cat se.txt)"
		# The lead's main() exits 128+signal; any failure will do here.
		[ "$RC" -ne 0 ]
		[ "$MS" -lt 2000 ]
		[ ! -s so.txt ]
		grep -q "interrupted while checking $HUGE" se.txt
		[ "$(ls -A)" = "$(printf 'se.txt\nso.txt')" ]
	done
}

@test "qcow2-interrupt: SIGTERM while converting to a file removes the unfinished file" {
	"$E2IMAGE" -r "$HUGE" out.raw > so.txt 2> se.txt 3>&- &
	PIDS="$PIDS $!"
	until_true 30 temp_exists
	stop_and_wait TERM $!
	echo "exit $RC after $MS ms: $(cat se.txt)"
	[ "$RC" -ne 0 ]       # 143 once main() reports the signal
	[ "$MS" -lt 2000 ]
	[ ! -s so.txt ]
	grep -q "no image was written to out.raw" se.txt
	[ "$(ls -A)" = "$(printf 'se.txt\nso.txt')" ]
}

@test "qcow2-interrupt: SIGTERM while updating a file in place (-c) keeps what was written and says so" {
	: > target.raw
	"$E2IMAGE" -rc "$HUGE" target.raw > so.txt 2> se.txt 3>&- &
	PIDS="$PIDS $!"
	# The data comes first; the walk over the empty tables goes on.
	until_true 30 holds_the_data
	stop_and_wait TERM $!
	echo "exit $RC after $MS ms: $(cat se.txt)"
	[ "$RC" -ne 0 ]
	[ "$MS" -lt 2000 ]
	[ ! -s so.txt ]
	grep -q "target.raw is incomplete: 64 of 64 clusters with data were written" se.txt
	# Written as far as it went, and not grown to the virtual size.
	cmp target.raw "$HUGE.data"
}

@test "qcow2-interrupt: SIGINT while converting to a slowly read pipe stops within a second or two and says how far it got" {
	local got n
	mkfifo pipe
	# About 1 MiB/s: the 4 MiB of data take four seconds to go through.
	/usr/bin/python3 -c '
import sys, time
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = i.read1(65536)
    if not b:
        break
    o.write(b)
    o.flush()
    time.sleep(0.06)' < pipe > got.bin 3>&- &
	PIDS="$PIDS $!"
	"$E2IMAGE" -r "$PIPE" - > pipe 2> se.txt 3>&- &
	PIDS="$PIDS $!"
	until_true 30 received_1mib
	stop_and_wait INT $!
	echo "exit $RC after $MS ms: $(cat se.txt)"
	[ "$RC" -ne 0 ]       # 130 once main() reports the signal
	[ "$MS" -lt 2000 ]
	wait                  # the reader sees the end of the pipe
	got=$(stat -c %s got.bin)
	# What went through is the image's start, and the count given is no
	# more than what went through.
	cmp -n "$got" got.bin "$PIPE.data"
	n=$(sed -n 's/.*stdout is incomplete: \([0-9]*\) of 64 clusters.*/\1/p' se.txt)
	[ -n "$n" ]
	[ $((n * 65536)) -le "$got" ]
}
