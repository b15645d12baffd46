#!/usr/bin/env bats
# errors.bats -- failures: exit 1, a message on stderr naming the file and
# the reason, nothing on stdout, no complete-looking output left behind,
# pre-existing outputs not clobbered by an early failure.  Also: stdout
# carries nothing but the image.

load common

setup() {
	SRC=$(fixture ext2-1k)
	cd "$BATS_TEST_TMPDIR"
}

# fails_cleanly ARGS...: exit 1, stderr non-empty, stdout empty
fails_cleanly() {
	"$E2IMAGE" "$@" > out.txt 2> err.txt && fail "exit 0 for $*"
	"$E2IMAGE" "$@" > /dev/null 2>&1 || [ $? -eq 1 ] || fail "exit status not 1 for $*"
	[ -s err.txt ] || fail "no message on stderr for $*"
	[ ! -s out.txt ] || { cat out.txt >&2; fail "stdout not empty for $*"; }
}

# The oracle prints "Couldn't find valid filesystem superblock." on stdout
# here; ours keeps stdout clean.
@test "errors: a missing input fails, names the file on stderr, prints nothing on stdout" {
	fails_cleanly -r nonexist out.img
	grep -q 'nonexist' err.txt
	grep -q 'No such file or directory' err.txt
	[ ! -e out.img ]
}

# The oracle's stderr: its version line, then "PROGRAM: REASON while trying
# to open nonexist"; ours must give the same status and the same message
# line (program name aside), and nothing else on stderr.
@test "errors: a missing input: the same status and message line as e2fsprogs' e2image" {
	local orc=0 rc=0 want
	"$ORACLE" -r nonexist out.img > oracle.out 2> oracle.err || orc=$?
	"$E2IMAGE" -r nonexist out.img > out.txt 2> err.txt || rc=$?
	[ "$rc" = "$orc" ] || fail "ours: exit $rc, the oracle: exit $orc"
	want=$(grep -v '^e2image [0-9]' oracle.err | sed 's|^[^:]*: ||')
	[ -n "$want" ] || fail "the oracle printed no message: $(cat oracle.err)"
	[ "$(sed 's|^[^:]*: ||' err.txt)" = "$want" ] ||
		fail "ours: '$(cat err.txt)', the oracle: '$want'"
	[ ! -s out.txt ] || fail "ours printed on stdout: $(cat out.txt)"
	[ ! -e out.img ]
}

@test "errors: 1 MiB of zeros is not a file system" {
	head -c 1048576 /dev/zero > zeros.img
	fails_cleanly -r zeros.img out.img
	grep -q 'zeros.img' err.txt
	[ ! -s out.img ]
}

@test "errors: a short text file is not a file system" {
	cp /etc/passwd passwd
	fails_cleanly -r passwd out.img
	grep -q 'passwd' err.txt
	[ ! -s out.img ]
}

@test "errors: a directory as input fails" {
	mkdir dir
	fails_cleanly -r dir out.img
	grep -q 'dir' err.txt
	[ ! -s out.img ]
}

@test "errors: an unreadable input fails (non-root only)" {
	[ "$(id -u)" != 0 ] || skip "running as root: chmod 000 does not stop reads"
	cp --sparse=always "$SRC" unreadable.img
	chmod 000 unreadable.img
	fails_cleanly -r unreadable.img out.img
	grep -q 'Permission denied' err.txt
}

@test "errors: output to /dev/full fails with 'No space left on device'" {
	"$E2IMAGE" -r "$SRC" /dev/full > out.txt 2> err.txt && fail "exit 0"
	"$E2IMAGE" -r "$SRC" /dev/full > /dev/null 2>&1 || [ $? -eq 1 ]
	grep -q 'No space left on device' err.txt
	grep -q '/dev/full' err.txt || fail "message does not name the output: $(cat err.txt)"
	[ ! -s out.txt ]
}

@test "errors: -ra to stdout on /dev/full fails with 'No space left on device'" {
	"$E2IMAGE" -ra "$SRC" - > /dev/full 2> err.txt && fail "exit 0"
	grep -q 'No space left on device' err.txt
}

