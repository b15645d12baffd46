#!/bin/sh
# bench.sh - benchmark our e2image against the e2fsprogs one (the oracle).
# Run as `make bench` (cd tests && ./bench/bench.sh).
#
# Environment:
#   E2IMAGE=PATH         our binary        (default: ../e2image/e2image)
#   ORACLE=PATH          reference binary  (default: /usr/sbin/e2image)
#   BENCH_FIXTURES="..." subset of: medium large huge   (default: all three)
#   BENCH_QUICK=1        small fixtures (1-2 GiB, 30-60k inodes) for a sanity run
#   BENCH_RUNS=N         timed warm runs per command, best kept (default 3)
#   BENCH_COLD=0         skip cold-cache runs; BENCH_COLD_RUNS=N (default 2)
#   BENCH_STRACE=0       skip syscall counting
#   BENCH_QCOW2=0        skip the -Q and qcow2->raw modes
#   BENCH_HUGE_STREAM=1  also time `-r huge -` (4 TiB of zeros written to
#                        /dev/null, once, not compared; very slow for the oracle)
#   BENCH_WORK=DIR       fixture cache / scratch dir (default: /var/tmp/e2image-bench,
#                        outside the tree: the fixtures take minutes to build
#                        and must survive `make clean`).
#
# Modes timed per fixture: -r FIX out.raw, -r FIX - > out.stream (both tools
# write a NEW file each run), and, if ours accepts -Q, -Q FIX out.qcow2 and
# -r in.qcow2 out.raw (also vs qemu-img convert).  The huge fixture's stdout
# mode is skipped: it is 4 TiB of zeros.
#
# Exit status: 0 unless an output differs from the oracle's (MISMATCH) or a
# command fails.  Speed targets are informational (PASS/MISS) only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
tests=$(dirname "$here")
W=${BENCH_WORK:-/var/tmp/e2image-bench}
OURS=${E2IMAGE:-$tests/../e2image/e2image}
ORACLE=${ORACLE:-/usr/sbin/e2image}
FIXTURES=${BENCH_FIXTURES:-medium large huge}
QUICK=${BENCH_QUICK:-0}
RUNS=${BENCH_RUNS:-3}
CRUNS=${BENCH_COLD_RUNS:-2}
TIME=/usr/bin/time
PY=/usr/bin/python3
command -v "$PY" >/dev/null 2>&1 || PY=$(command -v python3 || true)

mkdir -p "$W" || exit 2
T=$(mktemp -d /tmp/e2bench.XXXXXX) || exit 2     # small scratch files
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT TERM
REPORT=$W/report.txt
RES=$W/results.txt          # fixture mode cache tool wall user sys rss
: > "$REPORT"
: > "$RES"
FAIL=0
MISMATCH=0

say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
note() { say "note: $*"; }

[ "$QUICK" = 1 ] && pfx=q- || pfx=
OURS=$(cd "$(dirname "$OURS")" 2>/dev/null && pwd)/$(basename "$OURS")

# ---------------------------------------------------------------- prerequisites
if [ ! -x "$TIME" ]; then
	echo "bench: $TIME is missing: apt-get install time" >&2
	exit 2
fi
for b in "$OURS" "$ORACLE"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b not found or not executable (build first, or set E2IMAGE/ORACLE)" >&2
		exit 2
	fi
done
for c in mke2fs dumpe2fs; do
	command -v $c >/dev/null 2>&1 || { echo "bench: $c is missing (e2fsprogs)" >&2; exit 2; }
done
[ -n "$PY" ] || { echo "bench: python3 is required (fixtures, sparse compare)" >&2; exit 2; }

