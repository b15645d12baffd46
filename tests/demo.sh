#!/bin/sh
# demo.sh -- a short tour of e2image-ng, run by `make demo` from the top
# directory as `sh tests/demo.sh`.
#
# Builds a small, deterministic ext4 filesystem in demo/demo.img from a tree
# of directories, files and a symlink (no mounts, no root needed), takes a
# raw metadata image of it with ./e2image/e2image, shows what was captured
# and how little of the image is really allocated, then checks the image
# with e2fsck. Exits non-zero if any step fails.
set -eu

E2IMAGE=./e2image/e2image
DEMO=demo
TREE=$DEMO/tree
IMG=$DEMO/demo.img
RAW=$DEMO/demo.raw

# Fixed time, UUID and hash seed: the same filesystem on every run.
E2FSPROGS_FAKE_TIME=1700000000
E2FSCK_TIME=1700000000
TZ=UTC
LC_ALL=C
export E2FSPROGS_FAKE_TIME E2FSCK_TIME TZ LC_ALL
UUID=5d1e3a7c-0f42-4b8e-9c61-2a7d9e4b3f10
SEED=8c2f4e6a-1b3d-4f5a-9e7c-0d2b4a6c8e1f

say() {
	printf '\n== %s\n' "$*"
}

fail() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

find_tool() {
	for d in /sbin /usr/sbin; do
		if [ -x "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	command -v "$1" 2>/dev/null || fail "$1 not found (install e2fsprogs)"
}

[ -x "$E2IMAGE" ] || fail "$E2IMAGE is not built; run ./configure && make first"
MKE2FS=$(find_tool mke2fs)
E2FSCK=$(find_tool e2fsck)
DEBUGFS=$(find_tool debugfs)

say "Building a demo tree in $TREE"
rm -rf "$DEMO"
mkdir -p "$TREE/etc" "$TREE/home/alice/notes" "$TREE/home/bob" \
	"$TREE/var/log" "$TREE/srv/data/a/b/c"
printf 'demo-host\n' >"$TREE/etc/hostname"
printf 'alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n' \
	>"$TREE/etc/passwd"
printf 'Remember to back up the metadata.\n' >"$TREE/home/alice/notes/reminder.txt"
printf 'hello from bob\n' >"$TREE/home/bob/hello.txt"
i=0
while [ $i -lt 200 ]; do
	printf 'Nov 14 22:13:%02d demo-host kernel: line %d\n' $((i % 60)) $i
	i=$((i + 1))
done >"$TREE/var/log/messages"
# A 1 MiB file of a repeating pattern: file data that -r leaves out.
i=0
while [ $i -lt 16 ]; do
	printf '%s' 'e2image-ng demo data block. '
	i=$((i + 1))
done >"$DEMO/chunk"
i=0
while [ $i -lt 2340 ]; do
	cat "$DEMO/chunk"
	i=$((i + 1))
done >"$TREE/srv/data/blob.bin"
rm -f "$DEMO/chunk"
# A directory with enough entries to need several directory blocks.
i=0
while [ $i -lt 300 ]; do
	printf '%d\n' $i >"$TREE/srv/data/a/b/c/entry-with-a-longish-name-$i"
	i=$((i + 1))
done
ln -s ../../etc/hostname "$TREE/home/alice/hostname-link"
ln -s "$(printf '%0100d' 0 | tr 0 x)/a/target/long/enough/to/need/its/own/block" \
	"$TREE/home/bob/long-link"

# mke2fs -d copies the tree's timestamps: fix atime and mtime here...
find "$TREE" -exec touch -h -t 202311142213.20 {} +

say "Making a 32 MiB ext4 filesystem in $IMG"
"$MKE2FS" -q -F -t ext4 -L demo -U "$UUID" -E "hash_seed=$SEED" \
	-d "$TREE" "$IMG" 32M || fail "mke2fs failed"
# ...and the ctime, which only debugfs can set, on every inode of the tree.
CMDS=$DEMO/debugfs.cmds
{
	echo "sif / ctime @$E2FSPROGS_FAKE_TIME"
	echo "sif /lost+found ctime @$E2FSPROGS_FAKE_TIME"
	(cd "$TREE" && find . -mindepth 1 | sort) |
		sed "s|^\.\(.*\)|sif \1 ctime @$E2FSPROGS_FAKE_TIME|"
} >"$CMDS"
"$DEBUGFS" -w -f "$CMDS" "$IMG" >"$DEMO/debugfs.log" 2>&1 ||
	fail "debugfs failed (see $DEMO/debugfs.log)"
if grep -q -e 'not found' -e 'No such' -e 'Invalid' "$DEMO/debugfs.log"; then
	cat "$DEMO/debugfs.log" >&2
	fail "debugfs could not fix the ctimes"
fi
rm -f "$CMDS"

say "Imaging it: $E2IMAGE -r -v -p $IMG $RAW"
# -p and -v both write to stderr; -p rewrites its line after '\r', so turn
# each '\r' into a line break to keep the log readable.
LOG=$DEMO/e2image.log
if "$E2IMAGE" -r -v -p "$IMG" "$RAW" 2>"$LOG"; then
	rc=0
else
	rc=$?
fi
tr '\r' '\n' <"$LOG" | sed '/^$/d'
[ $rc -eq 0 ] || fail "e2image exited with status $rc"
[ -f "$RAW" ] || fail "e2image did not create $RAW"

say "Apparent size (ls -l) and space really used (du -k)"
ls -l "$IMG" "$RAW"
du -k "$IMG" "$RAW"
apparent=$(wc -c <"$RAW" | tr -d ' ')
used_kib=$(du -k "$RAW" | cut -f1)
echo "demo.raw: $apparent bytes apparent, ${used_kib} KiB allocated"

say "Checking the image: $E2FSCK -fn $RAW"
if "$E2FSCK" -fn "$RAW"; then
	echo
	echo "demo: OK -- the image $RAW checks clean."
else
	rc=$?
	echo
	echo "demo: FAILED -- e2fsck -fn $RAW exited with status $rc: the image does not check clean."
	exit 1
fi
