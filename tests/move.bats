#!/usr/bin/env bats
# move.bats -- the writes made in place: the move mode (one path with an
# offset: `-ra -O N disk` moves the filesystem N bytes to the right inside
# disk, `-ra -o N disk` moves it from N to 0), -O into an existing file, and
# -c refreshing an existing image.
#
# A move reads and writes the same file. A block overwritten before it has
# been read, or written from a view of the file that the move's own writes
# change (the source's memory mapping: issue 15), destroys the filesystem
# while the run exits 0 and prints nothing. So each run is judged by its
# result only:
#   - the whole disk file equals the one e2fsprogs' e2image ($ORACLE) leaves
#     after the same run on an identical copy, and the exit status, stdout
#     (-c prints a count) and stderr are the oracle's;
#   - the bytes outside the destination (before it, after it) are unchanged;
#   - the filesystem at the destination passes `e2fsck -fn`, and a `debugfs
#     rdump` of it equals the generated tree (diff -r).
# One difference is allowed, where the two tools differ by design: when its
# copy ends on blocks it does not write, e2fsprogs truncates the file at the
# filesystem's new end (misc/e2image.c: ftruncate after a sparse tail), even
# when there was more after it (the 12 KiB after fs1k's disks below, the
# rest of a longer file given to -O); ours never shortens an existing file
# (doc/e2image.8). There the oracle's file must end exactly at the
# filesystem's end, ours must equal it up to there and keep the rest
# unchanged; the verdict notes it.
#
# Fixtures (setup_file), each from its own generated tree: four fixed-seed
# random files of 1-3 MiB (runs that span several of the copy engine's
# 4 MiB chunks) and 120 small ones (0-40 KiB) in 8 directories.
#   fs1k  ext4, 1 KiB blocks, 16 MiB, made over random bytes (-E nodiscard):
#         its unused blocks hold old data, as on a used disk, so a block
#         written that should not be (or not written that should) shows.
#         Its disks also have 12 KiB of other data after the room for the
#         move, as a partition followed by another.
#   fs4k  ext4, 4 KiB blocks, 20 MiB, made as a new sparse file; its disks
#         end where the move needs, as in the report of issue 15.
# The room a move needs beside the filesystem holds random bytes; the
# filesystem's zero blocks are holes in the disk files.
#
# The matrix: both fixtures, both directions, every distance of DISTANCES.
# With -c, to keep the suite fast, the distances of CHECK_DISTANCES only:
# one short overlap (7b), the reported one (1M), one across a 4 MiB chunk
# boundary (3M+1b), and no overlap (fs+1b).

load common

SHIM=$TESTS_BUILDDIR/fault/libeio.so
# 1b, 7b, 255b: blocks of the filesystem; fs-1b and fs+1b: its size less
# one block (almost no overlap), and more than its size (none).
DISTANCES="1b 7b 255b 64K 1M 3M+1b 4M fs-1b fs+1b"
CHECK_DISTANCES="7b 1M 3M+1b fs+1b"
# cases run at once (the machine has 2 cores)
JOBS=2

UUID=5d0c4a7e-2b61-4f38-9c1a-7e8f90a1b2c3
HASH_SEED=8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0

# gen_tree DIR SEED: the generated tree (deterministic for a seed)
gen_tree() {
	python3 - "$1" "$2" <<'EOF'
import os, random, sys
root, r = sys.argv[1], random.Random(int(sys.argv[2]))
os.makedirs(os.path.join(root, "big"))
for i, n in enumerate([(3 << 20) + 4097, 5 << 19, (3 << 19) + 512, 1 << 20]):
    with open(os.path.join(root, "big", "f%d" % i), "wb") as f:
        f.write(r.randbytes(n))
for d in range(4):
    top = os.path.join(root, "d%d" % d)
    os.makedirs(os.path.join(top, "sub"))
    for i in range(30):
        n = r.choice([0, 1, 100, 1023, 1024, 1025, 4095, 4096, 4097,
                      r.randrange(1, 40000)])
        where = os.path.join(top, "sub") if i % 2 else top
        with open(os.path.join(where, "s%02d" % i), "wb") as f:
            f.write(r.randbytes(n))
EOF
}

# random_file PATH BYTES SEED
random_file() {
	python3 -c 'import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[2])).randbytes(int(sys.argv[1])))' \
		"$2" "$3" > "$1"
}

# build_fs NAME BLOCKSIZE MIB SEED [prefill]: $BATS_FILE_TMPDIR/NAME.img
# from NAME.tree; with prefill, made over random bytes, not as a new file.
build_fs() {
	local d=$BATS_FILE_TMPDIR name=$1 bs=$2 mib=$3 seed=$4 ext=""
	gen_tree "$d/$name.tree" "$seed" || return 1
	if [ "${5:-}" = prefill ]; then
		random_file "$d/$name.img" $((mib << 20)) $((seed + 1)) || return 1
		ext=nodiscard,
	fi
	mke2fs -q -F -t ext4 -b "$bs" -U "$UUID" -E "${ext}hash_seed=$HASH_SEED" \
		-d "$d/$name.tree" "$d/$name.img" "${mib}M" > "$d/$name.log" 2>&1 &&
		e2fsck -fn "$d/$name.img" >> "$d/$name.log" 2>&1 ||
		{ cat "$d/$name.log" >&2; return 1; }
}

