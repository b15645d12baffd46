#!/bin/bash
# bench.sh - how fast our e2image is next to e2fsprogs' e2image on this
# machine, and how close each mode comes to the machine's own limit.
# Run as `make bench` (cd tests && ./bench/bench.sh).
#
# Every figure is measured in this run, on this machine:
#   - each command runs BENCH_RUNS times (median shown, with min and max),
#     the tools alternating (ours, e2fsprogs, floor, ours, ...), each run
#     writing a new output file (removed first) unless the mode is
#     "replacing";
#   - warm: after one warm-up run of each; cold: caches dropped before each
#     run (root only);
#   - ratios are ours / e2fsprogs: lower is better, 0.50x = half the time;
#   - the floor (bench/floor.c) is the least work that gives the same
#     output: the project's capture, then one pread and one pwrite per
#     captured run, no threads, no tricks (replacing: the same, in place
#     over the old image; for -Q: the capture, then the -Q image's size
#     written front to back; for qcow2 -> raw: the qcow2 file read and
#     written once). Its -r outputs are checked to equal ours.
#   - the whole matrix runs on 1 core (taskset) and on 2.
#
# Environment:
#   E2IMAGE=PATH        our binary        (default: ../e2image/e2image)
#   TESTS_BUILDDIR=DIR  the build's tests/ (default: this tests/), where the
#                       floor is built
#   ORACLE=PATH         e2fsprogs' binary (default: /usr/sbin/e2image)
#   BENCH_FIXTURES=".." subset of: medium large huge 10t usr (default: all)
#                       medium 8 GiB, 262k inodes; large 28 GiB, 1M inodes;
#                       huge 4 TiB and 10t 10 TiB nearly empty; usr: this
#                       machine's /usr (mke2fs -d /usr)
#   BENCH_QUICK=1       small versions of the fixtures, for a sanity run
#   BENCH_RUNS=N        timed runs per tool and mode (default 5)
#   BENCH_CPUS="1 2"    core counts to run the matrix on: N < all cores runs
#                       under taskset -c 0-(N-1), N = all cores runs plain
#   BENCH_LOAD=1        a CPU hog (`yes > /dev/null`) on the last allowed
#                       core during runs on 2 or more cores
#   BENCH_MODES="..."   subset of: raw replace stream qcow2 q2r sync anon compress
#                       (compress: our -Q -z and --compress=zstd against
#                       e2image -Q, e2image -Q + bzip2, e2image -r - | bzip2
#                       and qemu-img convert -c of e2image's image, zlib and
#                       zstd: wall time and size; and the compressed images
#                       back to raw, ours against qemu-img convert; the
#                       bzip2 and qemu-img -c commands run once, the rest
#                       BENCH_RUNS times)
#                       (anon: ours -r --anonymize against e2fsprogs -rs,
#                       the "floor" column being ours' plain -r, on a copy
#                       of the fixture whose directories e2fsck -fyD indexed)
#   BENCH_COLD=0        no cold-cache runs
#   BENCH_STRACE=0      no syscall counts; BENCH_PERF=0: no perf stat
#   BENCH_WORK=DIR      fixture cache and scratch (default /var/tmp/e2image-bench:
#                       outside the tree, fixtures take minutes to build).
#                       Fixtures are rebuilt when mkfixture.sh changes.
#
# Report: stdout and $BENCH_WORK/report.txt; every run in results.txt.
# Exit status: 0 unless a command fails or an output differs from
# e2fsprogs' (raw: same bytes, holes read as zeros; qcow2: qemu-img
# compare). The speed and memory targets are informational (PASS/MISS).
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
tests=$(dirname "$here")
W=${BENCH_WORK:-/var/tmp/e2image-bench}
build=${TESTS_BUILDDIR:-$tests}
OURS=${E2IMAGE:-$build/../e2image/e2image}
ORACLE=${ORACLE:-/usr/sbin/e2image}
FLOOR=$build/bench/floor
QUICK=${BENCH_QUICK:-0}
FIXTURES=${BENCH_FIXTURES:-medium large huge 10t usr}
RUNS=${BENCH_RUNS:-5}
CPUS=${BENCH_CPUS:-1 2}
LOAD=${BENCH_LOAD:-0}
MODES=" ${BENCH_MODES:-raw replace stream qcow2 q2r sync anon compress} "
COLD=${BENCH_COLD:-1}
STRACE=${BENCH_STRACE:-1}
PERF=${BENCH_PERF:-1}
TIME=/usr/bin/time
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
NPROC=$(nproc)

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$TIME" ] || die "$TIME is missing: apt-get install time"
[ -n "$PY" ] || die "python3 is required (fixtures, sparse compare)"
for c in mke2fs dumpe2fs taskset; do
	command -v $c >/dev/null 2>&1 || die "$c is missing"
