#!/usr/bin/env bats
# damaged.bats -- imaging damaged file systems.  Each case of
# fixtures/make-damaged.sh is a healthy fixture with one kind of damage
# (extent headers, extent tree blocks, loops, indirect trees, special inodes
# with block maps, xattr blocks, orphan lists, group descriptors, inode
# tables, superblocks...).  e2fsprogs' e2image gives up on many of them
# ("... while iterating over inode N", exit 1, no image); ours must:
#   - never crash or hang (timeout 60), exit 0 (clean) or 2 (image written
#     with warnings), and leave a full-size image;
#   - exit 2 with a `warning:` line naming the inode/group where the damage
#     is in something it walks (the EXPECT table below; "-" = exit 0 or 2);
#   - give an image on which `e2fsck -fy` says exactly what it says on the
#     source (the golden rule; on a metadata-only image, since e2fsck reads
#     no file data on these cases -- checked again with -ra, all data);
#   - contain every non-zero byte of the oracle's -r image where the oracle
#     succeeds (superset);
#   - hold every byte `e2fsck -fn` reads on the source (traced with strace),
#     save the few kinds fsck-reads.py documents: this still says something
#     where the oracle fails;
#   - give the same image through -Q (qemu-img check clean, convert == -r);
#   - with --strict: exit 1 and leave no file where it warned (e2fsprogs'
#     image where e2fsprogs goes on regardless: STRICT_AS_ORACLE).
# Each test loops over all cases and names the failing ones (bats 1.8 has no
# dynamic tests).  CASES="etb-zero ind-self" restricts the run.  The damaged
# images are cached in FIXROOT/damaged-<hash of make-damaged.sh and
# build.sh>/; all e2image and e2fsck runs happen once, in parallel, in
# setup_file.

load common

MKDMG=$BATS_TEST_DIRNAME/fixtures/make-damaged.sh

# CASE EXPECT WARN: EXPECT 2 = exit 2 and a warning line matching the
# extended regex WARN; "-" = exit 0 or 2 (damage in data e2image does not
# parse, or that the -r walk does not need: data block numbers, an inode's own
# checksum, a group descriptor checksum, a superblock read through -b).
# Inode numbers are named, not written: WARN's placeholders are looked up on
# the healthy fixture the case is built from (see resolve); the numbers a
# case writes itself (orphan-past-count's 99999, group 1) stay literal.
expectations() {
	cat <<'EOF'
ext-magic-zero-depth1	2	inode {/sparse}\b
ext-magic-zero-leaf	2	inode {/large2m}\b
ext-depth-raised	2	inode {/large2m}\b
ext-depth-huge	2	inode {/sparse}\b
ext-entries-gt-max	2	inode {/large2m}\b
ext-past-end-file	-	-
ext-past-end-dir	2	inode {/files}\b
ext-idx-past-end	2	inode {/sparse}\b
etb-garbage	2	inode {/sparse}\b
etb-zero	2	inode {/sparse}\b
etb-ff	2	inode {/sparse}\b
etb-loop-self	2	inode {/sparse}\b
etb-loop-parent	2	inode {/sparse}\b
etb-csum-bad	2	inode {/sparse}\b
inode-csum-bad	-	-
dir-as-socket	-	-
file-as-socket-etb	-	-
file-as-chardev-etb	-	-
file-as-dir	-	-
xattr-past-end	2	inode {/medium}\b
xattr-garbage	-	-
links0-live	-	-
orphan-loop	2	inode ({/sparse}|{/frag/fragmented})\b
orphan-past-count	2	inode 99999\b
gd-itable-past-end	2	group 1\b
gd-bbitmap-past-end	2	group 1\b
gd-checksum	-	-
itable-garbage	2	inode {itb:/sparse}\b
itable0-garbage	2	inode {itb:<1>}\b
itable-zero	-	-
journal-exthdr	2	inode {journal}\b
resize-dind-past-end	2	inode {resize}\b
dir-isize-huge	-	-
iblocks-huge	-	-
dir-garbage	-	-
dir-zero	-	-
htree-root-corrupt	-	-
sb-csum-primary	-	-
etb-garbage-1k	2	inode {/sparse}\b
etb-loop-self-1k	2	inode {/sparse}\b
ext-past-end-dir-1k	2	inode {/files}\b
dir-etb-garbage-1k	2	inode {/files}\b
dir-as-socket-etb-1k	-	-
dir-ext-magic-zero	2	inode {/files}\b
journal-sb-garbage	-	-
ind-garbage	-	-
ind-self	-	-
dind-self	-	-
dind-garbage	2	inode {/large2m}\b
dind-past-end	2	inode {/large2m}\b
dir-iblock-past-end	2	inode {/d1}\b
dir-as-socket-ind	-	-
symlink-bogus	2	inode {/symlink-long}\b
sb-first-data-block	-	-
journal-ind-garbage	2	inode {journal}\b
gd-itable-past-end-ext3	2	group 1\b
sb-inodes-count	-	-
psb-zeroed	2	primary superblock is unusable.*which e2fsck uses$
psb-magic-zero-4k	2	primary superblock is unusable.*only when given -b
psb-inode-size-zero	2	primary superblock is unusable.*which e2fsck uses$
psb-desc-size	2	primary superblock is unusable.*which e2fsck uses$
psb-csum	2	primary superblock is unusable \(Superblock checksum
psb-first-meta-bg	2	primary superblock is unusable.*only when given -b
gd-itable-past-end-g0	2	group 0: its descriptor fails
itable-unused-shrunk	-	-
itable-unused-impossible	-	-
inode-uninit-used	-	-
etb-bad-first-child-1k	2	inode {/sparse}\b
badblocks-itable	-	-
psb-meta-bg-one-group	2	primary superblock is damaged.*no backup opens
root-links0	-	-
journal-inode-clri-ext3	-	-
badblocks-list	-	-
iblocks-zero-ind	-	-
EOF
}

# With -ra (all data), data block numbers past the end are damage the walk
# meets too: these must warn.
ra_warn_of() {
	case $1 in
	ext-past-end-file|ind-garbage) echo 'inode {/large2m}\b' ;;
	esac
}

