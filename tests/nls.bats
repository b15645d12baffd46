#!/usr/bin/env bats
# nls.bats -- translated messages: the German catalogue, installed by
# `make -C po install` into a DESTDIR and found through E2IMAGE_LOCALEDIR,
# turns a usage error, an error naming a file, --help, a plural message and a
# table of names into German; every message of the sources is in the .pot
# and translated in de.po; and a copy of the tree configured with
# --disable-nls builds without gettext and works.

load common

# the sources, and the build (another directory in a VPATH build)
TOP=$BATS_TEST_DIRNAME/..
BTOP=$TESTS_BUILDDIR/..

setup_file() {
	grep -q '^#define ENABLE_NLS 1' "$BTOP/config.h" || return 0
	# the catalogue as `make install` puts it, under a DESTDIR
	make -s -C "$BTOP/po" install DESTDIR="$BATS_FILE_TMPDIR/root" >&2
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	SRC=$(fixture ext2-1k)
}

# nls_built: skip when configure was given --disable-nls
nls_built() {
	grep -q '^#define ENABLE_NLS 1' "$BTOP/config.h" ||
		skip "built with --disable-nls"
}

# de ARGS...: our e2image in German. glibc ignores LANGUAGE in the C locale:
# de_DE.UTF-8 when it is generated, else C.UTF-8 (which honours LANGUAGE).
de() {
	local loc mo lc=C.UTF-8
	mo=$(find "$BATS_FILE_TMPDIR/root" -path '*/de/LC_MESSAGES/e2image-ng.mo')
	loc=${mo%/de/LC_MESSAGES/e2image-ng.mo}
	locale -a 2>/dev/null | grep -qix 'de_DE.utf-\?8' && lc=de_DE.UTF-8
	LC_ALL=$lc LANGUAGE=de E2IMAGE_LOCALEDIR=$loc "$E2IMAGE" "$@"
}

# snapshots N FILE: a qcow2 image with N internal snapshots
snapshots() {
	local i
	truncate -s 1M "$2.raw"
	qemu-img convert -f raw -O qcow2 -o compat=1.1 "$2.raw" "$2"
	for i in $(seq "$1"); do qemu-img snapshot -c "s$i" "$2"; done
}

@test "nls: make install puts the catalogue under \$(localedir)/de/LC_MESSAGES" {
	nls_built
	local mo localedir prefix
	localedir=$(sed -n 's/^localedir = //p' "$BTOP/po/Makefile")
	prefix=$(sed -n 's/^prefix = //p' "$BTOP/po/Makefile")
	localedir=${localedir//\$\{prefix\}/$prefix}
	localedir=${localedir//\$\{datarootdir\}/$prefix/share}
	mo=$BATS_FILE_TMPDIR/root$localedir/de/LC_MESSAGES/e2image-ng.mo
	[ -s "$mo" ] || fail "not installed: $mo ($(find "$BATS_FILE_TMPDIR/root" -type f))"
	cmp "$mo" "$BTOP/po/de.mo"
}

@test "nls: a usage error, in German" {
	nls_built
	run de -rQ "$SRC" out.img
	[ "$status" -eq 1 ] || fail "exit $status"
	[[ "$output" == *"Aufruf: e2image [ -r|-Q ]"*"Gerät Abbilddatei"* ]] || fail "$output"
	[[ "$output" != *"Usage:"* ]] || fail "English left: $output"
	[ ! -e out.img ]
}

@test "nls: an error naming a missing file, in German, the file named" {
	nls_built
	run de -r missing.img out.raw
	[ "$status" -eq 1 ] || fail "exit $status"
	# the translation puts what was done first, the system's reason last
	[[ "$output" == "e2image: beim Versuch, missing.img zu öffnen: "?* ]] || fail "$output"
	[ ! -e out.raw ]
	run de -B 3 "$SRC" out.raw
	[ "$output" = "e2image: ungültige Blockgröße: »3«" ] || fail "$output"
}

@test "nls: the --help header and sections, in German" {
	nls_built
	run de --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Speichert die Metadaten eines ext2/ext3/ext4-Dateisystems als Abbild."* ]] ||
		fail "$output"
	[[ "$output" == *"Abbildformate:"*"Was erfasst wird:"*"Raw-Ausgabe:"*"Sonstiges:"* ]] ||
		fail "$output"
	[[ "$output" != *"Saves the metadata"* ]] || fail "English left"
}

@test "nls: a plural message takes the German singular and plural" {
	nls_built
	snapshots 1 one.qcow2
	snapshots 2 two.qcow2
	run de -r one.qcow2 out.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"das Abbild hat 1 internen Snapshot, was nicht unterstützt wird"* ]] ||
		fail "$output"
	run de -r two.qcow2 out.raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"das Abbild hat 2 interne Snapshots, was nicht unterstützt wird"* ]] ||
		fail "$output"
}