setup_file() {
	local d=$BATS_FILE_TMPDIR p1 p2 p3
	export E2FSPROGS_FAKE_TIME=1700000000
	build_fs fs1k 1024 16 101 prefill & p1=$!
	build_fs fs4k 4096 20 202 & p2=$!
	# the bytes beside the filesystem: enough for a move by fs+1b
	random_file "$d/pad" $((21 << 20)) 303 & p3=$!
	wait $p1 && wait $p2 && wait $p3
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	OURS_ENV=""
	# each filesystem's size, block size, and the bytes after a move's room
	declare -gA SIZE BS TAIL
	SIZE[fs1k]=$(stat -c %s "$BATS_FILE_TMPDIR/fs1k.img")
	SIZE[fs4k]=$(stat -c %s "$BATS_FILE_TMPDIR/fs4k.img")
	BS[fs1k]=1024
	BS[fs4k]=4096
	TAIL[fs1k]=12288
	TAIL[fs4k]=0
}

teardown() {
	local dev
	# loop devices attached by this test, even when it failed
	[ -f "$BATS_TEST_TMPDIR/loops" ] || return 0
	while read -r dev; do
		losetup -d "$dev" || echo "teardown: cannot detach $dev" >&2
	done < "$BATS_TEST_TMPDIR/loops"
}

# dist FS NAME: sets N to the distance NAME (of DISTANCES) in bytes
dist() {
	local bs=${BS[$1]} size=${SIZE[$1]}
	case $2 in
	1b) N=$bs ;;
	7b) N=$((7 * bs)) ;;
	255b) N=$((255 * bs)) ;;
	64K) N=65536 ;;
	1M) N=1048576 ;;
	3M+1b) N=$(((3 << 20) + bs)) ;;
	4M) N=$((4 << 20)) ;;
	fs-1b) N=$((size - bs)) ;;
	fs+1b) N=$((size + bs)) ;;
	esac
}

# make_disk FS DIR N OUT: a disk file for a move of FS by N bytes in
# direction DIR (right: FS at 0, N random bytes after it; left: N random
# bytes, then FS), then FS's TAIL of other random bytes. The filesystem's
# zero blocks are holes.
make_disk() {
	local fs=$1 n=$3 out=$4 at=0 padat=${SIZE[$1]} pad=$BATS_FILE_TMPDIR/pad
	[ "$2" = left ] && at=$n padat=0
	truncate -s $((SIZE[$fs] + n + TAIL[$fs])) "$out"
	dd if="$pad" of="$out" bs=64K iflag=count_bytes oflag=seek_bytes \
		seek="$padat" count="$n" conv=notrunc status=none &&
		dd if="$pad" of="$out" bs=64K iflag=skip_bytes,count_bytes \
			oflag=seek_bytes skip=4099 seek=$((SIZE[$fs] + n)) \
			count="${TAIL[$fs]}" conv=notrunc status=none &&
		dd if="$BATS_FILE_TMPDIR/$fs.img" of="$out" bs=64K oflag=seek_bytes \
			seek="$at" conv=sparse,notrunc status=none
}