done
for b in "$OURS" "$ORACLE"; do
	[ -x "$b" ] || die "$b not found (build first, or set E2IMAGE/ORACLE)"
done
case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS must be a positive number";; esac
OURS=$(cd "$(dirname "$OURS")" && pwd)/$(basename "$OURS")
# The floor is built with the project's flags against lib/libcore.a.
[ -f "$build/Makefile" ] || die "run ./configure first (the floor is built by tests/Makefile)"
make -s -C "$build" bench/floor >&2 || die "building $FLOOR failed"

mkdir -p "$W" || exit 2
R=$W/run                           # outputs of the timed runs
rm -rf "$R"; mkdir -p "$R" || exit 2
T=$(mktemp -d /tmp/e2bench.XXXXXX) || exit 2
HOG=
cleanup() {
	[ -n "$HOG" ] && kill "$HOG" 2>/dev/null
	rm -rf "$T" "$R"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
REPORT=$W/report.txt
RES=$W/results.txt
START=$(date +%s)
rm -f "$W"/strace.*.txt
: > "$REPORT"
echo "# fixture cpus mode cache tool wall_s user_s sys_s maxrss_kib" > "$RES"
FAIL=0
MISMATCH=0

say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
note() { say "note: $*"; }
has_mode() { case $MODES in *" $1 "*) return 0;; esac; return 1; }

# ------------------------------------------------------------ what can run
notes=()
if [ "$COLD" = 1 ]; then
	if [ "$(id -u)" != 0 ] || ! { sync && echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
		COLD=0
		notes+=("cold runs skipped: dropping the page cache needs root")
	fi
else
	notes+=("cold runs skipped (BENCH_COLD=0)")
fi
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null 2>&1; then
	STRACE=0; notes+=("strace not installed: syscall counts skipped")
fi
if [ "$PERF" = 1 ] && ! perf stat -e task-clock,page-faults,context-switches \
		-x, -o /dev/null true >/dev/null 2>&1; then
	PERF=0
fi
QEMUIMG=$(command -v qemu-img || true)
[ -n "$QEMUIMG" ] || notes+=("qemu-img not installed: qcow2 outputs not compared, no qemu-img convert timing")
SYNC=0
if has_mode sync; then
	if "$OURS" --help 2>&1 | grep -q -- --sync; then
		SYNC=1
	else
		notes+=("ours has no --sync option: the --sync modes are skipped")
	fi
fi
if ! "$OURS" --help 2>&1 | grep -q -- --sync && "$OURS" --help 2>&1 | grep -q -- --no-fsync; then
	notes+=("this build of ours fsyncs its output by default (it has --no-fsync, not --sync): its plain runs wait for the disk, e2fsprogs' do not")
fi

# ------------------------------------------------------------ helpers
# Sparse-aware compare: like cmp, but skips holes common to both files
# (a 10 TiB image is almost all hole).
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
merged = []
for s, e in sorted(extents(fa, size) + extents(fb, size)):
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
            print("differ at byte %d" % (p + i + 1)); sys.exit(1)
        p += n
if sa != sb:
    print("sizes differ: %d vs %d" % (sa, sb)); sys.exit(1)
EOF
rawcmp() { "$PY" "$SCMP" "$1" "$2"; }
qcowcmp() {
	if [ -z "$QEMUIMG" ]; then
		cmp -s "$1" "$2" && return 0
		echo "byte-different qcow2 files, qemu-img missing to compare their images"
		return 0
	fi
	"$QEMUIMG" compare -q "$1" "$2" 2>&1 && return 0
	echo "qemu-img compare: the images differ"
	return 1
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# The command for TOOL in MODE writing OUT: sets CMD and OUTFD (where its
# standard output goes).
build_cmd() {
	local t=$1 m=$2 out=$3 b
	OUTFD=/dev/null
	case $t in ours) b=$OURS;; e2fs) b=$ORACLE;; esac
	case $m.$t in
	raw.floor)    CMD=("$FLOOR" raw "$FIX" "$out");;
	replace.floor) CMD=("$FLOOR" overwrite "$FIX" "$out");;
	raw.*|replace.*) CMD=("$b" -r "$FIX" "$out");;
	stream.floor) CMD=("$FLOOR" raw "$FIX" -); OUTFD=$out;;
	stream.*)     CMD=("$b" -r "$FIX" -); OUTFD=$out;;
	qcow2.floor)  CMD=("$FLOOR" qcow2 "$FIX" "$(qbytes)" "$out");;
	qcow2.*)      CMD=("$b" -Q "$FIX" "$out");;
	q2r.floor)    CMD=("$FLOOR" copy "$QIN" "$out");;
	q2r.qemu)     CMD=("$QEMUIMG" convert -O raw "$QIN" "$out");;
	q2r.*)        CMD=("$b" -r "$QIN" "$out");;
	anon.ours)    CMD=("$OURS" -r --anonymize "$HFIX" "$out");;
	anon.e2fs)    CMD=("$ORACLE" -rs "$HFIX" "$out");;
	anon.floor)   CMD=("$OURS" -r "$HFIX" "$out");;
	# The same durability for all: ours' --sync, the others then sync -f.
	sync.ours)    CMD=("$OURS" --sync -r "$FIX" "$out");;
	sync.e2fs)    CMD=(sh -c '"$0" -r "$1" "$2" && sync -f "$2"' "$ORACLE" "$FIX" "$out");;
	sync.floor)   CMD=(sh -c '"$0" raw "$1" "$2" && sync -f "$2"' "$FLOOR" "$FIX" "$out");;
	syncq.ours)   CMD=("$OURS" --sync -Q "$FIX" "$out");;
	syncq.e2fs)   CMD=(sh -c '"$0" -Q "$1" "$2" && sync -f "$2"' "$ORACLE" "$FIX" "$out");;
	syncq.floor)  CMD=(sh -c '"$0" qcow2 "$1" "$2" "$3" && sync -f "$3"' "$FLOOR" "$FIX" "$(qbytes)" "$out");;
	esac
}

