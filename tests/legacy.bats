#!/usr/bin/env bats
# legacy.bats -- the legacy ("normal") e2image format, neither -r nor -Q:
# the file debugfs -i and dumpe2fs -i read. Ours must equal e2fsprogs'
# byte for byte except the header fields that record the capture itself
# (image_inode and image_time: bytes 244-251), and answer every request
# those tools make the same way. (Bytes 240-243, image_device, also vary:
# the device of whatever the image was written to, a pipe's included.)

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# same_but_capture A B [FIRST]: A and B are equal apart from bytes
# FIRST (default 244) to 251
same_but_capture() {
	local a=$1 b=$2 first=${3:-244} d
	[ "$(stat -c %s "$a")" = "$(stat -c %s "$b")" ] ||
		fail "sizes differ: $(stat -c %s "$a") vs $(stat -c %s "$b")"
	# cmp -l counts bytes from 1
	d=$(cmp -l "$a" "$b" | awk -v f=$((first + 1)) '$1 < f || $1 > 252' | head -5)
	[ -z "$d" ] || fail "$a and $b differ (offset+1, octal bytes): $d"
}

# requests IMG: what debugfs -i and dumpe2fs -i answer about IMG (the image
# path removed): superblock and descriptors, many inodes, bitmap lookups
requests() {
	local img=$1 n
	n=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Inode count:/ { print $2 + 0 }')
	dumpe2fs -i "$img" 2>&1 | grep -v '^dumpe2fs [0-9]'
	{
		echo stats
		for i in 2 7 8 11 12 13 14 15 20 50 100 $((n / 2)) $n; do
			echo "stat <$i>"; echo "testi <$i>"
		done
		for b in 0 1 2 50 100 500 1000 5000; do echo "testb $b"; done
		echo "ffb 10"; echo "ffi"
		echo "icheck 1 2 100 1000"
		echo "ncheck 2 11 12 13"
	} > req.txt
	debugfs -i -f req.txt "$img" 2>&1 | grep -v '^debugfs [0-9]'
}

