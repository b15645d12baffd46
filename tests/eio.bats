#!/usr/bin/env bats
# eio.bats -- a source disk with unreadable sectors, simulated with the
# LD_PRELOAD shim fault/libeio.so (see fault/eio.c: reads that run into a
# bad byte range return the good bytes before it, then EIO; mmap of the
# source fails with ENODEV, so the copy goes through pread).
#
# On the ext4-4k fixture (4 KiB blocks) one 512-byte sector is made bad in
# the middle of:
#   dir     the second block of the directory /files (inode 29)
#   itable  a block of group 0's inode table past the root inode, in the
#           used part (the scan reads it), holding only regular files with
#           their extents in the inode and no xattr block (inodes 129-144):
#           nothing else depends on it
#   journal the first block of the journal (its superblock)
#   super   the primary superblock
# Expected, for -r and -Q (-Q checked through `qemu-img convert`):
#   - exit 2; a `warning:` line naming the bad block number; a line that
#     says the image is `incomplete`;
#   - the image equals the healthy image except the bad block, which is
#     all zeros (the unreadable block is zero-filled, and losing it loses
#     nothing else);
#   - with --strict: exit 1, no output file;
#   - a bad superblock: the open fails, exit 1, a message naming the
#     source, no output file.

load common

SHIM=$TESTS_BUILDDIR/fault/libeio.so

setup_file() {
	local d=$BATS_FILE_TMPDIR img itab dirblk jblk
	[ -f "$SHIM" ] || { echo "no $SHIM (make -C tests all)" >&2; return 1; }
	img=$(fixture ext4-4k) || return 1
	itab=$(dumpe2fs "$img" 2>/dev/null | awk '/Inode table at/ { split($4, a, "-"); print a[1]; exit }')
	dirblk=$(debugfs -R "blocks /files" "$img" 2>/dev/null | awk '{ print $2 }')
	jblk=$(debugfs -R "blocks <8>" "$img" 2>/dev/null | awk '{ print $1 }')
	[ -n "$itab" ] && [ -n "$dirblk" ] && [ -n "$jblk" ] || {
		echo "eio.bats: cannot locate the blocks in $img" >&2; return 1; }
	# inodes 129-144 (block 8 of the table, 16 inodes of 256 bytes): all
	# regular files without an xattr block or an extent tree block
	for i in $(seq 129 144); do echo "stat <$i>"; done |
		debugfs -f - "$img" 2>/dev/null | awk '
			/^Inode: / && $4 != "regular" { bad = 1 }
			/File ACL: [1-9]/ || /ETB/ { bad = 1 }
			END { exit bad }' || {
		echo "eio.bats: inodes 129-144 of $img own metadata blocks: pick another itable block" >&2
		return 1; }
	printf '%s\n' "$img" > "$d/img"
	printf '%s\n' "$dirblk" > "$d/blk.dir"
	printf '%s\n' $((itab + 8)) > "$d/blk.itable"
	printf '%s\n' "$jblk" > "$d/blk.journal"
	# The healthy image, as ours writes it.
	"$E2IMAGE" -r "$img" "$d/healthy.raw" || return 1
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	IMG=$(cat "$BATS_FILE_TMPDIR/img")
	BS=4096
}

blk() { cat "$BATS_FILE_TMPDIR/blk.$1"; }

# with_bad_sector BLOCK CMD...: run CMD with one bad 512-byte sector in the
# middle of BLOCK of $IMG.  (A gcc-sanitized binary would refuse a library
# loaded before libasan; ours is clang's, where this does not matter.)
with_bad_sector() {
	local b=$1
	shift
	E2I_FAULT_PATH=$IMG E2I_FAULT_RANGES=$((b * BS + 1024)):512 \
	LD_PRELOAD=$SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$@"
}

# expected BLOCK: the healthy image with BLOCK zeroed, as expected.raw
expected() {
	cp --sparse=always "$BATS_FILE_TMPDIR/healthy.raw" expected.raw
	dd if=/dev/zero of=expected.raw bs=$BS seek="$1" count=1 conv=notrunc status=none
}

# image_ok STATUS OUTPUT BLOCK RAW: the checks common to -r and -Q
image_ok() {
	local status=$1 output=$2 b=$3 raw=$4 n
	printf '%s\n' "$output" >&2
	[ "$status" -eq 2 ] || fail "exit status $status, expected 2"
	grep -Eq "warning:.*\bblock $b\b" <<< "$output" ||
		fail "no warning line names block $b"
	grep -q 'incomplete' <<< "$output" || fail "no line says the image is incomplete"
	[ "$(stat -c %s "$raw")" -eq "$(fs_bytes "$IMG")" ] || fail "image size $(stat -c %s "$raw")"
	# the bad block is zeros
	n=$(dd if="$raw" bs=$BS skip="$b" count=1 status=none | tr -d '\0' | wc -c)
	[ "$n" -eq 0 ] || fail "block $b of the image is not zero-filled"
	# One unreadable block of an inode table costs only its own inodes.
	! grep -q "warning: group [0-9]*: .*its inodes are skipped" <<< "$output" ||
		fail "a bad inode table block skipped its whole group"
	expected "$b"
	if ! cmp -s expected.raw "$raw"; then
		cmp -l expected.raw "$raw" | awk -v bs=$BS '{ b[int(($1 - 1) / bs)]++ }
			END { n = 0; for (k in b) if (n++ < 20) printf "block %d differs (%d bytes)\n", k, b[k] }' | sort -n -k2 >&2
		fail "the image differs from the healthy image elsewhere than block $b"
	fi
}