# The size of ours' -Q image of this fixture: what the -Q floor writes.
qbytes() {
	[ -n "$QBYTES" ] || QBYTES=$(stat -c %s "$R/out.ours" 2>/dev/null)
	echo "${QBYTES:-0}"
}

# run_one TOOL MODE CACHE: one timed run; prints "wall user sys rss_kib".
run_one() {
	local t=$1 m=$2 c=$3 out=$R/out.$1 t0 t1 rc
	build_cmd "$t" "$m" "$out"
	[ "$m" = replace ] || rm -f "$out"
	sync
	[ "$c" = cold ] && drop_caches
	t0=$EPOCHREALTIME
	"${PIN[@]}" "$TIME" -o "$T/time" -f '%U %S %M' "${CMD[@]}" > "$OUTFD" 2> "$T/err"
	rc=$?
	t1=$EPOCHREALTIME
	if [ $rc != 0 ]; then
		{ say "ERROR: $t ($m, $c, $CPULABEL) exited $rc: ${PIN[*]} ${CMD[*]}"
		  tail -5 "$T/err" | sed 's/^/    /' | tee -a "$REPORT"; } >&2
		return 1
	fi
	[ $t = floor ] && grep '^floor: capture' "$T/err" | tail -1 > "$T/floor.$m.$c"
	# wall from the shell's clock (microseconds), the rest from time(1)
	tail -1 "$T/time" | awk -v a="$t0" -v b="$t1" '{ printf "%.4f %s %s %s\n", b - a, $1, $2, $3 }'
}

# case MODE CACHE TOOLS...: one warm-up each (warm), then RUNS rounds of
# the tools in turn; then the outputs are compared with e2fsprogs'.
run_case() {
	local m=$1 c=$2 t i r msg
	shift 2
	if [ $c = warm ]; then
		for t in "$@"; do
			run_one $t $m $c > /dev/null || { FAIL=1; return 1; }
		done
	fi
	for ((i = 0; i < RUNS; i++)); do
		for t in "$@"; do
			r=$(run_one $t $m $c) || { FAIL=1; return 1; }
			echo "$FX $NCPU $m $c $t $r" >> "$RES"
		done
	done
	case $m in
	anon)        msg=""; r=0;;  # different images by design
	qcow2|syncq) msg=$(qcowcmp "$R/out.ours" "$R/out.e2fs"); r=$?;;
	*)           msg=$(rawcmp "$R/out.ours" "$R/out.e2fs"); r=$?;;
	esac
	if [ $r != 0 ]; then
		say "!!!!!!!! MISMATCH: $FX $m ($c, $CPULABEL): ours and e2fsprogs: $msg"
		MISMATCH=1
	elif [ -n "$msg" ]; then
		note "$FX $m: $msg"
	else
		CHECKED="$CHECKED $m"
	fi
	# The floor is worth something only if it makes the same image.
	if { [ $m = raw ] || [ $m = replace ]; } && [ -z "${FLOOR_OK[$m]:-}" ]; then
		if msg=$(rawcmp "$R/out.floor" "$R/out.ours"); then
			FLOOR_OK[$m]=1
		else
			say "!!!!!!!! the floor's output ($m) differs from ours ($msg): bench/floor.c is wrong"
			FAIL=1
			FLOOR_OK[$m]=0
		fi
		[ $m = raw ] && DATA_MIB=$(du -k "$R/out.ours" "$R/out.e2fs" "$R/out.floor" |
			awk '{ v[NR] = $1 / 1024 }
			     END { printf "ours %.1f MiB, e2fsprogs %.1f MiB, floor %.1f MiB", v[1], v[2], v[3] }')
	fi
	return 0
}