# blocks_differ A B BS DST [LIMIT]: how many BS-byte blocks of A and B
# (of their first LIMIT bytes) differ, and the first few, as block numbers
# of the filesystem at byte DST.
blocks_differ() {
	python3 - "$@" <<'EOF'
import sys
a, b = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
bs, dst = int(sys.argv[3]), int(sys.argv[4])
limit = int(sys.argv[5]) if len(sys.argv) > 5 else 1 << 62
n, first, i = 0, [], 0
while i * bs < limit:
    x, y = a.read(bs), b.read(bs)
    if not x and not y:
        break
    if x != y:
        n += 1
        if len(first) < 5:
            first.append(str(i - dst // bs))
    i += 1
print("%d blocks differ (first, as filesystem blocks: %s)" % (n, " ".join(first)))
EOF
}

# check_result FS DISK REF ORIG DST [TREE]: the checks listed at the top, on
# DISK (after ours) against REF (the oracle's) and ORIG (before either), FS
# at byte DST, its files those of TREE (default: FS's generated tree).
# Prints one line per problem (nothing when all hold), and lines "note: ..."
# that are not problems.
check_result() {
	local fs=$1 disk=$2 ref=$3 orig=$4 dst=$5 dsize rsize osize rc
	local tree=${6:-$BATS_FILE_TMPDIR/$1.tree} size=${SIZE[$1]} bs=${BS[$1]}
	local end=$((dst + size))
	read -r -d '' dsize rsize osize < <(stat -c %s "$disk" "$ref" "$orig") || true
	# grown to the filesystem's end, never shortened
	[ "$dsize" -eq $((osize > end ? osize : end)) ] ||
		echo "size $dsize (was $osize, the filesystem ends at $end)"
	if [ "$rsize" -eq "$dsize" ]; then
		cmp -s "$disk" "$ref" ||
			echo "differs from the oracle's: $(blocks_differ "$disk" "$ref" "$bs" "$dst")"
	elif [ "$rsize" -eq "$end" ] && [ "$dsize" -gt "$end" ]; then
		echo "note: the oracle truncated the file at $end"
		cmp -s -n "$end" "$disk" "$ref" ||
			echo "differs from the oracle's (up to $end): $(blocks_differ "$disk" "$ref" "$bs" "$dst" "$end")"
	else
		echo "size $dsize, the oracle's $rsize"
	fi
	[ "$dst" -eq 0 ] || cmp -s -n "$dst" "$disk" "$orig" ||
		echo "bytes before the destination changed"
	[ "$osize" -le "$end" ] || cmp -s -i "$end" "$disk" "$orig" ||
		echo "bytes after the destination changed"
	# the filesystem at the destination
	dd if="$disk" of=moved.img bs=64K iflag=skip_bytes,count_bytes \
		skip="$dst" count="$size" conv=sparse status=none
	rc=0
	e2fsck -fn moved.img > fsck.out 2>&1 || rc=$?
	[ "$rc" -eq 0 ] ||
		echo "e2fsck -fn: exit $rc: $(grep -v -e '^e2fsck [0-9]' -e '^Pass [0-9]' fsck.out | head -3 | tr '\n' ' ')"
	mkdir dump
	debugfs -R "rdump / dump" moved.img > /dev/null 2>&1 || true
	diff -rq -x lost+found "$tree" dump > diff.out 2>&1 ||
		echo "$(wc -l < diff.out) of $(find "$tree" -type f | wc -l) files differ or are missing (diff -rq)"
	rm -rf moved.img dump
}

# run_both DIR TARGET ORACLE_TARGET ARGS...: `e2image ARGS TARGET` with
# ours (under the environment $OURS_ENV, words VAR=VALUE) and the oracle;
# their exit status, stdout and stderr go to DIR
run_both() {
	local w=$1 t=$2 r=$3 rc
	shift 3
	rc=0
	env $OURS_ENV "$E2IMAGE" "$@" "$t" > "$w/ours.out" 2> "$w/ours.err" || rc=$?
	echo "$rc" > "$w/ours.rc"
	rc=0
	"$ORACLE" "$@" "$r" > "$w/oracle.out" 2> "$w/oracle.err" || rc=$?
	echo "$rc" > "$w/oracle.rc"
}

# same_run DIR: ours' exit status, stdout and stderr (the oracle's less its
# version line) in DIR are the oracle's; prints the differences
same_run() {
	local w=$1 ours oracle err="" referr="" line
	read -r ours < "$w/ours.rc"
	read -r oracle < "$w/oracle.rc"
	[ "$ours" = "$oracle" ] ||
		echo "exit $ours, the oracle's $oracle: $(head -2 "$w/ours.err" | tr '\n' ' ')"
	cmp -s "$w/ours.out" "$w/oracle.out" ||
		echo "stdout '$(head -c 200 "$w/ours.out")', the oracle's '$(head -c 200 "$w/oracle.out")'"
	IFS= read -r -d '' err < "$w/ours.err" || true
	while IFS= read -r line; do
		case $line in
		"e2image "[0-9]*) ;;
		*) referr+=$line$'\n' ;;
		esac
	done < "$w/oracle.err"
	[ "$err" = "$referr" ] ||
		echo "stderr '$(head -c 200 "$w/ours.err" | tr '\n' ' ')'"
}

# verdict CASE: one line, PASS or FAIL, for CASE with the problems listed
# in the file problems (none: PASS), and its notes
verdict() {
	local line bad="" notes=""
	while IFS= read -r line; do
		case $line in
		"note: "*) notes+=${notes:+;}${line#note: } ;;
		*) bad+=${bad:+;}$line ;;
		esac
	done < problems
	if [ -n "$bad" ]; then
		echo "FAIL $1: $bad${notes:+ ($notes)}"
	else
		echo "PASS $1${notes:+ ($notes)}"
	fi
}

# move_case FS DIR DIST [-c]: one move (DIR right or left) of FS by the
# distance named DIST, in its own directory; writes the verdict to
# DIR/result.
move_case() {
	local fs=$1 dir=$2 name=$3 c=${4:-} N w opt=-O dst
	dist "$fs" "$name"
	dst=$N
	[ "$dir" = left ] && opt=-o dst=0
	w=$BATS_TEST_TMPDIR/$fs-$dir-$name$c
	mkdir -p "$w"
	cd "$w" || return 1
	make_disk "$fs" "$dir" "$N" disk
	cp disk ref
	cp disk orig
	[ -n "$OURS_ENV" ] && OURS_ENV="$OURS_ENV E2I_FAULT_PATH=$w/disk"
	run_both "$w" disk ref -ra $c "$opt" "$N"
	{ same_run "$w"; check_result "$fs" disk ref orig "$dst"; } > problems
	verdict "$fs $dir $name ($N bytes)${c:+ $c}" > result
	rm -f disk ref orig
}

