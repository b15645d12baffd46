#!/usr/bin/env bats
# signals.bats -- SIGINT, SIGTERM and SIGHUP stop a run at once, whatever it
# is blocked on (a stalled output pipe, a source read that hangs), with the
# cleanup of a failed run: no file under the final name, no temporary left,
# a stream or in-place output says how far it got; and the exit status a
# shell reports for the signal (130, 143), never 0.
#
# A hung source is simulated with the fault shim (fault/libeio.so,
# E2I_FAULT_MODE=hang): a read of the chosen block blocks until a signal
# handler runs in the reading thread.

load common

SHIM=$TESTS_BUILDDIR/fault/libeio.so

setup_file() {
	local d=$BATS_FILE_TMPDIR img
	img=$(fixture ext4-4k) || return 1
	printf '%s\n' "$img" > "$d/img"
	# an inode table block the scan reads, a directory block the copy reads
	dumpe2fs "$img" 2>/dev/null | awk '/Inode table at/ { split($4, a, "-"); print a[1] + 8; exit }' > "$d/blk.itable"
	debugfs -R "blocks /files" "$img" 2>/dev/null | awk '{ print $2 }' > "$d/blk.dir"
	[ -s "$d/blk.itable" ] && [ -s "$d/blk.dir" ] || return 1
	"$E2IMAGE" -r "$img" "$d/full.raw" || return 1
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	IMG=$(cat "$BATS_FILE_TMPDIR/img")
}

