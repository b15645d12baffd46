#!/usr/bin/env bats
# outputs.bats -- failing outputs and interruptions: every write is checked,
# a failed run leaves no complete-looking file, an in-place output or a
# stream says how far it got.

load common

setup() {
	SRC=$(fixture ext4-4k)
	cd "$BATS_TEST_TMPDIR"
}

@test "outputs: a pipe closed early gives a clear message and exit 1, not a crash" {
	run bash -c '"$0" -r "$1" - | head -c 1000 > /dev/null; echo "status ${PIPESTATUS[0]}"' "$E2IMAGE" "$SRC"
	[[ "$output" == *"Broken pipe"*"stdout"* ]]
	[[ "$output" == *"incomplete"* ]]
	[[ "$output" == *"status 1"* ]]
}

@test "outputs: a file-size limit (ulimit -f) fails cleanly and leaves no file" {
	run bash -c 'ulimit -f 1024; "$0" -ra "$1" out.raw' "$E2IMAGE" "$SRC"
	[ "$status" -eq 1 ]
	[[ "$output" == *"File too large"*"out.raw"* ]]
	[ -z "$(ls)" ]
}

@test "outputs: a file-size limit on stdout redirected to a file says how far it got" {
	run bash -c 'ulimit -f 1024; "$0" -ra "$1" - > out.raw' "$E2IMAGE" "$SRC"
	[ "$status" -eq 1 ]
	[[ "$output" == *"File too large"* ]]
	[[ "$output" == *"stdout is incomplete"* ]]
}

@test "outputs: SIGTERM while waiting on a FIFO output ends the run with an error" {
	mkfifo fifo
	"$E2IMAGE" -r "$SRC" fifo 2> err.txt &
	pid=$!
	sleep 0.5
	kill -TERM $pid
	rc=0
	wait $pid || rc=$?
	[ "$rc" -ne 0 ]
	[ -s err.txt ]
}

@test "outputs: an in-place output that fails says how many blocks it got" {
	"$E2IMAGE" -r "$SRC" target.raw
	run "$E2IMAGE" -rc "$SRC" /dev/full
	[ "$status" -eq 1 ]
	run bash -c 'ulimit -f 64; "$0" -ra -O 4096 "$1" target.raw' "$E2IMAGE" "$SRC"
	[ "$status" -eq 1 ]
	[[ "$output" == *"target.raw is incomplete"* ]]
}

@test "outputs: an existing output is not clobbered when the source cannot be opened" {
	echo precious > keep.raw
	run "$E2IMAGE" -r /nonexistent keep.raw
	[ "$status" -eq 1 ]
	[ "$(cat keep.raw)" = precious ]
	run "$E2IMAGE" -Q /nonexistent keep.raw
	[ "$(cat keep.raw)" = precious ]
}

@test "outputs: --no-fsync writes the same image (it only skips waiting for the disk)" {
	"$E2IMAGE" -r "$SRC" synced.raw
	"$E2IMAGE" -r --no-fsync "$SRC" quick.raw
	cmp synced.raw quick.raw
	"$E2IMAGE" -Q --no-fsync "$SRC" quick.qcow2
	"$E2IMAGE" -r --no-fsync quick.qcow2 back.raw
	cmp synced.raw back.raw
}