cases() {
	if [ -n "${CASES:-}" ]; then
		printf '%s\n' $CASES
	else
		"$MKDMG" --list
	fi
}
expect_of() { expectations | awk -F'\t' -v c="$1" '$1 == c { print $2; exit }'; }
warn_pattern() { expectations | awk -F'\t' -v c="$1" '$1 == c { print $3; exit }'; }
# warn_of CASE, ra_warn_resolved CASE: the patterns with placeholders resolved
# (by prep)
warn_of() { cat "$BATS_FILE_TMPDIR/$1/warn"; }
ra_warn_resolved() { cat "$BATS_FILE_TMPDIR/$1/ra-warn"; }

# lookup IMG KEY: the number placeholder {KEY} stands for on IMG:
#   {PATH}      the inode of PATH (debugfs syntax: /a/b, or <N>)
#   {itb:PATH}  (a|b|...): every inode in the inode table block holding PATH's
#   {journal}   the journal inode (s_journal_inum)
#   {resize}    the resize inode: 7, EXT2_RESIZE_INO (no field records it)
lookup() {
	local img=$1 key=$2 n ipb
	case $key in
	journal)
		dumpe2fs -h "$img" 2> /dev/null | awk -F: '/^Journal inode:/ { print $2 + 0 }' ;;
	resize)
		echo 7 ;;
	itb:*)
		n=$(lookup "$img" "${key#itb:}") && [ -n "$n" ] || return 1
		ipb=$(dumpe2fs -h "$img" 2> /dev/null | awk -F: '
			/^Block size:/ { b = $2 + 0 } /^Inode size:/ { i = $2 + 0 }
			END { if (b && i) print b / i }')
		[ -n "$ipb" ] || return 1
		n=$(((n - 1) / ipb * ipb + 1))
		echo "($(seq -s '|' "$n" $((n + ipb - 1))))" ;;
	*)
		debugfs -R "stat $key" "$img" 2> /dev/null | awk '/^Inode:/ { print $2; exit }' ;;
	esac
}