teardown() {
	# nothing of ours may outlive a test
	[ -z "${PID:-}" ] || kill -9 "$PID" 2>/dev/null || true
	if [ -n "${HOLDER:-}" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
}

# read_hangs: the source read of hang_at has begun to hang (the shim says
# so on stderr just before)
read_hangs() {
	grep -qs ': EIO$' err.txt
}

# stop_now SIG: send SIG to $PID, then wait at most 5 s for it to end;
# sets STATUS and ELAPSED_MS (from the signal to the end).
stop_now() {
	local t0 i
	kill -0 "$PID" 2>/dev/null || fail "the run ended before the signal"
	t0=$(date +%s%N)
	kill -"$1" "$PID"
	for i in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	ELAPSED_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	if kill -0 "$PID" 2>/dev/null; then
		kill -9 "$PID"
		wait "$PID" || true
		PID=
		fail "still running ${ELAPSED_MS} ms after SIG$1"
	fi
	STATUS=0
	wait "$PID" || STATUS=$?
	PID=
}

# hang_at BLOCK CMD...: run CMD in the background with reads of BLOCK of
# $IMG hanging (the shim saying so: read_hangs); sets PID
hang_at() {
	local b=$1
	shift
	E2I_FAULT_PATH=$IMG E2I_FAULT_RANGES=$((b * 4096)):4096 E2I_FAULT_MODE=hang E2I_FAULT_VERBOSE=1 \
	LD_PRELOAD=$SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$@" 2> err.txt &
	PID=$!
}

@test "signals: SIGTERM while the output pipe is stalled ends the run at once, exit 143" {
	mkfifo fifo
	# a reader that holds the pipe open and never reads
	sleep 60 < fifo &
	HOLDER=$!
	"$E2IMAGE" -ra "$IMG" - > fifo 2> err.txt &
	PID=$!
	until_true 30 blocked_in "$PID" pipe_write
	stop_now TERM
	cat err.txt >&2
	[ "$STATUS" -eq 143 ] || fail "exit status $STATUS"
	[ "$ELAPSED_MS" -lt 2000 ] || fail "took $ELAPSED_MS ms"
	kill -0 "$HOLDER" || fail "the reader went away: the run was not blocked"
	grep -q 'stdout is incomplete' err.txt
}

@test "signals: SIGINT while a named FIFO output is stalled, -r and -Q, exit 130" {
	local opt
	mkfifo fifo
	for opt in -ra -Q; do
		sleep 60 < fifo &
		HOLDER=$!
		"$E2IMAGE" $opt "$IMG" fifo 2> err.txt &
		PID=$!
		until_true 30 blocked_in "$PID" pipe_write
		stop_now INT
		cat err.txt >&2
		[ "$STATUS" -eq 130 ] || fail "$opt: exit status $STATUS"
		[ "$ELAPSED_MS" -lt 2000 ] || fail "$opt: took $ELAPSED_MS ms"
		grep -q 'fifo is incomplete' err.txt || fail "$opt: does not say the output is incomplete"
		kill "$HOLDER"
		wait "$HOLDER" 2>/dev/null || true
		HOLDER=
	done
}

@test "signals: SIGTERM while a source read hangs (inode scan, copy): exit 143, no file left" {
	local b opt
	for b in $(cat "$BATS_FILE_TMPDIR/blk.itable") $(cat "$BATS_FILE_TMPDIR/blk.dir"); do
		for opt in -r -Q; do
			hang_at "$b" "$E2IMAGE" $opt "$IMG" out.img
			until_true 30 read_hangs
			stop_now TERM
			cat err.txt >&2
			[ "$STATUS" -eq 143 ] || fail "block $b, $opt: exit status $STATUS"
			[ "$ELAPSED_MS" -lt 2000 ] || fail "block $b, $opt: took $ELAPSED_MS ms"
			[ -z "$(ls -A | grep -v '^err.txt$')" ] || { ls -la >&2; fail "block $b, $opt: files left"; }
			! grep -q 'warning:' err.txt || fail "block $b, $opt: the interrupted read was reported as damage"
		done
	done
}

@test "signals: SIGHUP while a source read hangs, output updated in place (-rc): says how far it got, exit 129" {
	local b
	b=$(cat "$BATS_FILE_TMPDIR/blk.dir")
	head -c 4096 /dev/zero > old.raw
	hang_at "$b" "$E2IMAGE" -rc "$IMG" old.raw
	until_true 30 read_hangs
	stop_now HUP
	cat err.txt >&2
	[ "$STATUS" -eq 129 ] || fail "exit status $STATUS"
	grep -q 'old.raw is incomplete' err.txt
}

@test "signals: a move stops at the first SIGINT, safely: exit 130, says how to finish; the same command finishes it" {
	local b
	cp --sparse=always "$IMG" disk.img
	truncate -s +1M disk.img
	b=$(cat "$BATS_FILE_TMPDIR/blk.dir")
	IMG=$PWD/disk.img
	hang_at "$b" "$E2IMAGE" -ra -O 1048576 disk.img
	until_true 30 read_hangs
	stop_now INT
	cat err.txt >&2
	[ "$STATUS" -eq 130 ] || fail "exit status $STATUS"
	grep -q 'run the same command again to finish it' err.txt || fail "no word on finishing"
	[ -e disk.img.e2image-move ] || fail "no journal left to resume from"
	"$E2IMAGE" -ra -O 1048576 disk.img
	[ ! -e disk.img.e2image-move ]
	dd if=disk.img of=moved.img bs=1M skip=1 status=none
	e2fsck -fn moved.img
}

@test "signals: a run stopped at any moment never exits 0 without a complete image" {
	local d i rc
	for d in 0 0.002 0.005 0.01 0.02 0.03 0.05 0.08 0.12 0.2; do
		for i in 1 2; do
			rm -f out.raw
			"$E2IMAGE" -r "$IMG" out.raw 2> err.txt &
			PID=$!
			sleep "$d"
			rc=0
			kill -TERM "$PID" 2>/dev/null || rc=gone
			wait "$PID" || rc=$?
			PID=
			if [ "$rc" = gone ]; then
				cmp out.raw "$BATS_FILE_TMPDIR/full.raw" || fail "finished run, wrong image"
				continue
			fi
			# kill(2) also succeeds on a run that has just ended and
			# not been reaped yet: exit 0 is right only with the image
			if [ "$rc" -eq 0 ]; then
				cmp out.raw "$BATS_FILE_TMPDIR/full.raw" ||
					fail "delay $d: exit 0 after SIGTERM without the full image"
			else
				[ "$rc" -eq 143 ] || fail "delay $d: exit status $rc"
			fi
			# after the rename, the image is complete; before, nothing
			if [ -e out.raw ]; then
				cmp out.raw "$BATS_FILE_TMPDIR/full.raw" || fail "delay $d: an incomplete image under the final name"
			fi
			[ -z "$(ls -A | grep -v -e '^err.txt$' -e '^out.raw$')" ] ||
				{ ls -la >&2; fail "delay $d: temporary file left"; }
		done
	done
}
