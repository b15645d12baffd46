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
	# waiting for a reader
	until_true 30 blocked_in $pid wait_for_partner
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

@test "outputs: --sync flushes the image and its directory; by default nothing waits for the disk; same bytes" {
	local out
	# LeakSanitizer cannot run under ptrace (make check-sanitize)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	"$E2IMAGE" -r "$SRC" plain.raw
	strace -f -e trace=openat,fsync,fdatasync,sync_file_range,syncfs,sync -o plain.st \
		"$E2IMAGE" -r "$SRC" plain2.raw
	cmp plain.raw plain2.raw
	# (libext2fs fsyncs the source when it opens it:) nothing else is
	# synced: not the output, not its directory, not the filesystem
	out=$(awk -v src="$SRC" 'index($0, "openat(") && index($0, "\"" src "\"") { sub(/.*= /, ""); srcfd[$0] = 1; next }
		/syncfs|sync_file_range|[^a-z_]sync\(/ { print; next }
		match($0, /f(data)?sync\([0-9]+\)/) { fd = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", fd); sub(/^\(/, "", fd)
			if (!(fd in srcfd)) print }' plain.st)
	[ -z "$out" ] || fail "syncs without --sync: $out"
	grep -q 'plain2\.raw\.e2i-' plain.st || fail "the output's open was not traced"
	strace -f -e trace=fsync,fdatasync,rename,renameat,renameat2,openat -o sync.st \
		"$E2IMAGE" -r --sync "$SRC" synced.raw
	cmp plain.raw synced.raw
	# the data, then the rename, then the directory
	awk '/fdatasync\(/ { d = NR } /rename(at2?)?\(.*synced.raw"/ { r = NR }
	     /O_DIRECTORY/ && !/O_PATH/ { match($0, /= [0-9]+/); fd = substr($0, RSTART + 2, RLENGTH - 2); o = NR }
	     fd != "" && $0 ~ "fsync\\(" fd "\\)" { f = NR }
	     END { exit !(d && r && f && d < r && r < o && o < f) }' sync.st ||
		{ cat sync.st >&2; fail "--sync: no fdatasync before the rename and fsync of the directory after"; }
	"$E2IMAGE" -Q --sync "$SRC" synced.qcow2
	"$E2IMAGE" -r --sync synced.qcow2 back.raw
	cmp plain.raw back.raw
	# --no-fsync, the old spelling of the default, is still accepted
	"$E2IMAGE" -r --no-fsync "$SRC" quick.raw
	cmp plain.raw quick.raw
}

teardown() {
	[ -z "${LOOPDEV:-}" ] || losetup -d "$LOOPDEV" 2> /dev/null || true
}

@test "outputs: the source's own loop device is refused as output (and the file as output of its loop device), in every format" {
	local before mode
	[ "$(id -u)" -eq 0 ] || skip "losetup needs root"
	command -v losetup > /dev/null || skip "no losetup"
	cp --sparse=always "$SRC" src.img
	LOOPDEV=$(losetup -f --show src.img 2> losetup.err) ||
		skip "losetup cannot attach a loop device here: $(cat losetup.err)"
	before=$(sha src.img)
	for mode in "" -r -Q -ra; do
		run "$E2IMAGE" $mode src.img "$LOOPDEV"
		[ "$status" -eq 1 ] || fail "'$mode' src.img $LOOPDEV: exit $status"
		[[ "$output" == *"is the source filesystem itself"* ]] || fail "'$mode': $output"
		run "$E2IMAGE" $mode "$LOOPDEV" src.img
		[ "$status" -eq 1 ] || fail "'$mode' $LOOPDEV src.img: exit $status"
		[ "$(sha src.img)" = "$before" ] || fail "'$mode' changed the source"
		[ -z "$(losetup -l -n -O BACK-FILE "$LOOPDEV" | grep deleted)" ] ||
			fail "'$mode' replaced the file behind $LOOPDEV"
	done
	# a qcow2 image converted onto the loop device of its own file
	"$E2IMAGE" -Q "$SRC" q.qcow2
	losetup -d "$LOOPDEV"
	LOOPDEV=$(losetup -f --show q.qcow2)
	before=$(sha q.qcow2)
	run "$E2IMAGE" -r q.qcow2 "$LOOPDEV"
	[ "$status" -eq 1 ] || fail "q2r onto its own loop device: exit $status"
	[ "$(sha q.qcow2)" = "$before" ]
}
