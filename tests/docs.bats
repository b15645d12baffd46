#!/usr/bin/env bats
# docs.bats -- the documentation keeps up with the code: every option the
# parser accepts is in --help and in the man page, and every exit status the
# command uses is in the man page's EXIT STATUS.

load common

SRCDIR=$BATS_TEST_DIRNAME/..
MAN=$SRCDIR/doc/e2image.8
OPTS=$SRCDIR/e2image/options.c

# the man page as text, with roff's \- turned into -
man_text() {
	sed 's/\\-/-/g; s/\\(lq\|\\(rq//g' "$MAN"
}

# long option names the parser accepts (the long_opts table)
long_options() {
	sed -n '/long_opts\[\] = {/,/^};/p' "$OPTS" | grep -o '{ "[a-z0-9-]*"' | cut -d'"' -f2
}

# short option letters the parser accepts (the getopt_long string)
short_options() {
	grep -o 'getopt_long(argc, argv, "[^"]*"' "$OPTS" | cut -d'"' -f2 | tr -d ':' | fold -w1
}

@test "docs: the option tables could be read from the source" {
	[ "$(long_options | wc -l)" -ge 25 ]
	[ "$(short_options | wc -l)" -ge 15 ]
}

@test "docs: every long option is in --help" {
	local help missing=
	help=$("$E2IMAGE" --help)
	for o in $(long_options); do
		# kept for old scripts and documented in the man page only
		[ "$o" = no-fsync ] && continue
		grep -qE -- "--$o([^a-z-]|\$)" <<< "$help" || missing+=" --$o"
	done
	[ -z "$missing" ] || fail "not in --help:$missing"
}

@test "docs: every long option is in the man page" {
	local text missing=
	text=$(man_text)
	for o in $(long_options); do
		grep -qE -- "--$o([^a-z-]|\$)" <<< "$text" || missing+=" --$o"
	done
	[ -z "$missing" ] || fail "not in the man page:$missing"
}

@test "docs: every short option is in --help and in the man page" {
	local help text missing=
	help=$("$E2IMAGE" --help)
	text=$(man_text)
	for o in $(short_options); do
		grep -qE -- "-$o([^a-zA-Z-]|\$)|\[ -[a-zA-Z]*$o" <<< "$help" || missing+=" -$o(help)"
		grep -qE -- "^\.B[IR]? \"?-$o([^a-zA-Z-]|\$)" <<< "$text" || missing+=" -$o(man)"
	done
	[ -z "$missing" ] || fail "undocumented:$missing"
}

@test "docs: the exit statuses used in the code are in the man page" {
	local section
	section=$(man_text | sed -n '/^\.SH EXIT STATUS/,/^\.SH /p')
	for s in 0 1 2; do
		grep -qx "\.B $s" <<< "$section" || fail "exit status $s not described"
	done
	# a run stopped by a signal ends by it: 128 + SIGHUP, SIGINT, SIGTERM
	grep -q "129.*130.*143" <<< "$section" || fail "signal exit statuses not described"
	# and the statuses --help gives agree with it
	"$E2IMAGE" --help | grep -q "0 success, 1 failure" || fail "--help does not give the exit statuses"
}