# into_existing FS LEN: -ra -O 1M of FS into an existing file of LEN random
# bytes, in its own directory; writes the verdict to DIR/result
into_existing() {
	local fs=$1 len=$2 N img=$BATS_FILE_TMPDIR/$1.img w
	dist "$fs" 1M
	w=$BATS_TEST_TMPDIR/$fs-into-$len
	mkdir -p "$w"
	cd "$w" || return 1
	dd if="$BATS_FILE_TMPDIR/pad" of=disk bs=64K iflag=count_bytes \
		count="$len" status=none
	cp disk ref
	cp disk orig
	[ -n "$OURS_ENV" ] && OURS_ENV="$OURS_ENV E2I_FAULT_PATH=$img"
	{
		run_both . disk ref -ra -O "$N" "$img"
		same_run .
		check_result "$fs" disk ref orig "$N"
	} > problems
	verdict "$fs -ra -O $N into a $len-byte file" > result
	rm -f disk ref orig
}

# report RESULT_FILES...: diag every case; fail naming those that failed
report() {
	local f line bad=0
	for f in "$@"; do
		if [ ! -s "$f" ]; then
			diag "FAIL ${f%/result}: no result"
			echo "FAIL ${f%/result}: no result" >&2
			bad=$((bad + 1))
			continue
		fi
		while IFS= read -r line; do
			diag "$line"
			case $line in
			PASS*) ;;
			*) echo "$line" >&2; bad=$((bad + 1)) ;;
			esac
		done < "$f"
	done
	[ "$bad" -eq 0 ] || fail "$bad of $# cases failed"
}

# spawn CMD...: run CMD in the background, in a subshell that does not stop
# at the first failing command, once fewer than JOBS are running
spawn() {
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n || true
	done
	( set +e; "$@" ) &
}

# matrix FS DIR [-c]: every distance (CHECK_DISTANCES with -c), then the
# report
matrix() {
	local fs=$1 dir=$2 c=${3:-} names=$DISTANCES name results=()
	[ -n "$c" ] && names=$CHECK_DISTANCES
	for name in $names; do
		spawn move_case "$fs" "$dir" "$name" $c
		results+=("$BATS_TEST_TMPDIR/$fs-$dir-$name$c/result")
	done
	wait || true
	report "${results[@]}"
}

@test "move: right, 1 KiB blocks, every distance: the oracle's bytes, e2fsck clean, every file intact" {
	matrix fs1k right
}

@test "move: left, 1 KiB blocks, every distance: the oracle's bytes, e2fsck clean, every file intact" {
	matrix fs1k left
}

@test "move: right, 4 KiB blocks, every distance: the oracle's bytes, e2fsck clean, every file intact" {
	matrix fs4k right
}

@test "move: left, 4 KiB blocks, every distance: the oracle's bytes, e2fsck clean, every file intact" {
	matrix fs4k left
}

@test "move -c: right, 1 KiB blocks: the oracle's bytes and count, every file intact" {
	matrix fs1k right -c
}

@test "move -c: left, 1 KiB blocks: the oracle's bytes and count, every file intact" {
	matrix fs1k left -c
}

@test "move -c: right, 4 KiB blocks: the oracle's bytes and count, every file intact" {
	matrix fs4k right -c
}

@test "move -c: left, 4 KiB blocks: the oracle's bytes and count, every file intact" {
	matrix fs4k left -c
}

# attach FILE: attach FILE to a free loop device, record it for teardown,
# set DEV to it; skips the test when that cannot be done
attach() {
	DEV=$(losetup -f --show "$1" 2> losetup.err) ||
		skip "losetup cannot attach a loop device here: $(cat losetup.err)"
	echo "$DEV" >> "$BATS_TEST_TMPDIR/loops"
}

detach() {
	losetup -d "$1" && sed -i "\|^$1\$|d" "$BATS_TEST_TMPDIR/loops"
}

@test "move: on a loop device, right then back left: the oracle's bytes, every file intact" {
	local fs=fs1k N dev ref
	[ "$(id -u)" -eq 0 ] || skip "losetup needs root"
	command -v losetup > /dev/null || skip "no losetup"
	dist "$fs" 3M+1b
	make_disk "$fs" right "$N" disk
	cp disk ref
	cp disk orig
	# The oracle moves on a device too: to a device, both copy whole inode
	# tables, not only their used part.
	attach disk
	dev=$DEV
	attach ref
	ref=$DEV
	run_both . "$dev" "$ref" -ra -O "$N"
	same_run . > problems
	dd if="$dev" of=now bs=64K status=none
	dd if="$ref" of=now.ref bs=64K status=none
	check_result "$fs" now now.ref orig "$N" >> problems
	rm -f now now.ref
	sed -e 's/^note: /note: after the move right, /' -e t -e 's/^/after the move right: /' problems > all
	run_both . "$dev" "$ref" -ra -o "$N"
	same_run . > problems
	detach "$dev"
	detach "$ref"
	check_result "$fs" disk ref orig 0 >> problems
	sed -e 's/^note: /note: after the move back left, /' -e t -e 's/^/after the move back left: /' problems >> all
	mv all problems
	verdict "$fs on $dev, right then back left by $N bytes" > result
	report result
}

