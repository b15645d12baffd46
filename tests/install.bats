#!/usr/bin/env bats
# install.bats -- e2image -I TARGET IMAGE: the metadata an image holds
# written back onto the filesystem it was taken from. Images are taken of a
# filesystem with known files, the filesystem is damaged (inodes cleared,
# inode table blocks zeroed), the image installed: e2fsck must then find it
# clean and every file must read as it was. Data written after the image was
# taken must survive: only metadata the image holds is written.

load common

setup_file() {
	local d=$BATS_FILE_TMPDIR i
	mkdir -p "$d/tree/dir"
	for i in $(seq 1 30); do
		head -c $((i * 7919 % 200000 + 1)) /dev/urandom > "$d/tree/f$i"
	done
	for i in $(seq 1 40); do echo "$i" > "$d/tree/dir/s$i"; done
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 1024 \
		-U 6b0f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e -E hash_seed=6b0f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e \
		-d "$d/tree" "$d/fs.img" 32M
	"$E2IMAGE" "$d/fs.img" "$d/img.legacy"
	"$E2IMAGE" -r "$d/fs.img" "$d/img.raw"
	"$E2IMAGE" -Q "$d/fs.img" "$d/img.qcow2"
	# a raw image copied without its holes: every block reads as data
	cp --sparse=never "$d/img.raw" "$d/img.dense"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	T=$BATS_FILE_TMPDIR
}

# damage IMG: clear the root and a file's inode, point group 1's descriptor
# at a wrong inode table, zero 8 inode table blocks
damage() {
	local itab
	debugfs -w -R "clri <2>" "$1" 2> /dev/null
	debugfs -w -R "clri <12>" "$1" 2> /dev/null
	debugfs -w -R "set_bg 1 inode_table 3" "$1" 2> /dev/null
	debugfs -w -R "set_bg 1 checksum calc" "$1" 2> /dev/null
	itab=$(dumpe2fs "$1" 2> /dev/null | awk '/Inode table at/ { split($4, a, "-"); print a[1]; exit }')
	dd if=/dev/zero of="$1" bs=1024 seek="$itab" count=8 conv=notrunc status=none
	! e2fsck -fn "$1" > /dev/null 2>&1 || fail "the damage went unnoticed"
}

# intact IMG: e2fsck -fn clean and every file as in the tree
intact() {
	local f
	e2fsck -fn "$1" > fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck -fn: not clean"; }
	for f in $(cd "$T/tree" && find . -type f | sed 's|^\./||'); do
		debugfs -R "dump /$f got" "$1" 2> /dev/null
		cmp -s got "$T/tree/$f" || fail "/$f differs"
	done
}

@test "install: from a legacy, a raw, a qcow2 and a dense raw image, a damaged filesystem comes back whole" {
	local kind
	for kind in legacy raw qcow2 dense; do
		cp --sparse=always "$T/fs.img" t.img
		damage t.img
		run "$E2IMAGE" -I t.img "$T/img.$kind"
		[ "$status" -eq 0 ] || fail "$kind: exit $status: $output"
		intact t.img || fail "after installing $kind"
	done
}

@test "install: a raw or qcow2 image writes only metadata: data written since survives, even from a dense copy" {
	local kind blk
	# a data block of /f3, overwritten after the images were taken
	blk=$(debugfs -R "blocks /f3" "$T/fs.img" 2> /dev/null | awk '{ print $1 }')
	[ -n "$blk" ]
	for kind in raw qcow2 dense; do
		cp --sparse=always "$T/fs.img" t.img
		printf 'newer data%.0s' $(seq 100) | dd of=t.img bs=1024 seek="$blk" count=1 conv=notrunc status=none
		dd if=t.img bs=1024 skip="$blk" count=1 status=none > want
		damage t.img
		"$E2IMAGE" -I t.img "$T/img.$kind"
		cmp want <(dd if=t.img bs=1024 skip="$blk" count=1 status=none) ||
			fail "$kind: the newer data block was overwritten"
		e2fsck -fn t.img > /dev/null 2>&1 || fail "$kind: not clean"
	done
}