check_r() {
	local b
	b=$(blk "$1")
	run with_bad_sector "$b" "$E2IMAGE" -r "$IMG" out.raw
	[ -f out.raw ] || { printf '%s\n' "$output" >&2; fail "no image written (exit $status)"; }
	image_ok "$status" "$output" "$b" out.raw
}

check_Q() {
	local b
	b=$(blk "$1")
	run with_bad_sector "$b" "$E2IMAGE" -Q "$IMG" out.qcow2
	[ -f out.qcow2 ] || { printf '%s\n' "$output" >&2; fail "no image written (exit $status)"; }
	qemu-img check -q out.qcow2 || fail "qemu-img check fails on the -Q image"
	qemu-img convert -O raw out.qcow2 out.raw
	image_ok "$status" "$output" "$b" out.raw
}

check_strict() {
	local b
	b=$(blk "$1")
	run with_bad_sector "$b" "$E2IMAGE" --strict -r "$IMG" out.raw
	printf '%s\n' "$output" >&2
	[ "$status" -eq 1 ] || fail "-r --strict: exit status $status, expected 1"
	[ ! -e out.raw ] || fail "-r --strict left out.raw"
	run with_bad_sector "$b" "$E2IMAGE" --strict -Q "$IMG" out.qcow2
	printf '%s\n' "$output" >&2
	[ "$status" -eq 1 ] || fail "-Q --strict: exit status $status, expected 1"
	[ ! -e out.qcow2 ] || fail "-Q --strict left out.qcow2"
	[ -z "$(ls -A .)" ] || { ls -la >&2; fail "--strict left files behind"; }
}

@test "eio: the shim fails reads of the bad sector only, short read first, and mmap" {
	local b off
	b=$(blk dir)
	off=$((b * BS + 1024))
	# a read starting on the bad sector fails with EIO
	run with_bad_sector "$b" dd if="$IMG" of=/dev/null bs=512 skip=$((off / 512)) count=1
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	# a whole-block read that runs into it is short, then fails
	run with_bad_sector "$b" dd if="$IMG" of=/dev/null bs=$BS skip="$b" count=1 iflag=fullblock
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	# the block before and the block after read fine
	with_bad_sector "$b" dd if="$IMG" of=/dev/null bs=$BS skip=$((b - 1)) count=1 status=none
	with_bad_sector "$b" dd if="$IMG" of=/dev/null bs=$BS skip=$((b + 1)) count=1 status=none
	# cat copies exactly the bytes before the bad sector, then fails
	run with_bad_sector "$b" sh -c 'cat "$1" > head.bin' sh "$IMG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	[ "$(stat -c %s head.bin)" -eq "$off" ]
	cmp -s head.bin <(head -c "$off" "$IMG")
	# another file is untouched
	run with_bad_sector "$b" python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    print("mmap worked")
except OSError as e:
    print("mmap:", e.strerror)
' "$IMG"
	[ "$output" = "mmap: No such device" ]
	cp --sparse=always "$IMG" copy.img
	with_bad_sector "$b" cat copy.img | cmp -s - copy.img
}

@test "eio: unreadable directory block: -r warns, zero-fills it, exit 2" {
	check_r dir
}

@test "eio: unreadable directory block: -Q warns, zero-fills it, exit 2" {
	check_Q dir
}

@test "eio: unreadable inode table block: -r warns, zero-fills it, loses nothing else, exit 2" {
	check_r itable
}

@test "eio: unreadable inode table block: -Q warns, zero-fills it, loses nothing else, exit 2" {
	check_Q itable
}

@test "eio: unreadable journal block: -r warns, zero-fills it, exit 2" {
	check_r journal
}

@test "eio: unreadable journal block: -Q warns, zero-fills it, exit 2" {
	check_Q journal
}

@test "eio: --strict: an unreadable directory block fails -r and -Q, exit 1, no output" {
	check_strict dir
}

@test "eio: --strict: an unreadable inode table block fails -r and -Q, exit 1, no output" {
	check_strict itable
}

@test "eio: --strict: an unreadable journal block fails -r and -Q, exit 1, no output" {
	check_strict journal
}

@test "eio: unreadable superblock: the open fails, exit 1, names the source, no output" {
	local opt out
	for opt in -r -Q; do
		out=out$opt
		run with_bad_sector 0 "$E2IMAGE" $opt "$IMG" "$out"
		printf '%s\n' "$output" >&2
		[ "$status" -eq 1 ] || fail "$opt: exit status $status, expected 1"
		[[ "$output" == *"$IMG"* ]] || fail "$opt: the message does not name $IMG"
		[ ! -e "$out" ] || fail "$opt: left $out"
	done
}
