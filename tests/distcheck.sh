#!/bin/sh
# distcheck.sh TARBALL -- the `make distcheck` driver: does the release
# tarball build, pass its tests and install, as a packager would use it?
#
#   1. unpacks TARBALL beside it (NAME-VERSION/), source tree made read-only
#   2. configures it in NAME-VERSION/_build (../configure --srcdir=..:
#      a build in another directory), builds, runs `make check`
#   3. installs into a DESTDIR, checks the command, the man page and the
#      bash completion are there, uninstalls: no file may be left
#   4. make distclean: _build must be empty again
#   5. the source tree must be as unpacked: a build or a test that wrote
#      into it (root ignores read-only modes, so its files are compared)
#   6. removes NAME-VERSION/
# Environment: MAKE (default make), TESTS (the suites make check runs, as
# for make check; default all), DISTCHECK_CONFIGURE_FLAGS (more configure
# options). Exits non-zero, keeping NAME-VERSION/, when a step fails.
set -eu

tarball=$1
MAKE=${MAKE:-make}
top=$(cd "$(dirname "$tarball")" && pwd)
name=$(basename "$tarball" .tar.gz)
src=$top/$name
build=$src/_build
dest=$src/_dest
# the listings compared, outside the trees they list
meta=$(mktemp -d "${TMPDIR:-/tmp}/distcheck.XXXXXX")
trap 'rm -rf "$meta"' EXIT
t0=$(date +%s)

die() { echo "distcheck: $*" >&2; exit 1; }
step() { echo "# distcheck: $* ($(( $(date +%s) - t0 )) s)"; }

# the source tree's files and their contents, the build's directories left out
snapshot() {
	(cd "$src" && find . \( -path ./_build -o -path ./_dest \) -prune -o -print | sort &&
		find . \( -path ./_build -o -path ./_dest \) -prune -o -type f -print0 |
		sort -z | xargs -0 sha256sum)
}

if [ -d "$src" ]; then
	chmod -R u+w "$src"
	rm -rf "$src"
fi
step "unpacking $tarball"
tar -xzf "$tarball" -C "$top"
[ -x "$src/configure" ] || die "$tarball holds no $name/configure"
mkdir "$build" "$dest"
snapshot > "$meta/before"
chmod -R a-w "$src"
chmod u+w "$build" "$dest"

step "configuring in $build"
cd "$build"
# shellcheck disable=SC2086 # the flags are words
../configure -q --srcdir=.. ${DISTCHECK_CONFIGURE_FLAGS:-}
step "building"
$MAKE -s all
step "make check${TESTS:+ (TESTS=$TESTS)}"
$MAKE -s check

step "installing into $dest"
$MAKE -s install DESTDIR="$dest"
(cd "$dest" && find . -type f | sort) > "$meta/installed"
sed 's/^/#   /' "$meta/installed"
for want in '/sbin/e2image$' '/man8/e2image\.8$' '/bash-completion/completions/e2image$'; do
	grep -q "$want" "$meta/installed" || die "make install put no file matching $want"
done
$MAKE -s uninstall DESTDIR="$dest"
left=$(cd "$dest" && find . -type f)
[ -z "$left" ] || die "make uninstall left: $left"

step "make distclean"
$MAKE -s distclean
left=$(find "$build" -mindepth 1)
[ -z "$left" ] || die "make distclean left: $left"

cd "$top"
snapshot > "$meta/after"
diff "$meta/before" "$meta/after" > "$meta/diff" ||
	die "the build or the tests changed the source tree: $(cat "$meta/diff")"

chmod -R u+w "$src"
rm -rf "$src"
step "$tarball is ready for distribution"