# ------------------------------------------------------------ fixtures
KEY=$(sha256sum "$here/mkfixture.sh" | cut -c1-12)
FXDIR=$W/fixtures-$KEY
[ "$QUICK" = 1 ] && pfx=q- || pfx=
for d in "$W"/fixtures-* "$W"/medium.img "$W"/large.img "$W"/huge.img "$W"/q-*.img "$W"/tiny.img; do
	[ -e "$d" ] && [ "$d" != "$FXDIR" ] || continue
	notes+=("removed $(basename "$d"): built by another mkfixture.sh")
	rm -rf "$d"
done
mkdir -p "$FXDIR" || exit 2

# build_fixture NAME: 0 built or cached, 1 failed, 3 skipped (noted)
build_fixture() {
	local f=$FXDIR/$pfx$1.img t0 rc
	[ -f "$f" ] && return 0
	say "building fixture $pfx$1 in $f ..."
	t0=$(date +%s)
	BENCH_QUICK=$QUICK "$here/mkfixture.sh" "$1" "$f" 2>&1 | tee -a "$REPORT"
	rc=${PIPESTATUS[0]}
	[ $rc = 3 ] && return 3
	if [ $rc != 0 ] || [ ! -f "$f" ]; then
		say "ERROR: building fixture $1 failed"; FAIL=1; return 1
	fi
	say "built $pfx$1 in $(( $(date +%s) - t0 ))s"
}

fixture_info() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: -v app="$(du -h --apparent-size "$1" | cut -f1)" \
		-v disk="$(du -h "$1" | cut -f1)" '
		/^Inode count/ {ic=$2+0} /^Free inodes/ {fi=$2+0}
		/^Block count/ {bc=$2+0} /^Free blocks/ {fb=$2+0} /^Block size/ {bs=$2+0}
		END { printf "%s (%s on disk), %d of %d inodes used, %d of %d blocks used (%.0f MiB)",
		      app, disk, ic-fi, ic, bc-fb, bc, (bc-fb)*bs/1048576 }'
}

# ------------------------------------------------------------ report tables
# table FIXTURE NCPU: one row per mode and cache: medians [min-max], ratios,
# and the issue's target (informational); targets also go to $T/targets.
table() {
	awk -v fx="$1" -v cpu="$2" -v tfile="$T/targets" -v cpul="$3" '
	function fmt(x) { return x < 10 ? sprintf("%.3f", x) : x < 100 ? sprintf("%.2f", x) : sprintf("%.1f", x) }
	function stats(k,   m, i, j, x, a) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		MED = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		CELL = sprintf("%s [%s-%s]", fmt(MED), fmt(a[1]), fmt(a[m]))
	}
	function ratio(a, b) { return (b > 0) ? sprintf("%.2fx", a / b) : "-" }
	# the issue-16 targets: mode, cache, who we are compared with
	function target(m, c, vs) {
		if (m == "q2r") return vs == "qemu" ? 0.33 : 0.67
		if (m == "anon") return 1.0
		if (fx ~ /^(q-)?(huge|10t)$/ && (m == "raw" || m == "qcow2")) return 0.1
		if (m == "raw") return c == "warm" ? 0.6 : 0.4
		if (m == "qcow2") return 0.4
		return 0
	}
	function row(label, m, c, vs,   o, th, fl, om, tm, fm, tg, st) {
		o = m SUBSEP c SUBSEP "ours"; th = m SUBSEP c SUBSEP vs; fl = m SUBSEP c SUBSEP "floor"
		if (!(o in n) || !(th in n)) return
		stats(o); oc = CELL; om = MED
		stats(th); tc = CELL; tm = MED
		if (fl in n) { stats(fl); fc = CELL; fm = MED } else { fc = "-"; fm = 0 }
		tg = target(m, c, vs); st = ""
		# issue 19: --anonymize at most 2x our plain -r (the floor column)
		if (m == "anon" && fm > 0) {
			printf "%-10s %-8s %-22s %-5s %6s  <=2.00x %s\n", fx, cpul, "  vs our plain -r", c,
				ratio(om, fm), om / fm <= 2 ? "PASS" : "MISS" >> tfile
		}
		if (tg > 0 && tm > 0) {
			st = sprintf("<=%.2fx %s", tg, om / tm <= tg ? "PASS" : "MISS")
			printf "%-10s %-8s %-22s %-5s %6s  %s\n", fx, cpul, label, c, ratio(om, tm), st >> tfile
		}
		printf "%-24s %-5s | %-20s %-20s %-20s | %9s %10s %10s | %s\n", label, c, oc, tc, fc,
			ratio(om, tm), ratio(fm, tm), ratio(om, fm), st
	}
	$1 == fx && $2 == cpu {
		k = $3 SUBSEP $4 SUBSEP $5
		v[k, ++n[k]] = $6
		if (!(($3 SUBSEP $4) in seen)) { seen[$3 SUBSEP $4] = 1; order[++no] = $3 " " $4 }
	}
	END {
		lab["raw"] = "-r FS OUT (new file)"; lab["replace"] = "-r FS OUT (replacing)"
		lab["stream"] = "-r FS - > OUT"; lab["qcow2"] = "-Q FS OUT"
		lab["q2r"] = "-r IN.qcow2 OUT"; lab["sync"] = "--sync -r FS OUT"
		lab["syncq"] = "--sync -Q FS OUT"
		lab["anon"] = "-r --anonymize (vs -rs)"
		printf "%-24s %-5s | %-20s %-20s %-20s | %9s %10s %10s | %s\n", "mode", "cache",
			"ours", "e2fsprogs", "floor", "ours/e2fs", "floor/e2fs", "ours/floor", "target (ours/e2fs)"
		for (i = 1; i <= no; i++) {
			split(order[i], p, " ")
			row(lab[p[1]], p[1], p[2], "e2fs")
			if ((p[1] SUBSEP p[2] SUBSEP "qemu") in n)
				row("  vs qemu-img convert", p[1], p[2], "qemu")
		}
	}' "$RES"
}