COLD=${BENCH_COLD:-1}
if [ "$COLD" = 1 ]; then
	if [ "$(id -u)" != 0 ] || ! { sync && echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
		COLD=0
		cold_note="cold runs skipped (needs root and a writable /proc/sys/vm/drop_caches)"
	fi
fi
STRACE=${BENCH_STRACE:-1}
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null 2>&1; then
	STRACE=0; strace_note="strace not installed: syscall counts skipped (apt-get install strace)"
fi
QEMUIMG=$(command -v qemu-img || true)

# sparse-aware byte compare (like cmp, but skips holes common to both files,
# which matters for a 4 TiB sparse output)
SCMP=$T/sparsecmp.py
cat > "$SCMP" <<'EOF'
import os, sys
a, b = sys.argv[1], sys.argv[2]
fa, fb = os.open(a, os.O_RDONLY), os.open(b, os.O_RDONLY)
sa, sb = os.fstat(fa).st_size, os.fstat(fb).st_size
def extents(fd, size):
    out, pos = [], 0
    while pos < size:
        try:
            d = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append((d, h)); pos = h
    return out
size = min(sa, sb)
ivs = sorted(extents(fa, size) + extents(fb, size))
merged = []
for s, e in ivs:
    e = min(e, size)
    if merged and s <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], e)
    else:
        merged.append([s, e])
CH = 4 << 20
for s, e in merged:
    p = s
    while p < e:
        n = min(CH, e - p)
        x, y = os.pread(fa, n, p), os.pread(fb, n, p)
        if x != y:
            m = min(len(x), len(y))
            i = next((i for i in range(m) if x[i] != y[i]), m)
            print("%s %s differ: byte %d" % (a, b, p + i + 1)); sys.exit(1)
        p += n
if sa != sb:
    print("%s %s differ: sizes %d vs %d" % (a, b, sa, sb)); sys.exit(1)
EOF
filecmp() { "$PY" "$SCMP" "$1" "$2"; }

# ---------------------------------------------------------------- fixtures
fixture_path() { echo "$W/$pfx$1.img"; }

build_fixture() {
	f=$(fixture_path "$1")
	[ -f "$f" ] && return 0
	say "building fixture $pfx$1 (cached in $f) ..."
	t0=$(date +%s)
	BENCH_QUICK=$QUICK "$here/mkfixture.sh" "$1" "$f" 2>&1 | tee -a "$REPORT" || true
	if [ ! -f "$f" ]; then
		say "ERROR: building fixture $1 failed"; FAIL=1; return 1
	fi
	say "built $pfx$1 in $(( $(date +%s) - t0 ))s"
}

fixture_info() {
	f=$1
	dumpe2fs -h "$f" 2>/dev/null | awk -F: -v app="$(du -h --apparent-size "$f" | cut -f1)" \
		-v disk="$(du -h "$f" | cut -f1)" '
		/^Inode count/ {ic=$2+0} /^Free inodes/ {fi=$2+0}
		/^Block count/ {bc=$2+0} /^Free blocks/ {fb=$2+0} /^Block size/ {bs=$2+0}
		END { printf "size %s (on disk %s), used inodes %d of %d, used blocks %d of %d (%.1f MiB)\n",
		      app, disk, ic-fi, ic, bc-fb, bc, (bc-fb)*bs/1048576 }'
}

# ---------------------------------------------------------------- timing
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# modes: raw (-r FIX OUT), stream (-r FIX - > OUT), qcow2 (-Q FIX OUT),
#        q2r (-r FIX.qcow2 OUT; for tool "qemu": qemu-img convert -O raw)
tool_bin() { case $1 in ours) echo "$OURS";; oracle) echo "$ORACLE";; qemu) echo "$QEMUIMG";; esac; }

# timed TOOL MODE IN OUT: one run; prints "wall user sys rss"; status 0/1
timed() {
	b=$(tool_bin "$1")
	[ "$4" = /dev/null ] || rm -f "$4"
	sync
	[ "$CACHE" = cold ] && drop_caches
	t0=$(date +%s%N)
	case $2 in
	raw)    "$TIME" -o "$T/time.out" -f '%e %U %S %M' "$b" -r "$3" "$4" 2>"$T/err.out";;
	stream) "$TIME" -o "$T/time.out" -f '%e %U %S %M' "$b" -r "$3" - > "$4" 2>"$T/err.out";;
	qcow2)  "$TIME" -o "$T/time.out" -f '%e %U %S %M' "$b" -Q "$3" "$4" 2>"$T/err.out";;
	q2r)    if [ "$1" = qemu ]; then
			"$TIME" -o "$T/time.out" -f '%e %U %S %M' "$b" convert -O raw "$3" "$4" 2>"$T/err.out"
		else
			"$TIME" -o "$T/time.out" -f '%e %U %S %M' "$b" -r "$3" "$4" 2>"$T/err.out"
		fi;;
	esac
	rc=$?
	t1=$(date +%s%N)
	if [ $rc != 0 ]; then
		{ say "ERROR: $1 $2 on $(basename "$3") exited $rc:"
		  sed 's/^/    /' "$T/err.out" | tail -5 | tee -a "$REPORT"; } >&2
		return 1
	fi
	# wall from the shell clock (ms resolution; %e is only 10 ms), rest from time(1)
	tail -1 "$T/time.out" | awk -v ns=$((t1 - t0)) '{printf "%.3f %s %s %s\n", ns/1e9, $2, $3, $4}'
}