@test "in place: -ra -O N into an existing shorter or longer file: the oracle's bytes, every file intact" {
	local fs N len results=()
	for fs in fs1k fs4k; do
		dist "$fs" 1M
		for len in $((N + SIZE[$fs] / 2)) $((N + SIZE[$fs] + 65536)); do
			spawn into_existing "$fs" "$len"
			results+=("$BATS_TEST_TMPDIR/$fs-into-$len/result")
		done
	done
	wait || true
	report "${results[@]}"
}

# changed FS: a copy of FS with files removed and added by debugfs (most of
# its blocks unchanged), as changed.img; its files are dumped into
# changed.tree
changed() {
	cp "$BATS_FILE_TMPDIR/$1.img" changed.img
	dd if="$BATS_FILE_TMPDIR/pad" of=new.bin bs=64K iflag=skip_bytes,count_bytes \
		skip=12345 count=$((2 << 20)) status=none
	head -c 3000 "$BATS_FILE_TMPDIR/pad" > small.bin
	E2FSPROGS_FAKE_TIME=1700000000 debugfs -w -f - changed.img > debugfs.log 2>&1 <<EOF
rm /big/f1
rm /d0/s00
write new.bin /big/new
mkdir /d9
write small.bin /d9/small
EOF
	e2fsck -fn changed.img > /dev/null 2>&1 ||
		{ cat debugfs.log >&2; fail "$1: the changed filesystem does not check clean"; return 1; }
	mkdir changed.tree
	debugfs -R "rdump / changed.tree" changed.img > /dev/null 2>&1
	# the refresh has something to do
	! diff -rq -x lost+found "$BATS_FILE_TMPDIR/$1.tree" changed.tree > /dev/null ||
		{ fail "$1: debugfs changed nothing"; return 1; }
}

# refresh_case FS: -rc and -rac of FS changed (see changed) onto copies of
# an earlier image of FS, in its own directory; writes the verdicts to
# DIR/result-rc and DIR/result-rac
refresh_case() {
	local fs=$1 opt rc
	mkdir -p "$BATS_TEST_TMPDIR/$fs"
	cd "$BATS_TEST_TMPDIR/$fs" || return 1
	changed "$fs" || return 1
	# the earlier image, of the filesystem before the changes
	"$ORACLE" -ra "$BATS_FILE_TMPDIR/$fs.img" old.img 2> /dev/null
	for opt in -rc -rac; do
		cp old.img disk
		cp old.img ref
		cp old.img orig
		{
			run_both . disk ref "$opt" changed.img
			same_run .
			if [ "$opt" = -rac ]; then
				check_result "$fs" disk ref orig 0 changed.tree
			else
				# metadata only: the data blocks stay the old image's
				cmp -s disk ref ||
					echo "differs from the oracle's: $(blocks_differ disk ref "${BS[$fs]}" 0)"
				rc=0
				e2fsck -fn disk > fsck.out 2>&1 || rc=$?
				[ "$rc" -eq 0 ] || echo "e2fsck -fn: exit $rc"
			fi
		} > problems
		verdict "$fs $opt refreshing an image of it before the changes ($(cat ours.out))" > "result$opt"
	done
}

@test "in place: -rc and -rac refresh an earlier image: the oracle's bytes and count; with -a, the new files" {
	spawn refresh_case fs1k
	spawn refresh_case fs4k
	wait || true
	report "$BATS_TEST_TMPDIR"/fs{1,4}k/result-{rc,rac}
}

# --- crash safety -------------------------------------------------------
# A move keeps a journal (DISK.e2image-move beside a file): killed at any
# moment, or with a power loss (fault/powerloss.so: writes not flushed are
# lost with the process), the same command run again must finish it, with
# exactly the bytes of an uninterrupted move; --move-abort must put the
# filesystem back intact at its old offset.
POWERLOSS=$TESTS_BUILDDIR/fault/powerloss.so
# under make check-sanitize the shim comes before ASan's runtime
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# fs_at DISK OFFSET FS: e2fsck -fn clean and every file of FS's tree, for
# the filesystem at byte OFFSET of DISK
fs_at() {
	local disk=$1 at=$2 fs=$3
	dd if="$disk" of=at.img bs=64K iflag=skip_bytes,count_bytes \
		skip="$at" count="${SIZE[$fs]}" conv=sparse status=none
	e2fsck -fn at.img > at.fsck 2>&1 || { head -5 at.fsck; return 1; }
	rm -rf at.dump && mkdir at.dump
	debugfs -R "rdump / at.dump" at.img > /dev/null 2>&1 || true
	diff -rq -x lost+found "$BATS_FILE_TMPDIR/$fs.tree" at.dump > /dev/null ||
		{ echo "files differ at byte $at"; return 1; }
	rm -rf at.img at.dump
}