@test "legacy: every fixture's image equals e2fsprogs' but for the capture fields" {
	local f src failed=""
	for f in $(fixtures); do
		src=$(fixture "$f")
		rm -f ours.e2i theirs.e2i
		"$ORACLE" "$src" theirs.e2i 2>/dev/null || fail "oracle failed on $f"
		if ! "$E2IMAGE" "$src" ours.e2i 2> err.txt; then
			cat err.txt >&2
			failed="$failed $f(exit)"
			continue
		fi
		[ ! -s err.txt ] || { cat err.txt >&2; failed="$failed $f(stderr)"; }
		same_but_capture ours.e2i theirs.e2i || failed="$failed $f"
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "legacy: debugfs -i and dumpe2fs -i answer the same on ours and e2fsprogs' image" {
	local f src failed=""
	for f in $(fixtures); do
		src=$(fixture "$f")
		rm -f ours.e2i theirs.e2i
		"$ORACLE" "$src" theirs.e2i 2>/dev/null
		"$E2IMAGE" "$src" ours.e2i
		requests ours.e2i | sed 's|ours\.e2i|IMG|g' > ours.txt
		requests theirs.e2i | sed 's|theirs\.e2i|IMG|g' > theirs.txt
		# the requests were answered, not refused
		grep -q 'Filesystem UUID' ours.txt || failed="$failed $f(no stats)"
		grep -q 'Inode: 2 ' ours.txt || failed="$failed $f(no stat)"
		grep -q 'marked in use' ours.txt || failed="$failed $f(no testb/testi)"
		cmp -s ours.txt theirs.txt || { diff theirs.txt ours.txt | head -20 >&2; failed="$failed $f"; }
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "legacy: the layout holds the source's own superblock, descriptors and bitmaps" {
	local src bs off
	src=$(fixture ext4-4k)
	"$E2IMAGE" "$src" ours.e2i
	bs=4096
	# the header: magic, descriptor, block size, offset of the superblock
	[ "$(dd if=ours.e2i bs=1 skip=4 count=14 status=none)" = "Ext2 Image 1.0" ]
	[ "$(od -An -tu4 -j204 -N4 ours.e2i | tr -d ' ')" = $bs ]
	off=$(od -An -tu4 -j284 -N4 ours.e2i | tr -d ' ')
	[ "$off" = $bs ]
	# the superblock is the source's (1024 bytes at 1024)
	cmp <(dd if="$src" bs=1024 skip=1 count=1 status=none) \
	    <(dd if=ours.e2i bs=1 skip=$off count=1024 status=none)
	# the descriptors follow it: the source's block 1
	cmp <(dd if="$src" bs=$bs skip=1 count=1 status=none) \
	    <(dd if=ours.e2i bs=$bs skip=2 count=1 status=none)
	# the inode tables start after them; the header says where
	off=$(od -An -tu4 -j288 -N4 ours.e2i | tr -d ' ')
	[ "$off" = $((3 * bs)) ]
	# the first inode table block holds the source's
	itab=$(dumpe2fs "$src" 2>/dev/null | awk '/Inode table at/ { sub(/-.*/, "", $4); print $4; exit }')
	cmp <(dd if="$src" bs=$bs skip=$itab count=1 status=none) \
	    <(dd if=ours.e2i bs=$bs skip=3 count=1 status=none)
}

@test "legacy: to stdout, a file and a pipe get the same bytes as a named file" {
	local src
	src=$(fixture ext4-1k)
	"$E2IMAGE" "$src" named.e2i
	"$E2IMAGE" "$src" - > stdout.e2i
	"$E2IMAGE" "$src" - | cat > piped.e2i
	same_but_capture stdout.e2i named.e2i
	same_but_capture piped.e2i named.e2i 240
	dumpe2fs -i piped.e2i > /dev/null 2>&1
}

@test "legacy: an existing file is replaced whole (no stale bytes), mode kept" {
	local src
	src=$(fixture ext2-1k)
	"$E2IMAGE" "$src" fresh.e2i
	head -c 3000000 /dev/urandom > old.e2i
	chmod 640 old.e2i
	"$E2IMAGE" "$src" old.e2i
	same_but_capture old.e2i fresh.e2i
	[ "$(stat -c %a old.e2i)" = 640 ]
}

@test "legacy: refusals as e2fsprogs' (-a, -b, offsets, -c, -p) and -n; nothing written" {
	local src
	src=$(fixture ext2-1k)
	for args in "-a" "-b 8193" "-O 4096" "-c" "-p" "-n"; do
		rm -f out.e2i
		run "$E2IMAGE" $args "$src" out.e2i
		[ "$status" -eq 1 ] || fail "exit $status for $args"
		[ ! -e out.e2i ] || fail "$args left out.e2i"
	done
}

@test "legacy: a descriptor naming an inode table outside the filesystem: warned, imaged through the backup, exit 2 (e2fsprogs: no image)" {
	local src ipg n
	src=$(fixture ext4-1k)
	cp --sparse=always "$src" bad.img
	debugfs -w -R "set_bg 1 inode_table 99999999" bad.img 2>/dev/null
	debugfs -w -R "set_bg 1 checksum calc" bad.img 2>/dev/null
	run "$ORACLE" bad.img theirs.e2i
	[ "$status" -ne 0 ]
	run "$E2IMAGE" bad.img ours.e2i
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"group 1: "* ]] || fail "no warning for group 1: $output"
	# the inodes of group 1 read as on the source (through the backup
	# descriptors, as e2fsck reads them)
	ipg=$(dumpe2fs -h "$src" 2>/dev/null | awk -F: '/^Inodes per group:/ { print $2 + 0 }')
	for n in 2 $((ipg + 1)) $((ipg + 2)); do
		diff <(debugfs -R "stat <$n>" "$src" 2>&1 | tail -n +2) \
		     <(debugfs -i -R "stat <$n>" ours.e2i 2>&1 | tail -n +2) ||
			fail "inode $n differs"
	done
}

@test "legacy: a truncated source: missing inode table blocks warned about, exit 2" {
	local src bs
	src=$(fixture ext2-1k)
	cp --sparse=always "$src" cut.img
	truncate -s 1M cut.img
	run "$E2IMAGE" cut.img ours.e2i
	[ "$status" -eq 2 ] || fail "exit $status: $output"
	[[ "$output" == *"past the end of cut.img"* ]] || fail "no warning: $output"
	dumpe2fs -i ours.e2i > /dev/null 2>&1
	# one warning per group, not per piece read
	n=$(grep -c 'inode table blocks .* past the end' <<< "$output")
	u=$(grep -o 'group [0-9]*: inode table blocks' <<< "$output" | sort -u | wc -l)
	[ "$n" = "$u" ] || fail "$n warnings for $u groups"
	# --strict: stops there, says why, leaves nothing
	run "$E2IMAGE" --strict cut.img strict.e2i
	[ "$status" -eq 1 ] || fail "strict: exit $status"
	[[ "$output" == *"past the end of cut.img"* ]] || fail "strict: no reason given: $output"
	[ ! -e strict.e2i ]
}

@test "legacy: a write failure leaves no image and exits 1" {
	local src
	src=$(fixture ext2-1k)
	run "$E2IMAGE" "$src" /dev/full
	[ "$status" -eq 1 ] || fail "exit $status"
	mkdir ro && chmod 500 ro
	if [ "$(id -u)" != 0 ]; then
		run "$E2IMAGE" "$src" ro/out.e2i
		[ "$status" -eq 1 ]
	fi
	( ulimit -f 100; "$E2IMAGE" "$src" small.e2i ) 2> err.txt && fail "exit 0 with ulimit -f"
	[ ! -e small.e2i ] || fail "a partial image was left"
	! ls small.e2i.* 2>/dev/null || fail "a temporary file was left"
}