# measure FIXNAME MODE IN TOOLS... : warm (1 warm-up + best of $RUNS) and
# cold (best of $CRUNS), interleaving tools; then compares outputs to oracle's.
measure() {
	fx=$1 mode=$2 in=$3; shift 3
	tools=$*
	for CACHE in warm cold; do
		if [ $CACHE = cold ]; then
			[ "$COLD" = 1 ] || continue
			n=$CRUNS
		else
			n=$RUNS
			for t in $tools; do
				timed $t $mode "$in" "$W/out.$mode.$t" > /dev/null || { FAIL=1; return 1; }
			done
		fi
		i=0
		for t in $tools; do : > "$T/runs.$t"; done
		while [ $i -lt $n ]; do
			for t in $tools; do
				r=$(timed $t $mode "$in" "$W/out.$mode.$t") || { FAIL=1; return 1; }
				echo "$r" >> "$T/runs.$t"
			done
			i=$((i + 1))
		done
		for t in $tools; do
			sort -n -k1,1 "$T/runs.$t" | head -1 | sed "s/^/$fx $mode $CACHE $t /" >> "$RES"
		done
	done
	# compare with the oracle's output
	ok=1
	for t in $tools; do
		[ $t = oracle ] && continue
		if [ $mode = qcow2 ] && ! cmp -s "$W/out.$mode.$t" "$W/out.$mode.oracle"; then
			# byte-different qcow2 files may still hold the same image
			if [ -n "$QEMUIMG" ] && "$QEMUIMG" compare -q "$W/out.$mode.$t" "$W/out.$mode.oracle" 2>/dev/null; then
				say "warning: $fx $mode: qcow2 files differ byte-wise but hold identical images (qemu-img compare)"
				continue
			fi
		fi
		if ! msg=$(filecmp "$W/out.$mode.$t" "$W/out.$mode.oracle" 2>&1); then
			say "!!!!!!!! MISMATCH: $fx $mode: $t vs oracle: $msg"
			MISMATCH=1; ok=0
		fi
	done
	[ $ok = 1 ] && say "  $fx $mode: outputs identical ($tools)"
	return 0
}

# strace_counts FIXNAME MODE FIX : syscall summary of one run per tool
strace_counts() {
	fx=$1 mode=$2 fix=$3
	for t in ours oracle; do
		b=$(tool_bin $t)
		st=$W/strace.$fx.$mode.$t.txt
		o=$W/out.strace
		rm -f "$o"
		if [ $mode = stream ]; then
			strace -c -f -S calls -o "$st" "$b" -r "$fix" - > "$o" 2>/dev/null
		else
			strace -c -f -S calls -o "$st" "$b" -r "$fix" "$o" 2>/dev/null
		fi
		rc=$?
		rm -f "$o"
		if [ $rc != 0 ]; then
			say "  $fx $mode $t: run under strace exited $rc; counts skipped"
			FAIL=1
			continue
		fi
		awk -v fx="$fx" -v m="$mode" -v t="$t" '
			/^-/ {sep++; next}
			sep==1 && NF>=5 { n++; if (n<=5) top = top sprintf(" %s=%s", $NF, $4) }
			/total$/ { tot=$4 }
			END { printf "  %-7s %-7s %-7s total %10s  top:%s\n", fx, m, t, tot, top }' "$st" | tee -a "$REPORT"
	done
}