@test "errors: an output in a missing directory fails and names it" {
	fails_cleanly -r "$SRC" nodir/out.img
	grep -q 'nodir/out.img' err.txt
	[ ! -e nodir ]
}

@test "errors: an output that is a directory fails" {
	mkdir outdir
	fails_cleanly -r "$SRC" outdir
	[ -d outdir ]
}

@test "errors: a failed run leaves no complete-looking output" {
	head -c 1048576 /dev/zero > zeros.img
	"$E2IMAGE" -r zeros.img out.img 2>/dev/null && fail "exit 0"
	# no file, or at least not a full-size one
	if [ -e out.img ]; then
		[ "$(stat -c %s out.img)" -lt 1048576 ]
	fi
}

@test "errors: an existing output keeps its content when the input is bad" {
	printf 'precious\n' > out.img
	"$E2IMAGE" -r nonexist out.img 2>/dev/null && fail "exit 0"
	[ "$(cat out.img)" = precious ]
	head -c 1048576 /dev/zero > zeros.img
	"$E2IMAGE" -ra zeros.img out.img 2>/dev/null && fail "exit 0"
	[ "$(cat out.img)" = precious ]
}

@test "errors: an existing output keeps its content after a refused option" {
	printf 'precious\n' > out.img
	"$E2IMAGE" -a "$SRC" out.img 2>/dev/null && fail "exit 0"
	[ "$(cat out.img)" = precious ]
}

@test "errors: stdout is empty when the output is a file (-r, -ra, -rap)" {
	local o
	for o in -r -ra -rap; do
		"$E2IMAGE" $o "$SRC" out.img > out.txt 2> err.txt || fail "$o failed"
		[ ! -s out.txt ] || fail "$o printed on stdout: $(head -c 200 out.txt)"
		rm -f out.img
	done
}

@test "errors: with output '-', stdout carries exactly the image (-r, -ra, -rap)" {
	"$E2IMAGE" -r "$SRC" file-r.img 2>/dev/null
	"$E2IMAGE" -ra "$SRC" file-ra.img 2>/dev/null
	"$E2IMAGE" -r "$SRC" - > stdout-r.img 2>/dev/null
	"$E2IMAGE" -ra "$SRC" - > stdout-ra.img 2>/dev/null
	"$E2IMAGE" -rap "$SRC" - > stdout-rap.img 2> err.txt
	cmp file-r.img stdout-r.img
	cmp file-ra.img stdout-ra.img
	cmp file-ra.img stdout-rap.img
	grep -q 'Copied' err.txt
}

@test "errors: a stream closed in its last bytes: the failure counts the captured blocks written, not the zeros bridging a short gap" {
	local end
	export E2FSPROGS_FAKE_TIME=1700000000
	# a file's uncaptured block between the two directories' blocks: a
	# one-block gap the stream bridges with zeros in the same write
	mkdir -p t/a t/c && head -c 1024 /dev/zero | tr '\0' x > t/b
	mke2fs -q -F -t ext4 -b 1024 -U 6b2c3d4e-5f60-4172-8394-a5b6c7d8e9fa -d t g.img 8M
	[ $(( $(debugfs -R "bmap /c 0" g.img 2> /dev/null) - $(debugfs -R "bmap /a 0" g.img 2> /dev/null) )) = 2 ]
	# the reader takes every captured block and goes: the zeros to the
	# end of the filesystem, after the copy, find no one
	end=$("$E2IMAGE" -rn g.img - | awk 'END { print ($NF + 1) * 1024 }')
	run bash -c '"$0" -r "$1" - 2> err.txt | head -c "$2" > /dev/null; exit ${PIPESTATUS[0]}' "$E2IMAGE" g.img "$end"
	[ "$status" = 1 ]
	n=$("$E2IMAGE" -rn g.img - | wc -l)
	grep -q "stdout is incomplete: $n of $n blocks were written before the failure" err.txt || fail "$(cat err.txt)"
}
