#!/usr/bin/env bats
# scramble.bats -- -s (with -r): directory names replaced exactly as
# e2fsprogs' e2image replaces them, so that images compare equal across the
# two tools.

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "scramble: -rs of every fixture equals e2fsprogs' -rs byte for byte, and differs from -r" {
	local f src failed=""
	for f in $(fixtures); do
		src=$(fixture "$f")
		rm -f ours.img theirs.img plain.img
		"$E2IMAGE" -rs "$src" ours.img 2> err.txt || { failed="$failed $f(exit)"; continue; }
		"$ORACLE" -rs "$src" theirs.img > /dev/null 2>&1
		"$E2IMAGE" -r "$src" plain.img
		cmp -s ours.img theirs.img || failed="$failed $f"
		cmp -s ours.img plain.img && failed="$failed $f(not scrambled)"
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "scramble: no name of the root directory survives but . and .., to a file and to stdout alike" {
	local src names n
	src=$(fixture ext4-4k)
	"$E2IMAGE" -rs "$src" s.img
	"$E2IMAGE" -rs "$src" - > s-stdout.img
	cmp s.img s-stdout.img
	names=$(debugfs -R "ls /" "$src" 2> /dev/null | tr ' ' '\n' | grep -vE '^\(|^$|^[0-9]+$|^\.\.?$' | sort -u)
	[ -n "$names" ]
	debugfs -R "ls /" s.img 2> /dev/null > scrambled.txt
	for n in $names; do
		[ ${#n} -ge 3 ] || continue
		! grep -qF -- "$n" scrambled.txt || fail "'$n' is still there"
	done
}

@test "scramble: a directory block with a bad record length: the oracle's bytes, the message on stderr, stdout empty" {
	local src blk
	src=$(fixture ext4-1k)
	cp --sparse=always "$src" bad.img
	blk=$(debugfs -R "blocks /" bad.img 2> /dev/null | awk '{ print $1 }')
	# the second entry's rec_len (at 12 + 4) set to 3: not a multiple of 4
	printf '\003\000' | dd of=bad.img bs=1 seek=$((blk * 1024 + 16)) conv=notrunc status=none
	"$E2IMAGE" -rs bad.img ours.img > out.txt 2> err.txt || true
	"$ORACLE" -rs bad.img theirs.img > /dev/null 2>&1 || true
	cmp ours.img theirs.img
	[ ! -s out.txt ] || fail "stdout: $(cat out.txt)"
	grep -q "corrupt directory block $blk: bad rec_len" err.txt || { cat err.txt >&2; fail "no message"; }
}

@test "scramble: -Qs (to a file and streamed) holds the image of e2fsprogs' -rs, and e2fsprogs converts it back to that; --scramble is -s" {
	local f src failed=""
	for f in $(fixtures); do
		src=$(fixture "$f")
		rm -f q.qcow2 qs.qcow2 theirs.img back.img
		"$ORACLE" -rs "$src" theirs.img > /dev/null 2>&1
		"$E2IMAGE" -Qs "$src" q.qcow2 || { failed="$failed $f(exit)"; continue; }
		"$E2IMAGE" --qcow2 --scramble "$src" - > qs.qcow2
		qemu-img compare -q q.qcow2 theirs.img || failed="$failed $f"
		qemu-img compare -q qs.qcow2 theirs.img || failed="$failed $f(stream)"
		"$ORACLE" -r q.qcow2 back.img 2> /dev/null && cmp -s back.img theirs.img ||
			failed="$failed $f(oracle's conversion)"
	done
	[ -z "$failed" ] || fail "failed on:$failed"
	"$E2IMAGE" --raw --scramble "$(fixture ext4-4k)" long.img
	"$E2IMAGE" -rs "$(fixture ext4-4k)" short.img
	cmp long.img short.img
}

@test "scramble: with a move or -I it is refused, nothing written; the legacy format ignores it, as e2fsprogs does" {
	local src
	src=$(fixture ext2-1k)
	cp --sparse=always "$src" disk
	truncate -s +1M disk
	before=$(sha disk)
	run "$E2IMAGE" -ras -O 1048576 disk
	[ "$status" -eq 1 ] || fail "move: $status"
	run "$E2IMAGE" -I -s disk q.raw
	[ "$status" -eq 1 ] || fail "-I: $status"
	[ "$(sha disk)" = "$before" ]
	"$E2IMAGE" -s "$src" s.e2i
	"$E2IMAGE" "$src" plain.e2i
	cmp -l s.e2i plain.e2i | awk '$1 < 241 || $1 > 252' | grep -q . && fail "the legacy image changed with -s"
	true
}