# ---------------------------------------------------------------- report tables
# target(fixture, mode, cache) -> minimum speedup (or empty)
target_for() {
	case "$1.$2.$3" in
	medium.raw.warm|medium.stream.warm|large.raw.warm|large.stream.warm) echo 2;;
	medium.raw.cold|medium.stream.cold|large.raw.cold|large.stream.cold) echo 2.5;;
	huge.raw.*|huge.stream.*) echo 10;;
	esac
}
rss_target_for() { case $1 in medium) echo 64;; huge) echo 32;; esac; }

print_table() {
	say ""
	say "Results (wall s = best run; RSS = peak resident MiB; speedup = oracle wall / ours wall)"
	hdr=$(printf '%-7s %-7s %-5s | %8s %7s %7s %7s | %8s %7s %7s %7s | %7s %-12s' \
		fixture mode cache "ours" user sys RSS "oracle" user sys RSS speedup target)
	say "$hdr"
	say "$(echo "$hdr" | sed 's/./-/g')"
	while read -r fx mode cache; do
		o=$(awk -v f=$fx -v m=$mode -v c=$cache '$1==f&&$2==m&&$3==c&&$4=="ours"{print $5,$6,$7,$8}' "$RES")
		r=$(awk -v f=$fx -v m=$mode -v c=$cache '$1==f&&$2==m&&$3==c&&$4=="oracle"{print $5,$6,$7,$8}' "$RES")
		q=$(awk -v f=$fx -v m=$mode -v c=$cache '$1==f&&$2==m&&$3==c&&$4=="qemu"{print $5,$6,$7,$8}' "$RES")
		tg=$(target_for $fx $mode $cache)
		line=$(echo "$o | $r" | awk -v f=$fx -v m=$mode -v c=$cache -v tg="$tg" '{
			split($0, p, "|"); no=split(p[1], a, " "); nr=split(p[2], b, " ")
			if (no < 4) { a[1]="-"; a[2]="-"; a[3]="-"; a[4]=0 }
			if (nr < 4) { b[1]="-"; b[2]="-"; b[3]="-"; b[4]=0 }
			sp = (no >= 4 && nr >= 4 && a[1] > 0) ? sprintf("%6.2fx", b[1]/a[1]) : "      -"
			if (no >= 4 && nr >= 4 && a[1] == 0) sp = "   inf"
			st = ""
			if (tg != "" && no >= 4 && nr >= 4)
				st = sprintf(">=%sx %s", tg, (a[1] == 0 || b[1]/a[1] >= tg) ? "PASS" : "MISS")
			printf "%-7s %-7s %-5s | %8s %7s %7s %7.1f | %8s %7s %7s %7.1f | %7s %-12s",
				f, m, c, a[1], a[2], a[3], a[4]/1024, b[1], b[2], b[3], b[4]/1024, sp, st }')
		say "$line"
		if [ -n "$q" ]; then
			say "$(echo "$q $r" | awk -v f=$fx -v c=$cache '{ printf "%-7s %-7s %-5s   qemu-img convert -O raw: %s s (user %s, sys %s, %.1f MiB); oracle/qemu-img %.2fx\n", f, "q2r", c, $1, $2, $3, $4/1024, ($1>0 ? $5/$1 : 0) }')"
		fi
	done <<-EOF
	$(awk '{print $1, $2, $3}' "$RES" | awk '!seen[$0]++')
	EOF
	say ""
	say "Peak RSS targets (ours, max over all modes/caches):"
	for fx in $FIXTURES; do
		tg=$(rss_target_for $fx)
		[ -n "$tg" ] || continue
		awk -v f=$fx -v tg=$tg '$1==f && $4=="ours" && $8>m {m=$8} END {
			if (m == "") exit
			printf "  %-7s ours peak RSS %.1f MiB  target <= %d MiB  %s\n", f, m/1024, tg, (m/1024 <= tg) ? "PASS" : "MISS" }' "$RES" | tee -a "$REPORT"
	done
}

# ---------------------------------------------------------------- main
say "e2image benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host $(uname -n), $(nproc) cpu, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
say "ours:   $OURS"
say "oracle: $ORACLE ($("$ORACLE" 2>&1 | head -1 | sed -n 's/^e2image \([^ ]*\).*/\1/p'))"
say "fixtures: $FIXTURES$([ "$QUICK" = 1 ] && echo ' (QUICK)'); warm = 1 warm-up + best of $RUNS; cold = drop_caches + best of $CRUNS"
[ -n "${cold_note:-}" ] && note "$cold_note"
[ -n "${strace_note:-}" ] && note "$strace_note"

