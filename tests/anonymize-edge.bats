#!/usr/bin/env bats
# anonymize-edge.bats -- --anonymize on crafted corners of the format (the
# second review's cases): bytes past the known inode fields, a longer
# hash-tree root info, index nodes the root's depth or count does not
# reach, a block that is one inode's directory block and another's extent
# node. Each plants markers the image must not hold, and e2fsck -fn must
# say on the image what it says on the source (names masked).

load common

setup() {
	cd "$BATS_TEST_TMPDIR"
	export E2FSPROGS_FAKE_TIME=1700000000
}

UUID=6b2c3d4e-5f60-4172-8394-a5b6c7d8e9fa

# mkfs TREE IMG SIZE [mke2fs options]: a fixed filesystem from TREE
mkfs() {
	local t=$1 img=$2 size=$3
	shift 3
	mke2fs -q -F -t ext4 -b 1024 -U $UUID -E hash_seed=$UUID "$@" -d "$t" "$img" "$size" > /dev/null
}

# same_fsck SRC IMG: e2fsck -fn finds on IMG what it finds on SRC
same_fsck() {
	diff <(fsck_n "$1") <(fsck_n "$2") >&2 || fail "$1: e2fsck -fn differs (< source, > image)"
}

# poke IMG OFFSET FORMAT VALUE...: python struct.pack(FORMAT, VALUE...) at OFFSET
poke() {
	python3 -c 'import struct, sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2]))
f.write(struct.pack(sys.argv[3], *map(int, sys.argv[4:])))' "$@"
}

@test "anonymize-edge: an inode with i_extra_isize 64: the bytes past the known fields are zeroed, its xattrs renamed, its checksum still right" {
	mkdir -p t && : > t/f && : > t/g
	mkfs t a.img 8M -I 256
	# the marker where no field is known (bytes 160..191), then the bigger
	# extra size (debugfs writes the inode again: a right checksum)
	loc=$(debugfs -R "imap /f" a.img 2> /dev/null |
		awk '/located at block/ { gsub(",", "", $4); print "$(( " $4 " * 1024 + " $NF " ))" }')
	eval "loc=$loc"
	printf 'MARKextra%.0s' 1 2 3 | head -c 32 | dd of=a.img bs=1 seek=$((loc + 160)) conv=notrunc status=none
	debugfs -w -n -R "sif /f extra_isize 64" a.img > /dev/null 2>&1
	# another one with an xattr after the bigger extra fields
	debugfs -w -f - a.img > /dev/null 2>&1 <<-CMDS
	sif /g extra_isize 64
	ea_set /g user.MARKname MARKvalue
	CMDS
	debugfs -R "stat /f" a.img 2> /dev/null | grep -q "Size of extra inode fields: 64"
	[ "$(grep -ca MARKextra a.img)" = 1 ] && grep -qa MARKname a.img
	e2fsck -fn a.img > /dev/null 2>&1 || fail "the source is not clean"
	"$E2IMAGE" -r --anonymize a.img o.img 2> err.txt
	[ "$(grep -ca MARK o.img || true)" = 0 ] || fail "$(grep -aoE 'MARK[a-z]*' o.img | sort -u)"
	grep -q "nothing was left unscrubbed" err.txt
	ino=$(debugfs -R "stat /g" a.img 2> /dev/null | awk '/^Inode:/ { print $2 }')
	debugfs -R "ea_list <$ino>" o.img 2>&1 | grep -q 'user\.[a-z]\{8\}' || fail "$(debugfs -R "ea_list <$ino>" o.img 2>&1)"
	same_fsck a.img o.img
}