# Peak RSS per tool over every run of the fixture.
rss_summary() {
	awk -v fx="$1" '$1 == fx && $9 > m[$5] { m[$5] = $9 }
		END {
			s = "peak RSS (max over all runs):"
			split("ours e2fs floor qemu", t, " ")
			name["ours"] = "ours"; name["e2fs"] = "e2fsprogs"; name["floor"] = "floor"; name["qemu"] = "qemu-img"
			for (i = 1; i <= 4; i++) if (t[i] in m) s = s sprintf(" %s %.1f MiB,", name[t[i]], m[t[i]] / 1024)
			sub(/,$/, "", s); print s
			if (fx ~ /^(q-)?(huge|10t)$/ && ("ours" in m))
				printf "target: ours peak RSS <= 32 MiB: %s (%.1f MiB)\n", m["ours"] / 1024 <= 32 ? "PASS" : "MISS", m["ours"] / 1024
		}' "$RES"
}

# syscalls (strace -c -f) of one run per tool
strace_counts() {
	local m=$1 t st
	shift
	for t in "$@"; do
		st=$W/strace.$FX.$m.$t.txt
		build_cmd $t $m "$R/out.strace"
		rm -f "$R/out.strace"
		if ! strace -c -f -S calls -o "$st" "${CMD[@]}" > "$OUTFD" 2>/dev/null; then
			say "  $m $t: the run under strace failed; counts skipped"
			FAIL=1
			continue
		fi
		awk -v m="$m" -v t="$t" '
			/^-/ {sep++; next}
			sep == 1 && NF >= 5 { k++; if (k <= 5) top = top sprintf(" %s=%s", $NF, $4) }
			/total$/ { tot = $4 }
			END { printf "  %-7s %-6s total %9s  top:%s\n", m, t, tot, top }' "$st" | tee -a "$REPORT"
	done
	rm -f "$R/out.strace"
}

# task-clock, page faults, context switches of one run per tool
perf_counts() {
	local t
	for t in ours e2fs floor; do
		build_cmd $t raw "$R/out.perf"
		rm -f "$R/out.perf"
		perf stat -e task-clock,page-faults,context-switches -x, -o "$T/perf" \
			"${CMD[@]}" > /dev/null 2>&1 || continue
		awk -F, -v t="$t" '
			$3 == "task-clock" { tc = $1 } $3 == "page-faults" { pf = $1 }
			$3 == "context-switches" { cs = $1 }
			END { printf "  -r      %-6s task-clock %8.1f ms, page-faults %7d, context-switches %6d\n", t, tc, pf, cs }' \
			"$T/perf" | tee -a "$REPORT"
	done
	rm -f "$R/out.perf"
}

