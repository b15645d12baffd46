#!/bin/bash
# make-fs-seeds.sh DIR -- tiny filesystem images (each <= 256 KiB, the
# fuzz_capture -max_len) as seeds for fuzz_capture: ext2, ext3-like and ext4
# variants with a few files, a directory, symlinks, a hard link, an xattr
# block, a sparse file, inline data, an orphan.  Built with mke2fs -d and
# debugfs, deterministic (fixed UUIDs and time).
set -e
out=$1
[ -n "$out" ] || { echo "usage: $0 DIR" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export E2FSPROGS_FAKE_TIME=1700000000 TZ=UTC LC_ALL=C
UUID=0b1e2c3d-4e5f-4061-8273-948596a7b8c9

tree=$tmp/tree
mkdir -p "$tree/d/e" "$tree/f"
printf 'hello\n' > "$tree/a"
head -c 5000 /dev/zero | tr '\0' 'x' > "$tree/d/b"
head -c 20000 /dev/zero | tr '\0' 'y' > "$tree/d/e/c"
ln -s a "$tree/short-link"
ln -s "$(printf 'long/%.0s' $(seq 20))target" "$tree/long-link"
ln "$tree/a" "$tree/d/hard"
for i in $(seq 12); do : > "$tree/f/entry-$i"; done
truncate -s 40k "$tree/sparse" && printf 'z' | dd of="$tree/sparse" bs=1 seek=30000 conv=notrunc 2>/dev/null

mkdir -p "$out"
make_one() {
	local name=$1 size=$2; shift 2
	local img=$tmp/$name
	rm -f "$img"
	if ! mke2fs -q -F -U "$UUID" -E root_owner=0:0,lazy_itable_init=0,nodiscard,hash_seed=$UUID \
		-d "$tree" "$@" "$img" "$size" > "$tmp/log" 2>&1; then
		echo "make-fs-seeds: skipping $name (mke2fs: $(tail -1 "$tmp/log"))" >&2
		return 0
	fi
	debugfs -w -R "ea_set -f /dev/stdin /a user.big" "$img" \
		< <(head -c 700 /dev/zero | tr '\0' 'q') > /dev/null 2>&1 || true
	# No seed over 256 KiB: what lies past that is read as missing.
	[ "$(stat -c %s "$img")" -le 262144 ] || truncate -s 262144 "$img"
	cp "$img" "$out/$name.img"
}
make_one ext2-1k 128k -t ext2 -b 1024 -N 64 -m 0
make_one ext2-1k-indirect 256k -t ext2 -b 1024 -N 64 -m 0 -g 256
make_one ext4-1k-nojournal 192k -t ext4 -O ^has_journal -b 1024 -N 64 -m 0
make_one ext4-1k-flexbg 256k -t ext4 -O ^has_journal,flex_bg -b 1024 -N 64 -m 0 -g 512
make_one ext4-inline 256k -t ext4 -O ^has_journal,inline_data -b 1024 -I 256 -N 64 -m 0
make_one ext4-metabg 256k -t ext4 -O ^has_journal,64bit,meta_bg,^resize_inode -b 1024 -g 256 -N 64 -m 0
make_one ext4-4k 256k -t ext4 -O ^has_journal -b 4096 -N 64 -m 0
make_one ext4-bigalloc 256k -t ext4 -O ^has_journal,bigalloc -b 1024 -C 4096 -N 64 -m 0
make_one ext4-quota 256k -t ext4 -O ^has_journal,quota -b 1024 -N 64 -m 0
# A journal needs 1024 blocks, so these are larger than -max_len: libFuzzer
# reads their first 256 KiB. The journal is placed early, so its superblock
# and first blocks are in there; the rest lies past the end of the input.
make_one ext3-1k 2100k -t ext3 -b 1024 -N 64 -m 0 -J size=1,location=100
make_one ext4-1k-journal 2100k -t ext4 -b 1024 -N 64 -m 0 -J size=1,location=100
make_one ext4-orphanfile 2100k -t ext4 -O orphan_file -b 1024 -N 64 -m 0 -J size=1,location=100
# An unlinked inode still owning blocks, on the orphan list.
img=$out/ext4-orphan.img
cp "$out/ext4-1k-nojournal.img" "$img"
ino=$(debugfs -R "stat /d/e/c" "$img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
if [ -n "$ino" ]; then
	debugfs -w -f - "$img" > /dev/null 2>&1 <<EOC || true
unlink /d/e/c
set_inode_field <$ino> links_count 0
set_super_value last_orphan $ino
EOC
fi
ls -l "$out" | awk 'NR > 1 { printf "# seed %s: %d bytes\n", $NF, $5 }'