# crash_case FS DIR DIST I [powerloss]: one move killed at a random moment,
# then resumed (or run again when it had not begun); prints PASS or FAIL
crash_case() {
	local fs=$1 dir=$2 name=$3 i=$4 pl=${5:-} N opt=-O dst w t0 t1 dur pid rc
	dist "$fs" "$name"
	dst=$N
	[ "$dir" = left ] && opt=-o dst=0
	w=$BATS_TEST_TMPDIR/crash-$fs-$dir-$name-$i
	mkdir -p "$w" && cd "$w" || return 1
	make_disk "$fs" "$dir" "$N" disk
	cp disk orig
	# the reference: an uninterrupted move (its bytes equal e2fsprogs',
	# above), and how long one takes with slow flushes
	cp disk ref
	t0=$EPOCHREALTIME
	E2I_POWERLOSS_PATHS="$w/ref:$w/ref.e2image-move" E2I_POWERLOSS_SYNC_USEC=3000 \
		LD_PRELOAD=$POWERLOSS "$E2IMAGE" -ra $opt "$N" ref || { echo "FAIL $w: reference run"; return; }
	t1=$EPOCHREALTIME
	dur=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000000 }')
	# killed at a random moment of it
	if [ -n "$pl" ]; then
		E2I_POWERLOSS_PATHS="$w/disk:$w/disk.e2image-move" E2I_POWERLOSS_SYNC_USEC=3000 \
			LD_PRELOAD=$POWERLOSS "$E2IMAGE" -ra $opt "$N" disk 2> err1 &
	else
		E2I_POWERLOSS_PATHS="$w/none" E2I_POWERLOSS_SYNC_USEC=3000 \
			LD_PRELOAD=$POWERLOSS "$E2IMAGE" -ra $opt "$N" disk 2> err1 &
	fi
	pid=$!
	sleep "$(awk -v d="$dur" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.6f", rand() * d / 1000000 }')"
	kill -KILL "$pid" 2> /dev/null
	rc=0
	wait "$pid" || rc=$?
	if [ -e disk.e2image-move ]; then
		"$E2IMAGE" -ra $opt "$N" disk 2> err2 || { echo "FAIL $w: resume exited $?: $(head -2 err2)"; return; }
		grep -q 'resuming the unfinished move' err2 || { echo "FAIL $w: resumed silently"; return; }
	elif cmp -s disk orig; then
		"$E2IMAGE" -ra $opt "$N" disk 2> err2 || { echo "FAIL $w: run again exited $?"; return; }
	elif [ "$rc" != 0 ]; then
		# killed after the journal was removed: the move was complete
		:
	fi
	[ ! -e disk.e2image-move ] || { echo "FAIL $w: the journal is left"; return; }
	cmp -s disk ref || { echo "FAIL $w (killed: exit $rc): differs from an uninterrupted move: $(blocks_differ disk ref "${BS[$fs]}" "$dst")"; return; }
	fs_at disk "$dst" "$fs" > fsat.out || { echo "FAIL $w: $(cat fsat.out)"; return; }
	echo "PASS $fs $dir $name #$i${pl:+ (power loss)} (killed: exit $rc)"
	cd / && rm -rf "$w"
}

@test "move: killed (SIGKILL) or losing power at a random moment, 20 moves are each finished by the same command, with the bytes of an uninterrupted move" {
	local i results=() line bad=0
	for i in $(seq 1 20); do
		case $((i % 4)) in
		0) set -- fs1k right 7b ;;
		1) set -- fs1k left 1M ;;
		2) set -- fs4k right 3M+1b ;;
		3) set -- fs4k left 7b ;;
		esac
		if [ $((i % 3)) = 0 ]; then
			( set +e; crash_case "$@" "$i" powerloss )
		else
			( set +e; crash_case "$@" "$i" )
		fi > "$BATS_TEST_TMPDIR/crash-$i.result"
		cd "$BATS_TEST_TMPDIR"
	done
	for i in $(seq 1 20); do
		line=$(cat "$BATS_TEST_TMPDIR/crash-$i.result")
		diag "$line"
		case $line in PASS*) ;; *) echo "$line" >&2; bad=$((bad + 1)) ;; esac
	done
	[ "$bad" -eq 0 ] || fail "$bad of 20 failed"
}