@test "install: a legacy install equals e2fsprogs' install on the metadata e2fsck checks" {
	cp --sparse=always "$T/fs.img" ours.img
	damage ours.img
	cp --sparse=always ours.img theirs.img
	# the same last write time (e2fsck prints it), whichever second each
	# install ends in
	E2FSPROGS_FAKE_TIME=1700000000 "$E2IMAGE" -I ours.img "$T/img.legacy"
	E2FSPROGS_FAKE_TIME=1700000000 "$ORACLE" -I theirs.img "$T/img.legacy" 2> /dev/null
	diff <(e2fsck_out theirs.img) <(e2fsck_out ours.img)
	diff <(dumpe2fs theirs.img 2>&1 | grep -v 'Last write time') <(dumpe2fs ours.img 2>&1 | grep -v 'Last write time')
}

@test "install: another filesystem as target is refused, untouched; -f installs anyway, with a warning" {
	local before
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 1024 "$BATS_TEST_TMPDIR/other.img" 32M
	before=$(sha other.img)
	for kind in legacy raw qcow2; do
		run "$E2IMAGE" -I other.img "$T/img.$kind"
		[ "$status" -eq 1 ] || fail "$kind: exit $status"
		[[ "$output" == *"does not hold the filesystem of"*"UUID"* ]] || fail "$kind: $output"
		[ "$(sha other.img)" = "$before" ] || fail "$kind: the target was written"
	done
	# a different size, same UUID
	cp --sparse=always "$T/fs.img" bigger.img
	truncate -s 64M bigger.img
	resize2fs bigger.img > /dev/null 2>&1
	before=$(sha bigger.img)
	run "$E2IMAGE" -I bigger.img "$T/img.raw"
	[ "$status" -eq 1 ] && [[ "$output" == *"blocks"* ]] || fail "size: exit $status: $output"
	[ "$(sha bigger.img)" = "$before" ]
	# forced
	run "$E2IMAGE" -f -I other.img "$T/img.legacy"
	[ "$status" -eq 0 ] || fail "-f: exit $status: $output"
	[[ "$output" == *"warning: installing"*"(-f)"* ]] || fail "-f: no warning: $output"
}

@test "install: a target whose primary superblock is destroyed is recognised by its backup" {
	cp --sparse=always "$T/fs.img" t.img
	damage t.img
	dd if=/dev/zero of=t.img bs=1024 seek=1 count=1 conv=notrunc status=none
	run "$E2IMAGE" -I t.img "$T/img.legacy"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	intact t.img
}

@test "install: a mounted target is refused, even with -f (libext2fs' pretend-mount variables)" {
	cp --sparse=always "$T/fs.img" t.img
	before=$(sha t.img)
	for v in EXT2FS_PRETEND_RW_MOUNT EXT2FS_PRETEND_RO_MOUNT; do
		run env $v=1 "$E2IMAGE" -f -I t.img "$T/img.raw"
		[ "$status" -eq 1 ] || fail "$v: exit $status"
		[[ "$output" == *"is mounted"* ]] || fail "$v: $output"
	done
	[ "$(sha t.img)" = "$before" ]
}

@test "install: what is not an image, the image as its own target, -c/-n/-O, and -r on a legacy image are refused" {
	cp --sparse=always "$T/fs.img" t.img
	before=$(sha t.img)
	head -c 100000 /dev/urandom > junk
	run "$E2IMAGE" -I t.img junk
	[ "$status" -eq 1 ] && [[ "$output" == *"not an e2image image"* ]] || fail "junk: $output"
	cp "$T/img.raw" self.raw
	run "$E2IMAGE" -I self.raw self.raw
	[ "$status" -eq 1 ] || fail "self: exit $status"
	for args in "-c" "-n" "-O 1024"; do
		run "$E2IMAGE" -I $args t.img "$T/img.raw"
		[ "$status" -eq 1 ] || fail "$args: exit $status"
	done
	run "$E2IMAGE" -I -r t.img "$T/img.legacy"
	[ "$status" -eq 1 ] || fail "-r with a legacy image: exit $status"
	run "$E2IMAGE" -I -Q t.img "$T/img.raw"
	[ "$status" -eq 1 ] || fail "-Q with a raw image: exit $status"
	[ "$(sha t.img)" = "$before" ]
}