start_hog() {
	taskset -c "$1" yes > /dev/null &
	HOG=$!
}
stop_hog() {
	[ -n "$HOG" ] || return 0
	kill "$HOG" 2>/dev/null
	wait "$HOG" 2>/dev/null
	HOG=
}

# ------------------------------------------------------------ header
src=$(findmnt -no SOURCE -T "$W" 2>/dev/null | head -1)
say "e2image benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $NPROC cores online," \
	"$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
say "bench dir: $W on ${src:-?} ($(findmnt -no FSTYPE -T "$W" 2>/dev/null || stat -f -c %T "$W"))," \
	"mount options $(findmnt -no OPTIONS -T "$W" 2>/dev/null || echo '?')," \
	"rotational $(lsblk -ndo ROTA "$src" 2>/dev/null | tr -d ' ' | sed 's/^1$/yes/; s/^0$/no/; s/^$/?/')"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "ours:      $OURS ($("$OURS" -V 2>&1 | head -1))"
say "e2fsprogs: $ORACLE ($("$ORACLE" 2>&1 | sed -n '1s/^e2image \([^ ]*\).*/\1/p'))"
[ -n "$QEMUIMG" ] && say "qemu-img:  $QEMUIMG ($("$QEMUIMG" --version | sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p'))"
say "fixtures: $FIXTURES$([ "$QUICK" = 1 ] && echo ' (QUICK: small versions)'); modes:$MODES"
say ""
say "Times in seconds: median [min-max] of $RUNS runs per tool, the tools alternating, each run"
say "writing a new output file except '(replacing)'. warm: after one warm-up run; cold: page"
say "cache dropped before each run. Ratios are ours / e2fsprogs (lower is better: 0.50x = ours"
say "takes half e2fsprogs' time); floor/e2fs and ours/floor show how close each comes to the floor,"
say "the least work giving the same output (bench/floor.c, one thread, no mmap, fadvise or zero"
say "detection: the project's capture, then one pread and one pwrite per captured run, in 8 MiB"
say "pieces for longer runs, into a new sparse file; replacing: the same written in place over the"
say "old image; -Q: the capture, then the -Q image's size written front to back; qcow2->raw: the"
say "qcow2 file read and written once). --sync rows: ours with --sync against e2fsprogs and the"
say "floor followed by 'sync -f OUT', each timed as one command."
say "Targets (issue 16) are informational: PASS/MISS never fails the run."
for n in "${notes[@]}"; do note "$n"; done