# does ours do qcow2?  (try -Q on a tiny fs)
QCOW2=${BENCH_QCOW2:-1}
if [ "$QCOW2" = 1 ]; then
	tiny=$W/tiny.img
	if [ ! -f "$tiny" ]; then
		rm -f "$tiny.tmp"; truncate -s 16M "$tiny.tmp"
		E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -U e2be0c4a-0000-4000-8000-000000000099 \
			-E hash_seed=e2be0c4a-0000-4000-8000-000000000099 "$tiny.tmp" && mv "$tiny.tmp" "$tiny"
	fi
	rm -f "$W/tiny.qcow2"
	if "$OURS" -Q "$tiny" "$W/tiny.qcow2" >/dev/null 2>&1 && [ -s "$W/tiny.qcow2" ]; then
		say "ours supports -Q: timing -Q and qcow2->raw too"
	else
		QCOW2=0; note "ours does not support -Q (yet): qcow2 modes skipped"
	fi
	rm -f "$W/tiny.qcow2"
fi

for fx in $FIXTURES; do
	case $fx in medium|large|huge) ;; *) say "ERROR: unknown fixture '$fx'"; FAIL=1; continue;; esac
	build_fixture $fx || continue
	fix=$(fixture_path $fx)
	say ""
	say "== $pfx$fx: $(fixture_info "$fix")"
	apparent=$(stat -c %s "$fix")

	measure $fx raw "$fix" ours oracle
	rm -f "$W"/out.raw.*

	if [ $fx != huge ]; then
		avail_k=$(df -Pk "$W" | awk 'NR==2{print $4}')
		if [ $((apparent / 1024 * 2 + 2097152)) -gt "$avail_k" ]; then
			note "$fx stream: not enough free disk for two $((apparent >> 30)) GiB stream outputs; skipped"
		else
			measure $fx stream "$fix" ours oracle
		fi
		rm -f "$W"/out.stream.*
	elif [ "${BENCH_HUGE_STREAM:-0}" = 1 ]; then
		for t in ours oracle; do
			CACHE=warm
			if r=$(timed $t stream "$fix" /dev/null); then
				echo "$fx stream warm $t $r" >> "$RES"
			else
				FAIL=1
			fi
		done
		note "huge stream: single run each to /dev/null, output not compared"
	else
		note "huge stream (-r FIX -) skipped: it writes $((apparent >> 30)) GiB of zeros (BENCH_HUGE_STREAM=1 to time it, to /dev/null)"
	fi

	if [ "$QCOW2" = 1 ]; then
		measure $fx qcow2 "$fix" ours oracle
		if [ -f "$W/out.qcow2.oracle" ]; then
			mv -f "$W/out.qcow2.oracle" "$W/in.qcow2"
			rm -f "$W"/out.qcow2.*
			if [ -n "$QEMUIMG" ]; then
				measure $fx q2r "$W/in.qcow2" ours oracle qemu
			else
				measure $fx q2r "$W/in.qcow2" ours oracle
			fi
			rm -f "$W"/out.q2r.* "$W/in.qcow2"
		fi
		rm -f "$W"/out.qcow2.*
	fi

	if [ "$STRACE" = 1 ]; then
		say "syscalls (strace -c -f, one run, -r to file / to stdout; top 5 by calls):"
		strace_counts $fx raw "$fix"
		if [ $fx != huge ]; then
			strace_counts $fx stream "$fix"
		fi
	fi
done

print_table

say ""
if [ $MISMATCH = 1 ]; then
	say "!!!!!!!! MISMATCH: some outputs differ from the oracle's (see above)"
fi
[ $FAIL = 1 ] && say "FAILED: a command failed (see above)"
say "report written to $REPORT"
rm -f "$T/time.out" "$T/err.out" "$W"/runs.* "$W/out.strace"
[ $MISMATCH = 0 ] && [ $FAIL = 0 ]