@test "anonymize-edge: a hash-tree root with a longer info area (200 and 201 bytes): the info past its 8 bytes is zeroed, the tree still read" {
	mkdir -p t/h
	for i in $(seq 200); do : > "t/h/MARKentry-$i"; done
	mkfs t base.img 8M -O ^metadata_csum
	e2fsck -fyD base.img > /dev/null 2>&1 || true
	root=$(debugfs -R "bmap /h 0" base.img 2> /dev/null)
	for il in 200 201; do
		cp base.img r$il.img
		# the entries move behind an info area of il bytes that holds a marker
		python3 - r$il.img "$root" $il <<-'PY'
		import struct, sys
		img, blk, il = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		with open(img, 'r+b') as f:
		    f.seek(blk * 1024); b = bytearray(f.read(1024))
		    count = struct.unpack_from('<H', b, 34)[0]
		    ents = bytes(b[36:32 + count * 8])
		    b[29] = il
		    b[32:] = bytes(1024 - 32)
		    b[32:24 + il] = (b'MARKinfo' * 64)[:il - 8]
		    off = 24 + il
		    struct.pack_into('<HH', b, off, (1024 - off) // 8, count)
		    b[off + 4:off + 4 + len(ents)] = ents
		    f.seek(blk * 1024); f.write(b)
		PY
		debugfs -R "htree /h" r$il.img 2> /dev/null | grep -q "Info length: $il"
		grep -qa MARKinfo r$il.img
		"$E2IMAGE" -r --anonymize r$il.img o$il.img 2> err$il.txt
		[ "$(grep -ca MARK o$il.img || true)" = 0 ] || fail "$il: $(grep -aoE 'MARK[a-z]*' o$il.img | sort -u)"
		grep -q "200 in hash-indexed directories" err$il.txt || fail "$il: $(cat err$il.txt)"
		same_fsck r$il.img o$il.img
	done
}

@test "anonymize-edge: index nodes as e2fsck reads them, whatever the root's depth and count say (damaged roots, damaged nodes)" {
	local long failed="" s spec b n
	long=$(printf 'n%.0s' $(seq 150))
	mkdir -p t/h
	for i in $(seq 1200); do : > "t/h/$long$i"; done
	mkfs t csum.img 16M
	mkfs t nocsum.img 16M -O ^metadata_csum
	for s in csum nocsum; do
		e2fsck -fyD $s.img > /dev/null 2>&1 || true
		debugfs -R "htree /h" $s.img 2> /dev/null | grep -q "Indirect levels: 1" || fail "$s: no two-level tree"
		b=$(debugfs -R "bmap /h 0" $s.img 2> /dev/null)
		# the first interior node, named by the root's first entry
		n=$(debugfs -R "htree /h" $s.img 2> /dev/null | awk '/^Entry #0:/ { print $NF; exit }')
		n=$(debugfs -R "bmap /h $n" $s.img 2> /dev/null)
		for spec in levels:0 levels:2 rootcount:0 nodelimit:5 nodecount:200 nodecount:0; do
			cp $s.img d.img
			case $spec in
			levels:*) poke d.img $((b * 1024 + 30)) '<B' ${spec#*:} ;;
			rootcount:*) poke d.img $((b * 1024 + 34)) '<H' ${spec#*:} ;;
			nodelimit:*) poke d.img $((n * 1024 + 8)) '<H' ${spec#*:} ;;
			nodecount:*) poke d.img $((n * 1024 + 10)) '<H' ${spec#*:} ;;
			esac
			"$E2IMAGE" -r --anonymize d.img o.img 2> err.txt || { failed="$failed $s-$spec(exit)"; continue; }
			# a name kept (no candidate in a range) is said in the report
			[ "$(grep -ca nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn o.img || true)" = 0 ] ||
				grep -q "names kept: no other name" err.txt || failed="$failed $s-$spec(leak)"
			diff <(fsck_n d.img) <(fsck_n o.img) > $s-$spec.diff || failed="$failed $s-$spec(fsck)"
		done
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "anonymize-edge: a block that is a directory's and another inode's extent node stays the node, and e2fsck finds the same" {
	mkdir -p t/d
	for i in 1 2 3; do : > "t/d/MARKent$i"; done
	# eight extents: a tree of depth 1, one node block
	python3 -c '
f = open("t/frag", "wb")
for i in range(8):
    f.seek(i * 8192); f.write(b"x" * 1024)'
	mkfs t a.img 8M
	node=$(debugfs -R "stat /frag" a.img 2> /dev/null | grep -oE '\(ETB0\):[0-9]+' | cut -d: -f2)
	[ -n "$node" ]
	# the directory's only extent now starts at the file's node
	debugfs -w -R "sif /d block[5] $node" a.img > /dev/null 2>&1
	e2fsck -fn a.img 2>&1 | grep -q "Multiply-claimed block(s) in inode 12: $node"
	"$E2IMAGE" -r --anonymize a.img o.img 2> /dev/null
	cmp <(dd if=a.img bs=1024 skip=$node count=1 status=none) \
	    <(dd if=o.img bs=1024 skip=$node count=1 status=none)
	[ "$(grep -ca MARK o.img || true)" = 0 ]
	same_fsck a.img o.img
}

@test "anonymize-edge: xattr names are counted per length: fourteen 3-letter names do not use up the 1-letter ones" {
	mkdir -p t && : > t/f
	mkfs t a.img 8M -I 1024
	{
		for n in aaa aab aac aad aae aaf aag aah aai aaj aak aal aam aan; do
			echo "ea_set /f user.$n v"
		done
		echo "ea_set /f user.z v"
		echo "ea_set /f user.y v"
	} | debugfs -w -f - a.img > /dev/null 2>&1
	[ "$(debugfs -R "ea_list /f" a.img 2> /dev/null | grep -o 'user\.' | wc -l)" = 16 ]
	"$E2IMAGE" -r --anonymize a.img o.img 2> err.txt
	grep -q "16 xattrs" err.txt && grep -q "nothing was left unscrubbed" err.txt || fail "$(cat err.txt)"
	same_fsck a.img o.img
}

@test "anonymize-edge: the map: none from a dry run, none through a symlink (dangling or to the image), removed when a stream fails after it was put in place" {
	local end
	mkdir -p t/d && : > t/d/MARKname
	mkfs t a.img 8M
	run "$E2IMAGE" -rn --anonymize --anonymize-map=dry.txt a.img -
	[ "$status" = 0 ] && [ ! -e dry.txt ] || fail "dry run: $status, $(ls)"
	ln -s nowhere dangling.txt
	ln -s o.img to-image.txt
	for m in dangling.txt to-image.txt; do
		run "$E2IMAGE" -r --anonymize --anonymize-map=$m a.img o.img
		[ "$status" = 1 ] && [[ $output == *"$m is a symbolic link"* ]] || fail "$m: $status $output"
		[ ! -e o.img ] && [ ! -e nowhere ] && [ -L $m ]
	done
	# a reader that takes the captured blocks and goes: the stream's
	# zeros up to the end of the filesystem find no one, after the commit
	end=$("$E2IMAGE" -rn --anonymize a.img - 2> /dev/null | awk 'END { print ($NF + 1) * 1024 }')
	[ "$end" -lt $((4096 * 1024)) ]
	run bash -c '"$0" -r --anonymize --anonymize-map=m.txt "$1" - 2> err.txt |
		python3 -c "import sys; n = int(sys.argv[1])
while n > 0:
    b = sys.stdin.buffer.read(min(n, 65536)); n -= len(b)
    if not b: break" "$2"; exit ${PIPESTATUS[0]}' "$E2IMAGE" a.img "$end"
	[ "$status" = 1 ] || fail "status $status: $(cat err.txt)"
	grep -q "m.txt removed" err.txt || fail "$(cat err.txt)"
	[ ! -e m.txt ] || fail "the map of a failed run is there: $(cat m.txt)"
}

# same_tables SRC IMG: the descriptors, reserved GDT blocks, bitmaps (as
# dumpe2fs reads them) and the journal's superblock are the source's
same_tables() {
	local b
	diff <(dumpe2fs "$1" 2> /dev/null) <(dumpe2fs "$2" 2> /dev/null) >&2 ||
		fail "$2: dumpe2fs differs"
	# group 0's descriptor and reserved GDT blocks, its bitmaps, the
	# journal's superblock
	for b in $(seq 2 65) $(dumpe2fs "$1" 2> /dev/null |
			awk '/^Group 0:/ { g = 1 } g && /bitmap at/ { print $4 } /^Group 1:/ { exit }') \
		 $(debugfs -R "bmap <8> 0" "$1" 2> /dev/null); do
		cmp <(dd if="$1" bs=1024 skip=$b count=1 status=none) \
		    <(dd if="$2" bs=1024 skip=$b count=1 status=none) || fail "$2: block $b differs"
	done
}

@test "anonymize-edge: metadata a damaged inode claims as content stays metadata (inline entries read as block numbers; extents on a bitmap and the descriptors; an xattr block on the journal's superblock)" {
	mkdir -p t/d u/e u/g
	: > t/d/MARKaa && : > t/d/MARKbb
	: > u/e/MARKe && : > u/g/MARKg && echo x > u/x
	mkfs t a.img 8M -O inline_data
	mkfs u b.img 8M
	dumpe2fs b.img 2> /dev/null | grep -q "Group descriptors at 2-2" &&
		dumpe2fs b.img 2> /dev/null | grep -q "Block bitmap at 66 "
	# the inline directory loses its flag: its entries (parent 2, ...) are
	# now a block map naming the descriptors and reserved GDT blocks
	debugfs -w -R "sif /d flags 0" a.img > /dev/null 2>&1
	e2fsck -fn a.img 2>&1 | grep -q "Multiply-claimed block(s) in inode 12: 2"
	j=$(debugfs -R "bmap <8> 0" b.img 2> /dev/null)
	debugfs -w -f - b.img > /dev/null 2>&1 <<-CMDS
	sif /e block[5] 66
	sif /g block[5] 2
	sif /x file_acl $j
	CMDS
	e2fsck -fn b.img 2>&1 | grep -q "bad extended attribute block $j"
	for s in a b; do
		"$E2IMAGE" -r --anonymize $s.img o$s.img 2> err$s.txt || true
		same_tables $s.img o$s.img
		same_fsck $s.img o$s.img
		grep -q "metadata blocks .* were copied as that metadata" err$s.txt || fail "$s: $(cat err$s.txt)"
	done
	# the names left in /d's i_block: e2fsck prints them as block numbers
	grep -q "damaged inodes whose block map holds bytes that are no block numbers.*: 1$" erra.txt ||
		fail "$(cat erra.txt)"
	[ "$(grep -ca MARK ob.img || true)" = 0 ]
	grep -q "nothing was left unscrubbed" errb.txt
}

@test "anonymize-edge: 253 one-byte names in a linear directory: every name but one changes and none is given twice" {
	mkdir -p t/d
	python3 -c '
import os
for b in range(1, 256):
    if b not in (0x2e, 0x2f):
        open(os.path.join(b"t/d", bytes([b])), "w").close()'
	mkfs t fs.img 8M -O ^dir_index
	"$E2IMAGE" -r --anonymize fs.img an.raw 2> err
	grep -q 'names kept: .*: 1$' err || fail "$(cat err)"
	same_fsck fs.img an.raw
	# and the names did change: 252 of the 253 differ from the source's
	[ "$(debugfs -R 'ls -p /d' an.raw 2>/dev/null | sort | comm -12 - <(debugfs -R 'ls -p /d' fs.img 2>/dev/null | sort) | wc -l)" -le 3 ]
}

@test "anonymize-edge: a casefolded directory with 227 one-byte names (128 of them bytes from 0x80): none kept, none folding to another" {
	mkdir -p t/d
	python3 -c '
import os
for b in range(1, 256):
    if b not in (0x2e, 0x2f) and not 0x61 <= b <= 0x7a:
        open(os.path.join(b"t/d", bytes([b])), "w").close()'
	mkfs t fs.img 8M -O casefold,^dir_index -E encoding=utf8
	debugfs -w -R "sif /d flags 0x40080000" fs.img 2> /dev/null  # casefold, extents
	"$E2IMAGE" -r --anonymize fs.img an.raw 2> err
	grep -q 'nothing was left unscrubbed' err || fail "$(cat err)"
	same_fsck fs.img an.raw
}

# flip IMG OFFSET: the byte at OFFSET, changed
flip() {
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); c = f.read(1)
f.seek(o); f.write(bytes([c[0] ^ 0x5a]))' "$@"
}

# inode_at IMG PATH: the byte offset of PATH's inode in IMG
inode_at() {
	local bs blk off
	bs=$(dumpe2fs -h "$1" 2> /dev/null | awk '/^Block size:/ { print $3 }')
	read -r blk off < <(debugfs -R "imap $2" "$1" 2> /dev/null |
		awk '/located at block/ { gsub(",", "", $4); print $4, $NF }')
	echo $((blk * bs + off))
}

@test "anonymize-edge: checksums follow the change: right ones stay right, wrong ones stay wrong (directory leaf, hash-tree root and node, inodes; 1 KiB and 4 KiB blocks; metadata_csum_seed)" {
	local bs blks b long failed="" at
	long=$(printf 'x%.0s' $(seq 48))
	mkdir -p t/lin t/h
	for i in $(seq 40); do : > "t/lin/MARKlinear-$i"; done
	for i in 1 2 3; do ln -s "MARKtarget-$i" "t/lin/MARKlink-$i"; done
	for i in $(seq 3000); do : > "t/h/MARKhashed-$long-$i"; done
	for bs in 1024 4096; do
		mke2fs -q -F -t ext4 -b $bs -O metadata_csum_seed -U $UUID -E hash_seed=$UUID \
			-d t good$bs.img 32M > /dev/null
		e2fsck -fyD good$bs.img > /dev/null 2>&1 || true
		debugfs -w -R "ea_set /lin/MARKlinear-1 user.MARKname MARKvalue" good$bs.img > /dev/null 2>&1
		e2fsck -fn good$bs.img > /dev/null 2>&1 || fail "$bs: the source is not clean"
		has_feature good$bs.img metadata_csum_seed
		# wrong checksums (a block's last 4 bytes: a leaf's tail, an index
		# node's): the linear directory's block, the tree's root and a leaf,
		# and with 1 KiB blocks an interior node (the root's first child)
		blks="$(debugfs -R 'bmap /lin 0' good$bs.img 2> /dev/null) $(debugfs -R 'bmap /h 0' good$bs.img 2> /dev/null)"
		blks="$blks $(debugfs -R 'bmap /h 1' good$bs.img 2> /dev/null)"
		if [ $bs = 1024 ]; then
			debugfs -R "htree /h" good$bs.img 2> /dev/null | grep -q "Indirect levels: 1" ||
				fail "no two-level tree"
			b=$(debugfs -R "htree /h" good$bs.img 2> /dev/null | awk '/^Entry #0:/ { print $NF; exit }')
			blks="$blks $(debugfs -R "bmap /h $b" good$bs.img 2> /dev/null)"
		fi
		cp good$bs.img bad$bs.img
		for b in $blks; do
			flip bad$bs.img $((b * bs + bs - 1))
		done
		[ "$(e2fsck -fn bad$bs.img 2>&1 | grep -c 'fails checksum')" = "$(echo $blks | wc -w)" ] ||
			fail "$bs: $(e2fsck -fn bad$bs.img 2>&1)"
		# and inodes: a fast symlink's checksum (its low half, its high
		# half), a file's with an xattr in the inode (e2fsck -n stops at
		# the symlinks in pass 2: their own image)
		cp good$bs.img badi$bs.img
		at=$(inode_at good$bs.img /lin/MARKlink-1) && flip badi$bs.img $((at + 0x7c))
		at=$(inode_at good$bs.img /lin/MARKlink-2) && flip badi$bs.img $((at + 0x83))
		at=$(inode_at good$bs.img /lin/MARKlinear-1) && flip badi$bs.img $((at + 0x7d))
		[ "$(e2fsck -fn badi$bs.img 2>&1 | grep -c 'passes checks, but checksum does not match')" = 3 ] ||
			fail "$bs: $(e2fsck -fn badi$bs.img 2>&1)"
		for s in good bad badi; do
			"$E2IMAGE" -r --anonymize $s$bs.img o.img 2> /dev/null || { failed="$failed $s$bs(exit)"; continue; }
			[ "$(grep -ca MARK o.img || true)" = 0 ] || failed="$failed $s$bs(names)"
			diff <(fsck_n $s$bs.img) <(fsck_n o.img) >&2 || failed="$failed $s$bs(fsck)"
		done
	done
	[ -z "$failed" ] || fail "failed on:$failed"
}

@test "anonymize-edge: hash-indexed directories of two alphabets (casefolded and not) with names of the same lengths: each new name hashes into its leaf" {
	mkdir -p t/a t/b
	for i in $(seq 600); do : > "t/a/MARKname-$i"; : > "t/b/MARKname-$i"; done
	mkfs t fs.img 16M -O casefold -E encoding=utf8
	debugfs -w -R "sif /b flags 0x40080000" fs.img > /dev/null 2>&1  # casefold, extents
	e2fsck -fyD fs.img > /dev/null 2>&1 || true
	e2fsck -fn fs.img > /dev/null 2>&1 || fail "the source is not clean"
	for d in a b; do
		debugfs -R "htree /$d" fs.img 2> /dev/null | grep -q "Root node dump" || fail "/$d: no hash tree"
	done
	"$E2IMAGE" -r --anonymize fs.img o.img 2> err.txt
	grep -q "1200 in hash-indexed directories" err.txt || fail "$(cat err.txt)"
	[ "$(grep -ca MARK o.img || true)" = 0 ]
	same_fsck fs.img o.img
}