# ------------------------------------------------------------ main
: > "$T/targets"
declare -A FLOOR_OK
# ctime N CMD...: CMD run N times (each after sync, pinned as the matrix
# is, output removed first); prints the median wall time in seconds.
ctime() {
	local n=$1 i t0 t1 ws=()
	shift
	for ((i = 0; i < n; i++)); do
		rm -f "$R/c.out"
		sync
		t0=$EPOCHREALTIME
		"${PIN[@]}" "$@" > /dev/null 2> "$T/err" || { echo "ERROR"; return 1; }
		t1=$EPOCHREALTIME
		ws+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	printf '%s\n' "${ws[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# compress_section: issue 20's comparison, one table per core count.
compress_section() {
	local eq=$R/e2.qcow2 zq=$R/z.qcow2 sq=$R/zs.qcow2 base w sz line
	[ -n "$QEMUIMG" ] || { note "$FX: compress skipped: no qemu-img"; return 0; }
	"$ORACLE" -Q "$FIX" "$eq" 2> /dev/null || { say "ERROR: e2fsprogs -Q $FIX failed"; FAIL=1; return 1; }
	say ""
	say "-- $FX, compressed qcow2, $CPULABEL ($pinl): median wall of $RUNS runs (bzip2, qemu-img -c: one run)"
	printf '%-44s %9s %12s %9s\n' "command" "wall s" "bytes" "vs e2image -Q" | tee -a "$REPORT"
	base=$(ctime "$RUNS" "$ORACLE" -Q "$FIX" "$R/c.out")
	sz=$(stat -c %s "$R/c.out" 2> /dev/null)
	for line in \
		"e2image -Q FS OUT^$RUNS^$ORACLE -Q $FIX $R/c.out" \
		"ours -Q -z FS OUT (zlib:6)^$RUNS^$OURS -Q -z $FIX $R/c.out" \
		"ours -Q --compress=zstd FS OUT (zstd:3)^$RUNS^$OURS -Q --compress=zstd $FIX $R/c.out" \
		"ours -Q --compress=zstd FS - > OUT^$RUNS^sh -c \"$OURS -Q --compress=zstd $FIX - > $R/c.out\"" \
		"e2image -Q FS OUT && bzip2 OUT^1^sh -c \"$ORACLE -Q $FIX $R/c.tmp && bzip2 -c $R/c.tmp > $R/c.out; rm -f $R/c.tmp\"" \
		"e2image -r FS - | bzip2 > OUT^1^sh -c \"$ORACLE -r $FIX - | bzip2 > $R/c.out\"" \
		"qemu-img convert -c (zlib) of e2image -Q^1^$QEMUIMG convert -c -O qcow2 $eq $R/c.out" \
		"qemu-img convert -c (zstd) of e2image -Q^1^$QEMUIMG convert -c -O qcow2 -o compression_type=zstd $eq $R/c.out"; do
		IFS='^' read -r lab n cmd <<< "$line"
		w=$(eval ctime "$n" $cmd) || { say "ERROR: $lab failed: $(tail -1 "$T/err")"; FAIL=1; continue; }
		sz=$(stat -c %s "$R/c.out")
		case $lab in "ours -Q -z"*) cp "$R/c.out" "$zq";; "ours -Q --compress=zstd FS OUT"*) cp "$R/c.out" "$sq";; esac
		printf '%-44s %9s %12s %9s\n' "$lab" "$w" "$sz" "$(awk -v a="$w" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')" | tee -a "$REPORT"
	done
	for line in "zlib^$zq" "zstd^$sq"; do
		IFS='^' read -r lab q <<< "$line"
		[ -s "$q" ] || continue
		"$QEMUIMG" compare -q "$eq" "$q" || { say "!!!!!!!! MISMATCH: our $lab image and e2image's differ (qemu-img compare)"; MISMATCH=1; }
		w=$(ctime "$RUNS" "$OURS" -r "$q" "$R/c.out")
		base=$(ctime "$RUNS" "$QEMUIMG" convert -O raw "$q" "$R/c.out")
		printf '%-44s %9s %12s %9s\n' "$lab image -> raw: ours / qemu-img convert" "$w" "" \
			"$(awk -v a="$w" -v b="$base" 'BEGIN { printf "%.2fx of %.3f", a / b, b }')" | tee -a "$REPORT"
	done
	rm -f "$R/c.out" "$eq" "$zq" "$sq"
}