@test "install: onto a loop device: exclusive open (refused while held), then the filesystem comes back whole" {
	local dev
	[ "$(id -u)" -eq 0 ] || skip "losetup needs root"
	command -v losetup > /dev/null || skip "no losetup"
	cp --sparse=always "$T/fs.img" t.img
	damage t.img
	dev=$(losetup -f --show t.img 2> losetup.err) || skip "losetup: $(cat losetup.err)"
	echo "$dev" > loopdev
	# held exclusively by another process: refused
	python3 -c 'import os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL); print("held", flush=True); time.sleep(30)' "$dev" > held.out &
	holder=$!
	for i in $(seq 50); do grep -q held held.out && break; sleep 0.1; done
	run "$E2IMAGE" -I "$dev" "$T/img.raw"
	kill $holder; wait $holder 2> /dev/null || true
	[ "$status" -eq 1 ] || fail "exit $status while held: $output"
	for kind in legacy qcow2; do
		run "$E2IMAGE" -I "$dev" "$T/img.$kind"
		[ "$status" -eq 0 ] || fail "$kind: exit $status: $output"
	done
	losetup -d "$dev"; rm -f loopdev
	intact t.img
}

teardown() {
	[ ! -f "$BATS_TEST_TMPDIR/loopdev" ] || losetup -d "$(cat "$BATS_TEST_TMPDIR/loopdev")" 2> /dev/null || true
}

@test "install: a raw or qcow2 image that is itself damaged (garbage descriptors) is refused; the target is untouched" {
	local before
	cp --sparse=always "$T/img.raw" bad.raw
	head -c 1024 /dev/urandom | dd of=bad.raw bs=1024 seek=2 conv=notrunc status=none
	"$E2IMAGE" -Q bad.raw bad.qcow2 2> /dev/null || qemu-img convert -f raw -O qcow2 bad.raw bad.qcow2
	cp --sparse=always "$T/fs.img" t.img
	before=$(sha t.img)
	for img in bad.raw bad.qcow2; do
		run "$E2IMAGE" -I t.img "$img"
		[ "$status" -eq 1 ] || fail "$img: exit $status: $output"
		[ "$(sha t.img)" = "$before" ] || fail "$img: the target was written"
	done
}

@test "install: zero blocks of the image's inode tables (holes in a raw image) are written: garbage over unused inodes is repaired (ext3)" {
	local d=$BATS_TEST_TMPDIR itab ipb kind
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext3 -b 4096 -d "$T/tree" e3.img 64M
	"$E2IMAGE" -r e3.img e3.raw
	"$E2IMAGE" -Q e3.img e3.qcow2
	itab=$(dumpe2fs e3.img 2> /dev/null | awk '/Inode table at/ { split($4, a, "-"); print a[2]; exit }')
	for kind in raw qcow2; do
		cp --sparse=always e3.img t.img
		# the last blocks of group 0's inode table: unused inodes, zeros
		head -c 16384 /dev/urandom | dd of=t.img bs=4096 seek=$((itab - 3)) conv=notrunc status=none
		! e2fsck -fn t.img > /dev/null 2>&1 || fail "the damage went unnoticed"
		run "$E2IMAGE" -I t.img "e3.$kind"
		[ "$status" -eq 0 ] || fail "$kind: exit $status: $output"
		e2fsck -fn t.img > fsck.out 2>&1 || { cat fsck.out >&2; fail "$kind: not clean"; }
	done
}

@test "install: a FIFO as target is refused at once; a legacy image whose header misplaces the inode tables is refused" {
	cp --sparse=always "$T/fs.img" t.img
	before=$(sha t.img)
	mkfifo fifo
	run timeout 10 "$E2IMAGE" -I fifo "$T/img.raw"
	[ "$status" -eq 1 ] && [[ "$output" == *"not a filesystem image file or a block device"* ]] ||
		fail "fifo: $status: $output"
	cp "$T/img.legacy" bad.legacy
	printf '\0\0\0\0' | dd of=bad.legacy bs=1 seek=288 conv=notrunc status=none
	run "$E2IMAGE" -I t.img bad.legacy
	[ "$status" -eq 1 ] && [[ "$output" == *"puts the inode tables at byte 0"* ]] || fail "header: $status: $output"
	[ "$(sha t.img)" = "$before" ]
}