@test "move: --move-abort after a kill or a power loss puts the filesystem back intact at its old offset" {
	local fs dir name i k N opt src pid out paths bad=0
	for i in 1 2 3 4 5 6; do
		case $i in
		1|4) fs=fs1k dir=right name=7b ;;
		2|5) fs=fs4k dir=left name=1M ;;
		3|6) fs=fs1k dir=right name=3M+1b ;;
		esac
		dist "$fs" "$name"
		opt=-O src=0
		[ "$dir" = left ] && opt=-o src=$N
		mkdir -p "$BATS_TEST_TMPDIR/abort-$i" && cd "$BATS_TEST_TMPDIR/abort-$i"
		make_disk "$fs" "$dir" "$N" disk
		# killed once its journal shows progress (slow flushes: it is still
		# running), with a power loss in cases 4-6
		paths="$PWD/none"
		[ "$i" -gt 3 ] && paths="$PWD/disk:$PWD/disk.e2image-move"
		E2I_POWERLOSS_PATHS=$paths E2I_POWERLOSS_SYNC_USEC=100000 LD_PRELOAD=$POWERLOSS \
			"$E2IMAGE" -ra $opt "$N" disk 2> err1 &
		pid=$!
		for k in $(seq 600); do [ -e disk.e2image-move ] && break; sleep 0.05; done
		sleep 0.$((1 + i))
		kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" || true
		if [ ! -e disk.e2image-move ]; then
			out="case $i: the move ended before the kill (no journal)"
		elif ! "$E2IMAGE" -ra $opt "$N" --move-abort disk 2> err2; then
			out="case $i: --move-abort exited $?: $(head -2 err2)"
		elif [ -e disk.e2image-move ]; then
			out="case $i: the journal is left"
		elif ! grep -q 'undone' err2; then
			out="case $i: no word of the undoing: $(cat err2)"
		elif ! out=$(fs_at disk "$src" "$fs"); then
			out="case $i: $out"
		else
			out=""
		fi
		[ -z "$out" ] || { echo "$out" >&2; bad=$((bad + 1)); }
		cd "$BATS_TEST_TMPDIR"
	done
	[ "$bad" -eq 0 ] || fail "$bad of 6 failed"
}

@test "move: a journal of another move is refused; --move-abort with nothing to undo says so; a damaged journal is refused" {
	local N
	dist fs4k 1M
	make_disk fs4k right "$N" disk
	cp disk orig
	printf 'not a journal' > disk.e2image-move
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 1 ] && [[ "$output" == *"damaged"* ]] || fail "damaged journal: $status: $output"
	cmp -s disk orig || fail "written despite a damaged journal"
	rm disk.e2image-move
	run "$E2IMAGE" -ra -O "$N" --move-abort disk
	[ "$status" -eq 1 ] && [[ "$output" == *"nothing to undo"* ]] || fail "abort: $status: $output"
	# an unfinished move of another distance
	start_killed -O "$N" disk
	run "$E2IMAGE" -ra -O 2097152 disk
	[ "$status" -eq 1 ] && [[ "$output" == *"records an unfinished move"* ]] || fail "other move: $status: $output"
	# the same move is finished by the same command
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 0 ] || fail "resume: $status: $output"
	[ ! -e disk.e2image-move ]
	fs_at disk "$N" fs4k
}

@test "move: -p shows e2fsprogs' progress words; a move that would end past the end of a device is refused, nothing written" {
	local N dev
	dist fs4k 1M
	make_disk fs4k right "$N" disk
	"$E2IMAGE" -rap -O "$N" disk 2> err.txt
	tr '\r' '\n' < err.txt | grep -qE '^Copied [0-9]+ / [0-9]+ blocks \(100%\) in [0-9]{2}:' ||
		{ cat -A err.txt >&2; fail "no 'Copied N / M blocks' line"; }
	fs_at disk "$N" fs4k
	[ "$(id -u)" -eq 0 ] || skip "losetup needs root"
	command -v losetup > /dev/null || skip "no losetup"
	cp --sparse=always "$BATS_FILE_TMPDIR/fs4k.img" small
	truncate -s +512K small
	dev=$(losetup -f --show small 2> losetup.err) || skip "losetup: $(cat losetup.err)"
	echo "$dev" >> "$BATS_TEST_TMPDIR/loops"
	before=$(sha small)
	run "$E2IMAGE" -ra -O 1048576 --move-journal="$PWD/j" "$dev"
	[ "$status" -eq 1 ] && [[ "$output" == *"past the end of the device"* ]] || fail "exit $status: $output"
	[ ! -e j ] || fail "a journal was left"
	losetup -d "$dev"; sed -i "\|^$dev\$|d" "$BATS_TEST_TMPDIR/loops"
	[ "$(sha small)" = "$before" ]
}

# start_killed OPT N NAME: start a slow move (-ra OPT N NAME) and kill it
# once its journal exists and the disk has changed (waiting up to 30 s: a
# busy machine); skips if it ended first
start_killed() {
	local pid k
	E2I_POWERLOSS_PATHS="$PWD/none" E2I_POWERLOSS_SYNC_USEC=100000 LD_PRELOAD=$POWERLOSS \
		"$E2IMAGE" -ra "$1" "$2" "$3" 2> /dev/null &
	pid=$!
	for k in $(seq 600); do
		[ -e disk.e2image-move ] && ! cmp -s disk orig && break
		sleep 0.05
	done
	sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", 0.05 + rand() * 0.7 }')"
	kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" || true
	[ -e disk.e2image-move ] || skip "the move ended before the kill"
}

