#!/bin/bash
# fsck-corpus.sh DIR... -- rehearsal fidelity on a corpus of damaged images
# (e.g. the tests/*/image.gz of e2fsprogs' source: `apt-get source
# e2fsprogs`). For each image (gzip'd or not): our -r image and e2fsprogs'
# e2image -r image are taken, and `e2fsck -fy` runs on a copy of each and
# on a copy of the source; the transcripts are compared (the device name
# masked). Prints one line per image and a summary:
#   NAME ours=SAME|DIFF|NOIMAGE(rc) oracle=SAME|DIFF|NOIMAGE(rc)
# Not part of `make check` (the corpus is not in this tree).
#   E2IMAGE=PATH (default ../e2image/e2image), ORACLE=PATH (/usr/sbin/e2image)
#   JOBS=N parallel images (default: online CPUs); TIMEOUT=seconds (60)
set -u
here=$(cd "$(dirname "$0")" && pwd)
OURS=${E2IMAGE:-$here/../e2image/e2image}
ORACLE=${ORACLE:-/usr/sbin/e2image}
export OURS ORACLE TIMEOUT=${TIMEOUT:-60} E2FSPROGS_FAKE_TIME=1700000000 TZ=UTC LC_ALL=C

one() {
	local src=$1 name t r o rc
	name=$(basename "$(dirname "$src")")/$(basename "$src")
	t=$(mktemp -d "${TMPDIR:-/tmp}/corpus.XXXXXX")
	case $src in
	*.gz) gzip -dc "$src" > "$t/src" ;;
	*) cp --sparse=always "$src" "$t/src" ;;
	esac
	fsck() {
		cp --sparse=always "$1" "$t/copy"
		timeout "$TIMEOUT" e2fsck -fy "$t/copy" 2>&1 | sed "s|$t/copy|DEV|g"
		echo "exit ${PIPESTATUS[0]}"
		rm -f "$t/copy"
	}
	fsck "$t/src" > "$t/src.fsck"
	verdict() {
		local tool=$1 out=$2
		rc=0
		timeout "$TIMEOUT" "$tool" -r "$t/src" "$out" > /dev/null 2>&1 || rc=$?
		if [ ! -s "$out" ]; then
			echo "NOIMAGE($rc)"
		elif fsck "$out" | cmp -s - "$t/src.fsck"; then
			echo SAME
		else
			echo DIFF
		fi
		rm -f "$out"
	}
	r=$(verdict "$OURS" "$t/ours.img")
	o=$(verdict "$ORACLE" "$t/oracle.img")
	echo "$name ours=$r oracle=$o"
	rm -rf "$t"
}
export -f one

[ $# -gt 0 ] || { echo "usage: $0 DIR... (images named image or image.gz below them)" >&2; exit 2; }
find "$@" -type f \( -name image -o -name image.gz \) | sort |
	xargs -P "${JOBS:-$(nproc)}" -I{} bash -c 'one "$1"' _ {} | sort | tee "${REPORT:-/dev/null}" |
	awk '{ print } 
	     { n++; split($2, a, "="); split($3, b, "=")
	       if (a[2] == "SAME") os++; if (b[2] == "SAME") es++
	       if (a[2] !~ /^NOIMAGE/) oi++; if (b[2] !~ /^NOIMAGE/) ei++ }
	     END { printf "%d images: e2fsck transcript equal on ours %d (%.0f%%), on e2fsprogs %d (%.0f%%); an image: ours %d, e2fsprogs %d\n",
		   n, os, n ? 100 * os / n : 0, es, n ? 100 * es / n : 0, oi, ei }'