# resolve CASE PATTERN: PATTERN with every {KEY} replaced by its lookup on
# the healthy fixture CASE is built from; fails if one does not resolve
resolve() {
	local img pat=$2 out="" key val
	img=$(fixture "$(base_of "$1")") || return 1
	while [[ $pat == *"{"*"}"* ]]; do
		out=$out${pat%%\{*}
		pat=${pat#*\{}
		key=${pat%%\}*}
		pat=${pat#*\}}
		val=$(lookup "$img" "$key") && [ -n "$val" ] ||
			{ echo "cannot resolve {$key} on $img" >&2; return 1; }
		out=$out$val
	done
	printf '%s\n' "$out$pat"
}
base_of() { "$MKDMG" --base "$1"; }
opts_of() { "$MKDMG" --opts "$1" "$(fixture "$(base_of "$1")")"; }

# damaged CASE: print the path of the damaged image, building it if needed
damaged() {
	local src
	src=$(fixture "$(base_of "$1")") || return 1
	cached "$DMGDIR" "$1.img" "$MKDMG" "$1" "$src"
}

# run_rc RCFILE CMD...: run CMD under timeout 60 with stdout/stderr in
# RCFILE.out/.err, store its exit status in RCFILE
run_rc() {
	local f=$1 rc=0
	shift
	timeout 60 "$@" > "$f.out" 2> "$f.err" || rc=$?
	echo "$rc" > "$f"
}

# prep CASE: all the runs for CASE, results in $BATS_FILE_TMPDIR/CASE/
prep() {
	local c=$1 d r opts
	r=$BATS_FILE_TMPDIR/$c
	mkdir -p "$r"
	d=$(damaged "$c") || { echo "cannot build $c" > "$r/build-failed"; return 0; }
	opts=$(opts_of "$c")
	resolve "$c" "$(warn_pattern "$c")" > "$r/warn" 2> "$r/warn.err" || rm -f "$r/warn"
	resolve "$c" "$(ra_warn_of "$c")" > "$r/ra-warn" 2>> "$r/warn.err" || rm -f "$r/ra-warn"
	stamp "$d" > "$r/stamp.before"
	run_rc "$r/ours.rc" "$E2IMAGE" -r $opts "$d" "$r/ours.img"
	run_rc "$r/oracle.rc" "$ORACLE" -r $opts "$d" "$r/oracle.img"
	run_rc "$r/qcow.rc" "$E2IMAGE" -Q $opts "$d" "$r/ours.qcow2"
	run_rc "$r/strict.rc" "$E2IMAGE" --strict -r $opts "$d" "$r/strict.img"
	# the legacy format (it refuses -b, as e2fsprogs does)
	case " $opts " in
	*" -b "*) ;;
	*) run_rc "$r/legacy.rc" "$E2IMAGE" $opts "$d" "$r/ours.e2i"
	   if [ -s "$r/ours.e2i" ]; then
		timeout 60 dumpe2fs -i "$r/ours.e2i" > /dev/null 2>&1
		echo $? > "$r/legacy-dumpe2fs.rc"
	   fi ;;
	esac
	BATS_TEST_TMPDIR=$r e2fsck_out "$d" > "$r/src.fsck"
	if [ -s "$r/ours.img" ]; then
		BATS_TEST_TMPDIR=$r e2fsck_out "$r/ours.img" > "$r/ours.fsck"
	fi
	if [ "$(cat "$r/oracle.rc")" = 0 ]; then
		BATS_TEST_TMPDIR=$r e2fsck_out "$r/oracle.img" > "$r/oracle.fsck"
	fi
	# --anonymize: e2fsck must find the same problems (names masked)
	run_rc "$r/anon.rc" "$E2IMAGE" -r --anonymize $opts "$d" "$r/anon.img"
	if [ -s "$r/anon.img" ]; then
		BATS_TEST_TMPDIR=$r e2fsck_out "$r/anon.img" > "$r/anon.fsck"
	fi
	rm -f "$r/anon.img"
	# -ra: all data (64 MiB images: checked, then removed)
	run_rc "$r/ra.rc" "$E2IMAGE" -ra $opts "$d" "$r/ours-ra.img"
	if [ -s "$r/ours-ra.img" ]; then
		BATS_TEST_TMPDIR=$r e2fsck_out "$r/ours-ra.img" > "$r/ra.fsck"
	fi
	rm -f "$r"/*.out "$r/ours-ra.img"
	# what e2fsck -fn reads on the source (strace -ff: a file per thread)
	if [ ! -e "$BATS_FILE_TMPDIR/no-strace" ]; then
		mkdir -p "$r/trace"
		strace -f -ff -ttt -y -qq -s 0 -e signal=none \
			-e trace=lseek,read,pread64,readv,preadv,preadv2 \
			-o "$r/trace/t" e2fsck -fn "$d" > /dev/null 2>&1 || true
	fi
	stamp "$d" > "$r/stamp.after"
}

# the damaged images depend on make-damaged.sh and on the fixtures it
# damages
dmgdir() {
	printf '%s\n' "${DMGDIR:-$(cache_dir damaged make-damaged.sh build.sh)}"
}

setup_file() {
	DMGDIR=$(dmgdir)
	export DMGDIR MKDMG BATS_FILE_TMPDIR BATS_TEST_DIRNAME
	export -f prep damaged run_rc e2fsck_out has_feature base_of opts_of stamp \
		expectations warn_pattern ra_warn_of lookup resolve
	strace -f -qq -e trace=none true > /dev/null 2>&1 ||
		echo "strace is missing or cannot trace here" > "$BATS_FILE_TMPDIR/no-strace"
	# build the healthy fixtures first (serially: fixture() locks per name)
	local b
	for b in $("$MKDMG" --list | while read -r c; do "$MKDMG" --base "$c"; done | sort -u); do
		fixture "$b" > /dev/null
	done
	cases | xargs -P "$(nproc)" -I{} bash -c 'prep "$1"' _ {}
	for c in $(cases); do
		r=$BATS_FILE_TMPDIR/$c
		[ "$(cat "$r/oracle.rc" 2> /dev/null)" = 0 ] && [ -s "$r/ours.img" ] || continue
		printf '%s\t%s\t%s\n' "$r/superset" "$r/ours.img" "$r/oracle.img"
	done | supersets
	# one python for all cases (its start-up is not free)
	if [ ! -e "$BATS_FILE_TMPDIR/no-strace" ]; then
		for c in $(cases); do
			r=$BATS_FILE_TMPDIR/$c
			[ -s "$r/ours.img" ] && [ -d "$r/trace" ] || continue
			printf '%s\t%s\t%s\t%s\t%s\n' "$r/reads" "$(damaged "$c")" "$r/ours.img" \
				"$(fixture "$(base_of "$c")")" "$r/trace"
		done | python3 "$BATS_TEST_DIRNAME/fsck-reads.py"
	fi
}

setup() {
	DMGDIR=$(dmgdir)
}

# each_case FUNC: run FUNC CASE for every case, each in a subshell, as many
# at a time as there are CPUs (this suite is the longest: it would end
# alone); name the ones that failed.  What they print, and their diag
# lines, come out in the order of the cases.
each_case() {
	local c failed="" d=$BATS_TEST_TMPDIR/each-$1 n=0 cpus
	cpus=$(nproc)
	mkdir -p "$d"
	for c in $(cases); do
		[ -e "$BATS_FILE_TMPDIR/$c/build-failed" ] && continue
		( "$1" "$c" > "$d/$c.out" 2>&1 3> "$d/$c.diag" || : > "$d/$c.failed" ) &
		n=$((n + 1))
		if [ "$n" -ge "$cpus" ]; then
			wait -n || true
			n=$((n - 1))
		fi
	done
	wait
	for c in $(cases); do
		if [ -e "$BATS_FILE_TMPDIR/$c/build-failed" ]; then
			echo "FAILED on case $c: the damaged image could not be built" >&2
			failed="$failed $c"
			continue
		fi
		cat "$d/$c.out" >&2
		cat "$d/$c.diag" >&3
		if [ -e "$d/$c.failed" ]; then
			failed="$failed $c"
			echo "FAILED on case $c" >&2
		fi
	done
	[ -z "$failed" ] || fail "$1 failed on:$failed"
}

rc_of() { cat "$BATS_FILE_TMPDIR/$1/$2.rc"; }
res() { printf '%s\n' "$BATS_FILE_TMPDIR/$1/$2"; }

# supersets: for each line "RESULT OURS ORACLE" (tab-separated) on stdin,
# write to RESULT "ok" if every non-zero byte of ORACLE is equal in OURS,
# else the first differing offsets.  Only ORACLE's data is read: its holes
# are zeros, which ask nothing of OURS.  One python for all cases (its
# start-up is not free).
supersets() {
	python3 -c '
import os, sys
CH = 1 << 20

def data(fd):
    """(offset, length) of the data of fd, in chunks of at most CH"""
    off = 0
    while True:
        try:
            off = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            return
        end = os.lseek(fd, off, os.SEEK_HOLE)
        while off < end:
            yield off, min(CH, end - off)
            off += CH

def missing(ours, oracle):
    bad = []
    with open(ours, "rb") as a, open(oracle, "rb") as b:
        for off, n in data(b.fileno()):
            y = os.pread(b.fileno(), n, off)
            x = os.pread(a.fileno(), n, off)
            x += bytes(len(y) - len(x))
            if x == y:
                continue
            for i in range(len(y)):
                if y[i] and x[i] != y[i]:
                    bad.append(off + i)
                    if len(bad) >= 10:
                        return bad
    return bad

for line in sys.stdin:
    result, ours, oracle = line.rstrip("\n").split("\t")
    bad = missing(ours, oracle)
    with open(result, "w") as f:
        if bad:
            f.write("oracle bytes missing from ours at offsets: " +
                    " ".join(str(o) for o in bad) + (" ...\n" if len(bad) >= 10 else "\n"))
        else:
            f.write("ok\n")
'
}

check_runs() {
	local c=$1 rc want err size
	rc=$(rc_of "$c" ours)
	err=$(res "$c" ours.rc.err)
	case $rc in
	0|2) ;;
	124) fail "$c: -r did not finish within 60 s"; return 1 ;;
	*) cat "$err" >&2; fail "$c: -r exit status $rc (want 0 or 2)"; return 1 ;;
	esac
	[ -s "$(res "$c" ours.img)" ] || { fail "$c: exit $rc but no image"; return 1; }
	size=$(stat -c %s "$(res "$c" ours.img)")
	[ "$size" = "$(fs_bytes "$(fixture "$(base_of "$c")")")" ] ||
		{ fail "$c: image has $size bytes, the fs $(fs_bytes "$(fixture "$(base_of "$c")")")"; return 1; }
	if [ "$rc" = 2 ]; then
		grep -q 'incomplete' "$err" || { cat "$err" >&2; fail "$c: exit 2 without an 'incomplete' summary"; return 1; }
		grep -q '^e2image: warning: ' "$err" || { cat "$err" >&2; fail "$c: exit 2 without a warning"; return 1; }
	else
		! grep -q 'warning:' "$err" || { cat "$err" >&2; fail "$c: warnings but exit 0"; return 1; }
	fi
	want=$(expect_of "$c")
	[ -n "$want" ] || { fail "$c: not in the expectations table"; return 1; }
	if [ "$want" = 2 ]; then
		[ -s "$(res "$c" warn)" ] ||
			{ cat "$(res "$c" warn.err)" >&2; fail "$c: the expected warning could not be resolved"; return 1; }
		[ "$rc" = 2 ] || { cat "$err" >&2; fail "$c: exit $rc, want 2 (damage the walk must notice)"; return 1; }
		grep -E '^e2image: warning: ' "$err" | grep -qE "$(warn_of "$c")" ||
			{ cat "$err" >&2; fail "$c: no warning line matching '$(warn_of "$c")'"; return 1; }
	fi
	return 0
}
check_legacy() {
	local c=$1 rc err
	[ -e "$(res "$c" legacy.rc)" ] || return 0 # -b: refused, as e2fsprogs does
	rc=$(rc_of "$c" legacy)
	err=$(res "$c" legacy.rc.err)
	# an image wherever -r makes one (it copies tables only: damage inside
	# an inode's block map is no concern of its, so it may exit 0 there)
	case $rc in
	0|2) ;;
	*) [ "$(rc_of "$c" ours)" != 0 ] && [ "$(rc_of "$c" ours)" != 2 ] && return 0
	   cat "$err" >&2; fail "$c: the legacy format exits $rc, -r $(rc_of "$c" ours)"; return 1 ;;
	esac
	[ -s "$(res "$c" ours.e2i)" ] || { fail "$c: exit $rc but no legacy image"; return 1; }
	if [ "$rc" = 2 ]; then
		grep -q '^e2image: warning: ' "$err" || { cat "$err" >&2; fail "$c: exit 2 without a warning"; return 1; }
	else
		! grep -q 'warning:' "$err" || { cat "$err" >&2; fail "$c: warnings but exit 0"; return 1; }
	fi
	# dumpe2fs -i reads it without crashing (it may find the damage)
	[ "$(cat "$(res "$c" legacy-dumpe2fs.rc)")" -lt 124 ] ||
		{ fail "$c: dumpe2fs -i on the legacy image: exit $(cat "$(res "$c" legacy-dumpe2fs.rc)")"; return 1; }
}
@test "damaged: the legacy format makes an image wherever -r does (exit 2 with warnings), and dumpe2fs -i reads it" {
	each_case check_legacy
}
@test "damaged: -r never crashes or hangs, leaves a full-size image; exit 2 + warning naming the inode/group where expected" {
	each_case check_runs
}

check_fsck() {
	local c=$1
	[ -s "$(res "$c" ours.fsck)" ] || { fail "$c: no image to check"; return 1; }
	diff "$(res "$c" src.fsck)" "$(res "$c" ours.fsck)" >&2 ||
		{ fail "$c: e2fsck -fy on our -r image differs from the source (< source, > ours)"; return 1; }
}
@test "damaged: e2fsck -fy on our -r image says exactly what it says on the source" {
	each_case check_fsck
}

check_anon_fsck() {
	local c=$1
	[ -s "$(res "$c" anon.fsck)" ] || { fail "$c: --anonymize made no image ($(cat "$(res "$c" anon.rc.err)" | tail -1))"; return 1; }
	diff <(mask_names < "$(res "$c" src.fsck)") <(mask_names < "$(res "$c" anon.fsck)") >&2 ||
		{ fail "$c: e2fsck -fy on the --anonymize image differs from the source, names masked (< source, > anonymized)"; return 1; }
}
@test "damaged: e2fsck -fy on an --anonymize image finds what it finds on the source (names masked)" {
	each_case check_anon_fsck
}

check_superset() {
	local c=$1 orc
	orc=$(rc_of "$c" oracle)
	if [ "$orc" != 0 ]; then
		diag "oracle fails on $c (exit $orc): $(grep 'e2image: ' "$(res "$c" oracle.rc.err)" | tail -1)"
		[ -s "$(res "$c" ours.img)" ] || { fail "$c: the oracle fails and so do we"; return 1; }
		return 0
	fi
	if ! cmp -s "$(res "$c" src.fsck)" "$(res "$c" oracle.fsck)"; then
		diag "oracle's image of $c misleads e2fsck ($(diff "$(res "$c" src.fsck)" "$(res "$c" oracle.fsck)" | grep -c '^[<>]') lines differ)"
	fi
	[ -s "$(res "$c" ours.img)" ] || { fail "$c: no image"; return 1; }
	[ "$(cat "$(res "$c" superset)")" = ok ] ||
		{ cat "$(res "$c" superset)" >&2; fail "$c: our -r image is not a superset of the oracle's"; return 1; }
}
@test "damaged: our -r image holds every byte of the oracle's where the oracle succeeds (oracle failures listed)" {
	each_case check_superset
}

check_qcow2() {
	local c=$1 rc q raw
	rc=$(rc_of "$c" qcow)
	case $rc in
	0|2) ;;
	124) fail "$c: -Q did not finish within 60 s"; return 1 ;;
	*) cat "$(res "$c" qcow.rc.err)" >&2; fail "$c: -Q exit status $rc"; return 1 ;;
	esac
	[ "$rc" = "$(rc_of "$c" ours)" ] || { fail "$c: -Q exit $rc, -r exit $(rc_of "$c" ours)"; return 1; }
	q=$(res "$c" ours.qcow2)
	qemu-img check -q "$q" >&2 || { fail "$c: qemu-img check fails on the -Q image"; return 1; }
	raw=$BATS_TEST_TMPDIR/$c.raw
	qemu-img convert -f qcow2 -O raw "$q" "$raw" >&2 || { fail "$c: qemu-img convert failed"; return 1; }
	cmp "$raw" "$(res "$c" ours.img)" >&2 || { rm -f "$raw"; fail "$c: -Q image converted to raw differs from the -r image"; return 1; }
	rm -f "$raw"
}
check_reads() {
	local c=$1 f
	f=$(res "$c" reads)
	[ -s "$f" ] || { fail "$c: no result from fsck-reads.py (no image or no trace)"; return 1; }
	if [ "$(head -1 "$f")" != ok ]; then
		cat "$f" >&2
		fail "$c: our -r image lacks bytes e2fsck -fn reads on the source"
		return 1
	fi
	[ "$(rc_of "$c" oracle)" = 0 ] || diag "$c (the oracle fails): $(sed -n 2p "$f")"
	grep '^exempt: ' "$f" | while IFS= read -r l; do diag "$c: $l"; done
}
@test "damaged: our -r image holds every byte e2fsck -fn reads on the source (exceptions: fsck-reads.py)" {
	[ ! -e "$BATS_FILE_TMPDIR/no-strace" ] || skip "$(cat "$BATS_FILE_TMPDIR/no-strace")"
	each_case check_reads
}

@test "damaged: -Q exits like -r, passes qemu-img check, and converts to the -r image" {
	each_case check_qcow2
}

# Cases where ours warns but e2fsprogs' e2image goes on without a word (a
# primary superblock that fails only its checksum: e2fsprogs ignores
# checksums): --strict, e2fsprogs' behaviour, gives e2fsprogs' image.
STRICT_AS_ORACLE="psb-csum"
check_strict() {
	local c=$1 rc src
	rc=$(rc_of "$c" strict)
	case " $STRICT_AS_ORACLE " in *" $c "*)
		[ "$rc" = 0 ] || { cat "$(res "$c" strict.rc.err)" >&2; fail "$c: --strict exit $rc, want 0 as e2fsprogs"; return 1; }
		[ "$(rc_of "$c" oracle)" = 0 ] && cmp "$(res "$c" strict.img)" "$(res "$c" oracle.img)" >&2 ||
			{ fail "$c: --strict image differs from e2fsprogs'"; return 1; }
		return 0 ;;
	esac
	case $(rc_of "$c" ours) in
	2)	[ "$rc" = 1 ] || { cat "$(res "$c" strict.rc.err)" >&2; fail "$c: --strict exit $rc, want 1"; return 1; }
		[ ! -e "$(res "$c" strict.img)" ] || { fail "$c: --strict failed but left $(res "$c" strict.img)"; return 1; }
		grep -q . "$(res "$c" strict.rc.err)" || { fail "$c: --strict failed silently"; return 1; } ;;
	0)	[ "$rc" = 0 ] || { cat "$(res "$c" strict.rc.err)" >&2; fail "$c: clean without --strict, exit $rc with it"; return 1; }
		cmp "$(res "$c" strict.img)" "$(res "$c" ours.img)" >&2 || { fail "$c: --strict image differs"; return 1; } ;;
	*)	fail "$c: -r exit $(rc_of "$c" ours), nothing to compare --strict with"; return 1 ;;
	esac
}
@test "damaged: --strict exits 1 and leaves no file where -r warns (same image where it does not)" {
	each_case check_strict
}

check_ra() {
	local c=$1 rc p err
	rc=$(rc_of "$c" ra)
	err=$(res "$c" ra.rc.err)
	case $rc in
	0|2) ;;
	124) fail "$c: -ra did not finish within 60 s"; return 1 ;;
	*) cat "$err" >&2; fail "$c: -ra exit status $rc"; return 1 ;;
	esac
	# -ra must warn at least wherever -r does
	[ "$(rc_of "$c" ours)" != 2 ] || [ "$rc" = 2 ] || { fail "$c: -r warned, -ra exit $rc"; return 1; }
	if [ -n "$(ra_warn_of "$c")" ]; then
		p=$(ra_warn_resolved "$c") && [ -n "$p" ] ||
			{ cat "$(res "$c" warn.err)" >&2; fail "$c: the expected -ra warning could not be resolved"; return 1; }
		[ "$rc" = 2 ] && grep -E '^e2image: warning: ' "$err" | grep -qE "$p" ||
			{ cat "$err" >&2; fail "$c: -ra exit $rc, want 2 with a warning matching '$p'"; return 1; }
	fi
	[ -s "$(res "$c" ra.fsck)" ] || { fail "$c: no -ra image to check"; return 1; }
	diff "$(res "$c" src.fsck)" "$(res "$c" ra.fsck)" >&2 ||
		{ fail "$c: e2fsck -fy on our -ra image differs from the source"; return 1; }
}
@test "damaged: -ra (all data) images: e2fsck -fy says what it says on the source; data past the end warns" {
	each_case check_ra
}

check_source_unchanged() {
	local c=$1
	cmp -s "$(res "$c" stamp.before)" "$(res "$c" stamp.after)" ||
		{ fail "$c: the damaged source was modified by -r, -Q, --strict -r or -ra"; return 1; }
}
@test "damaged: the damaged source is never modified (-r, -Q, --strict, -ra)" {
	each_case check_source_unchanged
}

# Cases where e2fsprogs' e2image writes an image on which e2fsck says
# something else than on the source (special inodes with a block map, an
# orphan list with a loop): the e2fsck test above proves something there.
MISLEADS_ORACLE="dir-as-socket dir-as-socket-ind dir-as-socket-etb-1k orphan-loop"
check_oracle_misled() {
	local c=$1
	case " $MISLEADS_ORACLE " in *" $c "*) ;; *) return 0 ;; esac
	[ "$(rc_of "$c" oracle)" = 0 ] || { fail "$c: the oracle fails (exit $(rc_of "$c" oracle))"; return 1; }
	! cmp -s "$(res "$c" src.fsck)" "$(res "$c" oracle.fsck)" ||
		{ fail "$c: e2fsck says the same on the oracle's image: the case proves nothing"; return 1; }
}
@test "damaged: the special-inode and orphan-loop cases matter (e2fsck is misled by the oracle's image)" {
	each_case check_oracle_misled
}

# The summary counts what the warnings name: N damaged inodes = the number
# of distinct inodes in "warning: inode N:" lines, the same for groups; no
# warning line is printed twice.
check_summary() {
	local c=$1 err summary ni ng wi wg
	[ "$(rc_of "$c" ours)" = 2 ] || return 0
	err=$(res "$c" ours.rc.err)
	grep -q 'further warnings are counted but not shown' "$err" && return 0
	summary=$(grep 'incomplete' "$err" | tail -1)
	ni=$(printf '%s\n' "$summary" | grep -oE '[0-9]+ damaged inodes?' | grep -oE '^[0-9]+')
	ng=$(printf '%s\n' "$summary" | grep -oE '[0-9]+ damaged groups?' | grep -oE '^[0-9]+')
	[ -n "$ni" ] && [ -n "$ng" ] || { fail "$c: no inode/group counts in the summary: $summary"; return 1; }
	wi=$(grep -oE '^e2image: warning: inode [0-9]+:' "$err" | sort -u | wc -l)
	wg=$(grep -oE '^e2image: warning: group [0-9]+:' "$err" | sort -u | wc -l)
	[ "$ni" = "$wi" ] && [ "$ng" = "$wg" ] ||
		{ cat "$err" >&2; fail "$c: summary says $ni inodes / $ng groups, warnings name $wi inodes / $wg groups"; return 1; }
	[ -z "$(grep '^e2image: warning: ' "$err" | sort | uniq -d)" ] ||
		{ grep '^e2image: warning: ' "$err" | sort | uniq -d >&2; fail "$c: a warning line printed twice"; return 1; }
}
@test "damaged: the summary's inode and group counts match the warnings; no warning printed twice" {
	each_case check_summary
}

# Not a catalogue case (no image can exist): a 64-bit descriptor size of 0
# on a filesystem with no backup. Loading the primary despite its errors,
# as e2fsck tries, divides by that size (e2fsck 1.47.0 dies of SIGFPE).
@test "damaged: a primary superblock with descriptor size 0 and no backup is refused cleanly, no crash" {
	local img=$BATS_TEST_TMPDIR/dz.img
	cp --sparse=always "$(fixture ext4-nocsum)" "$img"
	printf '\0\0' | dd of="$img" bs=1 seek=$((1024 + 254)) conv=notrunc status=none
	run "$E2IMAGE" -r "$img" "$BATS_TEST_TMPDIR/dz.raw"
	[ "$status" -eq 1 ] || { echo "$output"; fail "exit $status"; }
	[[ $output == *"descriptor size incorrect while trying to open"* ]] || { echo "$output"; fail "no message"; }
	[ ! -e "$BATS_TEST_TMPDIR/dz.raw" ]
}