for FX0 in $FIXTURES; do
	case $FX0 in medium|large|huge|10t|usr) ;;
	*) say "ERROR: unknown fixture '$FX0'"; FAIL=1; continue;; esac
	say ""
	build_fixture $FX0
	case $? in
	0) ;;
	3) note "$pfx$FX0 skipped (see above)"; continue;;
	*) continue;;
	esac
	FX=$pfx$FX0
	FIX=$FXDIR/$FX.img
	QIN=$R/in.qcow2
	QBYTES=
	CHECKED=
	FLOOR_OK=()
	DATA_MIB=
	huge=0; case $FX0 in huge|10t) huge=1;; esac
	say "== $FX: $(fixture_info "$FIX")"
	[ $FX0 = usr ] && say "   built with mke2fs -d from this machine's $([ "$QUICK" = 1 ] && echo /usr/share/man || echo /usr): its content differs between machines"

	for NCPU in $CPUS; do
		if [ "$NCPU" -gt "$NPROC" ]; then
			note "$FX: $NCPU cores asked, $NPROC online: skipped"; continue
		elif [ "$NCPU" -eq "$NPROC" ]; then
			PIN=(); CPULABEL="$NCPU cores"; pinl="all cores, unpinned"
		elif [ "$NCPU" -eq 1 ]; then
			PIN=(taskset -c 0); CPULABEL="1 core"; pinl="taskset -c 0"
		else
			PIN=(taskset -c "0-$((NCPU - 1))"); CPULABEL="$NCPU cores"; pinl="taskset -c 0-$((NCPU - 1))"
		fi
		loadl="no other load"
		if [ "$LOAD" = 1 ] && [ "$NCPU" -ge 2 ]; then
			start_hog $((NCPU - 1)); loadl="core $((NCPU - 1)) loaded by 'yes > /dev/null' (BENCH_LOAD=1)"
		fi
		has_mode raw && run_case raw warm ours e2fs floor
		has_mode raw && [ $COLD = 1 ] && run_case raw cold ours e2fs floor
		has_mode replace && run_case replace warm ours e2fs floor
		if has_mode stream; then
			avail_k=$(df -Pk "$W" | awk 'NR==2 {print $4}')
			if [ $huge = 1 ]; then
				[ "$NCPU" = "${CPUS%% *}" ] && note "$FX: -r FS - skipped: e2fsprogs writes its $(du -h --apparent-size "$FIX" | cut -f1) of zeros"
			elif [ $(( $(stat -c %s "$FIX") / 1024 * 2 + 2097152 )) -gt "$avail_k" ]; then
				note "$FX: -r FS - skipped: not enough free space for two full-size outputs"
			else
				run_case stream warm ours e2fs floor
			fi
		fi
		if has_mode qcow2; then
			run_case qcow2 warm ours e2fs floor
			[ $COLD = 1 ] && run_case qcow2 cold ours e2fs floor
		fi
		if has_mode q2r; then
			if [ ! -f "$QIN" ]; then
				rm -f "$QIN.tmp"
				"$ORACLE" -Q "$FIX" "$QIN.tmp" 2> "$T/err" && mv "$QIN.tmp" "$QIN" ||
					{ say "ERROR: e2fsprogs -Q $FIX failed: $(tail -1 "$T/err")"; FAIL=1; }
			fi
			if [ -f "$QIN" ]; then
				q2rt="ours e2fs floor"; [ -n "$QEMUIMG" ] && q2rt="ours e2fs qemu floor"
				run_case q2r warm $q2rt
				[ $COLD = 1 ] && run_case q2r cold $q2rt
			fi
		fi
		if has_mode anon && [ $huge = 0 ]; then
			# the fixture with its directories indexed (mke2fs -d does not)
			HFIX=$FXDIR/$pfx$FX-htree.img
			if [ ! -s "$HFIX" ]; then
				cp --sparse=always "$FIX" "$HFIX.tmp" &&
					{ e2fsck -fyD "$HFIX.tmp" > /dev/null 2>&1; [ $? -le 1 ]; } &&
					mv "$HFIX.tmp" "$HFIX" ||
					{ say "ERROR: cannot index the directories of $FIX"; FAIL=1; rm -f "$HFIX.tmp"; }
			fi
			[ -s "$HFIX" ] && run_case anon warm ours e2fs floor
		fi
		has_mode compress && [ $huge = 0 ] && compress_section
		if [ $SYNC = 1 ]; then
			run_case sync warm ours e2fs floor
			run_case syncq warm ours e2fs floor
		fi
		stop_hog
		rm -f "$R"/out.*
		say ""
		say "-- $FX on $CPULABEL ($pinl; $loadl)"
		table "$FX" "$NCPU" "$CPULABEL" | tee -a "$REPORT"
	done
	say ""
	[ -n "$CHECKED" ] && say "outputs identical to e2fsprogs':$(echo $CHECKED | tr ' ' '\n' | awk '!s[$0]++' | tr '\n' ' ' | sed 's/^/ /; s/ $//') (raw: byte for byte; qcow2: qemu-img compare)"
	[ "${FLOOR_OK[raw]:-}" = 1 ] && say "the floor's output equals ours byte for byte (-r to a new file$([ "${FLOOR_OK[replace]:-}" = 1 ] && echo ', and replacing'))"
	[ -s "$T/floor.raw.warm" ] && say "floor $(sed 's/^floor: //' "$T/floor.raw.warm") (last warm -r run)"
	[ -n "$DATA_MIB" ] && say "data blocks in the -r images (du): $DATA_MIB (the floor writes every captured block, zeros included)"
	rss_summary "$FX" | tee -a "$REPORT"
	if [ "$PERF" = 1 ] && has_mode raw; then
		say "perf stat (one warm run each, all cores):"
		perf_counts
	fi
	if [ "$STRACE" = 1 ]; then
		say "syscalls (strace -c -f, one run each; top 5 by calls):"
		has_mode raw && strace_counts raw ours e2fs floor
		has_mode stream && [ $huge = 0 ] && strace_counts stream ours e2fs
		has_mode qcow2 && strace_counts qcow2 ours e2fs
	fi
	rm -f "$R"/* "$T"/floor.*
done

say ""
say "== Targets (issue 16; informational, ours / e2fsprogs or qemu-img)"
if [ -s "$T/targets" ]; then
	awk '{ if ($NF == "PASS") p++; else m++; print "  " $0 }
	     END { printf "  %d PASS, %d MISS\n", p, m }' "$T/targets" | tee -a "$REPORT"
else
	say "  (none measured)"
fi
say ""
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); the bench took $(( ($(date +%s) - START + 30) / 60 )) min"
[ $MISMATCH = 1 ] && say "!!!!!!!! MISMATCH: some outputs differ from e2fsprogs' (see above)"
[ $FAIL = 1 ] && say "FAILED: a command failed (see above)"
say "report: $REPORT; every run: $RES"
[ $MISMATCH = 0 ] && [ $FAIL = 0 ]