@test "nls: -v names the kinds of blocks in German, in aligned columns" {
	nls_built
	local line widths
	de -r -v "$SRC" out.raw 2> err.txt
	grep -q '^  Inode-Tabellen  *[0-9]*$' err.txt || fail "$(cat err.txt)"
	grep -q '^  indirekte Blöcke  *[0-9]*$' err.txt || fail "$(cat err.txt)"
	# the counts end in one column, counted in characters (ö is 2 bytes),
	# however long a name is ("symbolische Verknüpfungen": 25)
	grep -q '^  symbolische Verknüpfungen  *[0-9]*$' err.txt || fail "$(cat err.txt)"
	widths=$(grep -E '^  [^ ].* [0-9]+$' err.txt | grep -v ', ' |
		while IFS= read -r line; do printf '%s' "$line" | LC_ALL=C.UTF-8 wc -m; done | sort -u)
	[ "$(echo "$widths" | wc -l)" = 1 ] || fail "widths: $widths; $(cat err.txt)"
}

@test "nls: every message of the sources is in the .pot, and translated in de.po" {
	command -v msgcmp > /dev/null || skip "no msgcmp (gettext)"
	grep -q '^XGETTEXT = /' "$BTOP/po/Makefile" || skip "no xgettext (gettext)"
	make -s -C "$BTOP/po" update-pot POT="$BATS_TEST_TMPDIR/fresh.pot" 2> /dev/null
	# the same messages both ways: nothing new left out, nothing stale
	msgcmp --use-untranslated "$TOP/po/e2image-ng.pot" fresh.pot ||
		fail "po/e2image-ng.pot lacks messages of the sources: make update-po"
	msgcmp --use-untranslated fresh.pot "$TOP/po/e2image-ng.pot" ||
		fail "po/e2image-ng.pot has messages the sources no longer have: make update-po"
	# untranslated and fuzzy entries count as missing
	msgcmp "$TOP/po/de.po" fresh.pot || fail "po/de.po: messages left to translate"
	run msgfmt --check --statistics -o /dev/null "$TOP/po/de.po"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" =~ ^[0-9]+\ translated\ messages\.$ ]] || fail "$output"
}

@test "nls: configure --disable-nls builds without gettext and the tool works" {
	local copy=$BATS_TEST_TMPDIR/tree
	mkdir "$copy"
	# the sources only: nothing built, no generated Makefile or config.h
	tar -C "$TOP" -cf - --exclude=.git --exclude=./tests/work --exclude='*.o' \
		--exclude='*.a' --exclude='*.mo' --exclude=Makefile --exclude=config.h \
		--exclude=config.status --exclude=config.log --exclude=autom4te.cache --exclude='*.stamp' \
		--exclude=./e2image/e2image . | tar -C "$copy" -xf -
	(cd "$copy" && ./configure -q --disable-nls && make -s -j2) > build.log 2>&1 ||
		fail "$(tail -30 build.log)"
	! grep -q '^#define ENABLE_NLS' "$copy/config.h" || fail "ENABLE_NLS defined"
	! nm -u "$copy/e2image/e2image" | grep -E 'gettext|textdomain|setlocale' ||
		fail "calls gettext"
	[ -z "$(find "$copy/po" -name '*.mo')" ] || fail "a catalogue was built"
	make -s -C "$copy" install DESTDIR="$BATS_TEST_TMPDIR/root" > /dev/null
	[ -z "$(find "$BATS_TEST_TMPDIR/root" -name '*.mo')" ] || fail "a catalogue was installed"
	# English whatever the environment asks, the same image as the NLS build
	LANGUAGE=de LC_ALL=C.UTF-8 E2IMAGE_LOCALEDIR=$BTOP/po "$copy/e2image/e2image" --help > help.txt
	grep -q '^Saves the metadata of an ext2/ext3/ext4 filesystem as an image\.$' help.txt
	"$copy/e2image/e2image" -r "$SRC" plain.raw
	"$E2IMAGE" -r "$SRC" nls.raw
	cmp plain.raw nls.raw
	# ngettext's stand-in chooses as English does
	snapshots 1 one.qcow2
	snapshots 3 three.qcow2
	run "$copy/e2image/e2image" -r one.qcow2 out.raw
	[[ "$output" == *"image has 1 internal snapshot, which is not supported"* ]] || fail "$output"
	run "$copy/e2image/e2image" -r three.qcow2 out.raw
	[[ "$output" == *"image has 3 internal snapshots, which are not supported"* ]] || fail "$output"
}