@test "move: a move that needs the file to grow leaves it the filesystem's new size (as e2fsprogs)" {
	cp --sparse=always "$BATS_FILE_TMPDIR/fs4k.img" disk
	cp disk ref
	"$E2IMAGE" -ra -O 1048576 disk
	"$ORACLE" -ra -O 1048576 ref 2> /dev/null
	[ "$(stat -c %s disk)" -eq $((SIZE[fs4k] + 1048576)) ] || fail "size $(stat -c %s disk)"
	cmp disk ref
	fs_at disk 1048576 fs4k
}

@test "move: the journal is found from the file, not its name: a move stopped through a symlink is resumed under the real name" {
	local N
	dist fs4k 7b
	make_disk fs4k right "$N" disk
	cp disk orig
	cp disk ref
	"$E2IMAGE" -ra -O "$N" ref
	ln -s disk link
	start_killed -O "$N" link
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 0 ] && [[ "$output" == *"resuming"* ]] || fail "exit $status: $output"
	[ ! -e disk.e2image-move ]
	cmp disk ref
}

# record_at JOURNAL: the offset of the record the newest header names, or
# nothing when it names none (layout: lib/core/move_journal.h)
record_at() {
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
best = None
for at in (0, 4096):
    h = b[at:at + 512]
    if len(h) == 512 and h[:8] == b"E2IMOVE1":
        seq, = struct.unpack_from("<Q", h, 8)
        if best is None or seq > best[0]:
            best = (seq, struct.unpack_from("<Q", h, 128)[0], struct.unpack_from("<Q", h, 136)[0])
if best and best[1]:
    print(best[2])
PY
}

@test "move: a spoiled header copy is covered by its twin; a damaged record is refused with nothing written" {
	local N before rec i
	dist fs4k 7b
	make_disk fs4k right "$N" disk
	cp disk orig
	cp disk ref
	"$E2IMAGE" -ra -O "$N" ref
	# killed until a kill leaves a piece in flight in the journal
	for i in $(seq 12); do
		start_killed -O "$N" disk
		[ -n "$(record_at disk.e2image-move)" ] && break
		rm -f disk.e2image-move
		cp orig disk
	done
	[ -e disk.e2image-move ] || skip "no kill left a piece in flight"
	cp disk disk.kept
	cp disk.e2image-move journal.kept
	# one header copy spoiled: resumed, the bytes of an uninterrupted move
	printf 'XXXX' | dd of=disk.e2image-move bs=1 seek=200 conv=notrunc status=none
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 0 ] || fail "one header spoiled: exit $status: $output"
	cmp disk ref
	# the record's bytes damaged (when the kill left one): refused, untouched
	cp disk.kept disk
	cp journal.kept disk.e2image-move
	rec=$(record_at disk.e2image-move)
	if [ -n "$rec" ]; then
		printf 'XXXX' | dd of=disk.e2image-move bs=1 seek=$((rec + 100)) conv=notrunc status=none
		before=$(sha disk)
		run "$E2IMAGE" -ra -O "$N" disk
		[ "$status" -eq 1 ] && [[ "$output" == *"damaged"* ]] || fail "record: exit $status: $output"
		[ "$(sha disk)" = "$before" ] || fail "written despite a damaged record"
		run "$E2IMAGE" -ra -O "$N" --move-abort disk
		[ "$status" -eq 1 ] || fail "abort with a damaged record: exit $status"
		[ "$(sha disk)" = "$before" ] || fail "written by the abort despite a damaged record"
	fi
	# both header copies spoiled: refused
	cp journal.kept disk.e2image-move
	printf 'XXXX' | dd of=disk.e2image-move bs=1 seek=200 conv=notrunc status=none
	printf 'XXXX' | dd of=disk.e2image-move bs=1 seek=4296 conv=notrunc status=none
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 1 ] && [[ "$output" == *"damaged"* ]] || fail "both headers: exit $status: $output"
}

@test "move: killed while the journal is made, nothing is moved and the next run starts afresh" {
	local N
	dist fs4k 1M
	make_disk fs4k right "$N" disk
	cp disk orig
	cp disk ref
	"$E2IMAGE" -ra -O "$N" ref
	# a half-made journal under its temporary name
	head -c 5000 /dev/urandom > disk.e2image-move.new
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[ ! -e disk.e2image-move.new ] && [ ! -e disk.e2image-move ]
	cmp disk ref
}

@test "move: the move command that finds an unfinished undo finishes it and exits 1 (not moved)" {
	local N
	dist fs1k 7b
	make_disk fs1k right "$N" disk
	cp disk orig
	start_killed -O "$N" disk
	# an undo, itself killed
	E2I_POWERLOSS_PATHS="$PWD/none" E2I_POWERLOSS_SYNC_USEC=100000 LD_PRELOAD=$POWERLOSS \
		"$E2IMAGE" -ra -O "$N" --move-abort disk 2> /dev/null &
	pid=$!
	sleep 0.5
	kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" || true
	[ -e disk.e2image-move ] || skip "the undo ended before the kill"
	run "$E2IMAGE" -ra -O "$N" disk
	[ "$status" -eq 1 ] && [[ "$output" == *"was not moved"* ]] || fail "exit $status: $output"
	[ ! -e disk.e2image-move ]
	fs_at disk 0 fs1k
}
