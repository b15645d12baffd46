#include <errno.h>
#include <sched.h>
#include <unistd.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "nls.h"
#include "same_file.h"
#include "messages.h"
#include "options.h"
#include "out_path.h"
#include "qcow2/compress.h"
#include "qcow2/qcow2.h"

void usage(int to_stdout)
{
	FILE *f = to_stdout ? stdout : stderr;

	fprintf(f, _("Usage: %s [ -r|-Q ] [ -f ] [ -b superblock ] [ -B blocksize ] device image-file\n"
		     "       %s -I device image-file\n"
		     "       %s -ra [ -cfnp ] [ -o src_offset ] [ -O dest_offset ] src_fs [ dest_fs ]\n"),
		PROGRAM, PROGRAM, PROGRAM);
	if (to_stdout)
		fprintf(f, _("       %s --verify [ --manifest FILE ] [ --source DEV ] image-file\n"),
			PROGRAM);
	if (!to_stdout)
		return;
	fputs(_("\n"
		"Saves the metadata of an ext2/ext3/ext4 filesystem as an image.\n"
		"\n"
		"Image formats:\n"
		"  -r, --raw               raw image: same offsets as the source, sparse\n"
		"                          (a qcow2 file as input is converted to raw)\n"
		"  -Q, --qcow2             qcow2 image, written front to back (stdout works)\n"
		"      --qcow2-version=N   2 (default, readable by every e2image) or 3\n"
		"      --cluster-size=N    qcow2 cluster size, 512 to 2M; default: the block\n"
		"                          size (compressed: up to 64k, as the tables and\n"
		"                          the data weigh), raised as qemu needs\n"
		"                          for large filesystems\n"
		"  -z, --compress[=TYPE[:LEVEL]]  compress the qcow2 image's clusters as qemu\n"
		"                          does; TYPE zlib (default, level 1-9, default 6)\n"
		"                          or zstd (level 1-19, default 3; a version 3 image)\n"
		"      --threads=N         compress (and, from a qcow2 image, inflate) on N\n"
		"                          threads; default: the CPUs it may run on (one for\n"
		"                          zstd 1-3 and for inflating); the image is the\n"
		"                          same whatever N is; 1: no digest thread either\n"
		"      --compress-buffer=N bytes of compressed clusters held in memory for\n"
		"                          a stream (default 256M); beyond, in $TMPDIR\n"
		"      (neither)           legacy e2image format, read by debugfs -i and\n"
		"                          dumpe2fs -i (superblock, descriptors, inode\n"
		"                          tables, bitmaps)\n"
		"  -I, --install           e2image -I TARGET IMAGE: write the metadata an image\n"
		"                          holds (legacy, raw or qcow2) back onto the device\n"
		"                          or file it was taken from; refused when TARGET is\n"
		"                          mounted or holds another filesystem (-f: anyway)\n"
		"\n"), f);
	fputs(_("What to capture:\n"
		"  -a, --all-data          file data too, not only metadata\n"
		"  -s, --scramble          replace directory names as e2fsprogs does\n"
		"      --anonymize         replace every name and private byte (names,\n"
		"                          symlink targets, xattrs, inline data, label,\n"
		"                          journal), keeping the filesystem valid; with -r\n"
		"                          or -Q; a report of what was not scrubbed follows;\n"
		"                          --anonymize=uuid: a new random UUID too\n"
		"      --anonymize-map=FILE  write the old and new names to FILE (mode 0600)\n"
		"  -b, --superblock=N      open the filesystem with the backup superblock at\n"
		"                          block N, and keep it and its descriptors (the\n"
		"                          first: 32768 with 4 KiB blocks, 8193 with 1 KiB;\n"
		"                          dumpe2fs DEV | grep -i superblock lists them)\n"
		"  -B, --blocksize=N       block size to use with -b (tried in turn if omitted)\n"
		"\n"), f);
	fputs(_("Raw output:\n"
		"  -o, --src-offset=N      the filesystem starts N bytes into the source\n"
		"  -O, --dest-offset=N     write the image N bytes into the output; with a\n"
		"                          single path and -ra, moves the filesystem in place\n"
		"  -c, --check             compare with the output first, write only what differs\n"
		"  -n, --dry-run           list the blocks that would be written, write nothing\n"
		"  -p, --progress          show progress on stderr, in e2fsprogs' words (GParted\n"
		"                          reads them); also with -Q, -I and --verify\n"
		"      --move-journal=FILE where a move records its progress, so that after a\n"
		"                          crash the same command finishes it (default: beside\n"
		"                          a file as FILE.e2image-move; for a device, in\n"
		"                          /var/lib/e2image-ng/)\n"
		"      --move-abort        undo an unfinished move instead of finishing it\n"
		"\n"), f);
	fputs(_("Other:\n"
		"  -f, --force             image a filesystem mounted read-write anyway\n"
		"      --sync              wait until the image and its directory entry are\n"
		"                          on the disk (by default, as with cp, nothing\n"
		"                          waits for the disk; a device is always flushed)\n"
		"      --strict            stop at the first damaged inode or unreadable block,\n"
		"                          and refuse a damaged primary superblock unless -b\n"
		"                          (e2fsprogs' behaviour); by default they are reported\n"
		"                          and the image is made of everything else\n"
		"  -v, --verbose           say what was captured, by kind of block, on stderr\n"
		"      --manifest=FILE     write the image's manifest (what was imaged, the\n"
		"                          problems met, the SHA-256 of the image) to FILE;\n"
		"                          a qcow2 image carries it in its header too, and\n"
		"                          -p prints it on stderr\n"
		"      --verify IMAGE      check an image against its manifest (qcow2: its\n"
		"                          own; raw: --manifest=FILE): the digest, and that\n"
		"                          the metadata it names is all there; exit 0 complete,\n"
		"                          2 complete with the problems the capture recorded,\n"
		"                          1 incomplete or altered\n"
		"      --source=DEV        with --verify: the image must still match DEV\n"
		"      --report=json[:FILE]  at the end, what the run did, in JSON: the\n"
		"                          blocks captured by class, bytes read and written,\n"
		"                          holes, problems (damaged inodes and why), options,\n"
		"                          versions, times; on stderr (one line; also\n"
		"                          json:-) or in FILE, never on stdout; written\n"
		"                          when the run fails too (\"outcome\": \"failed\");\n"
		"                          see REPORT in the man page\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"\n"), f);
	fputs(_("An image file of '-' means standard output. Exit status: 0 success, 1 failure\n"
		"(no image), 2 image written but incomplete: the source is damaged or has\n"
		"unreadable or missing blocks, reported above. SIGINT, SIGTERM and SIGHUP\n"
		"stop the run, clean up, and end it by the same signal (status 130, 143, 129).\n"),
	      f);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	return (errno || *end) ? -1 : 0;
}

/* A number with an optional k, M or G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned shift = 0;

	errno = 0;
	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (*end || *v > (UINT64_MAX >> shift))
		return -1;
	*v <<= shift;
	return 0;
}

/* fmt: the whole message, "%s" the argument. */
static int bad_number(const char *fmt, const char *arg)
{
	msg_plain(fmt, arg);
	return PARSE_FAIL;
}

/* --compress[=TYPE[:LEVEL]] (also =:LEVEL for the default type). */
static int parse_compress(struct options *o, const char *arg)
{
	const char *colon = arg ? strchr(arg, ':') : NULL;
	size_t tlen = !arg ? 0 : colon ? (size_t)(colon - arg) : strlen(arg);
	int min, max, dflt;
	uint64_t v;

	o->compress = QCOW2_COMPRESS_DEFLATE;
	if (tlen == 4 && !strncmp(arg, "zstd", 4))
		o->compress = QCOW2_COMPRESS_ZSTD;
	else if (tlen && !(tlen == 4 && !strncmp(arg, "zlib", 4))) {
		msg_plain(_("--compress=%s: the type is zlib or zstd"), arg);
		return PARSE_FAIL;
	}
	if (!qcow2_codec_available(o->compress)) {
		msg_plain(_("--compress=zstd: this e2image was built without libzstd (install libzstd-dev and run configure again)"));
		return PARSE_FAIL;
	}
	qcow2_codec_levels(o->compress, &min, &max, &dflt);
	o->compress_level = dflt;
	if (colon) {
		if (parse_u64(colon + 1, &v) || v < (uint64_t)min || v > (uint64_t)max) {
			msg_plain(_("--compress=%s: the %s level is %d to %d"), arg,
				  qcow2_codec_name(o->compress), min, max);
			return PARSE_FAIL;
		}
		o->compress_level = (int)v;
	}
	return PARSE_OK;
}

enum { OPT_QCOW2_VERSION = 256, OPT_CLUSTER_SIZE, OPT_STRICT, OPT_NO_FSYNC,
       OPT_SYNC, OPT_MOVE_JOURNAL, OPT_MOVE_ABORT, OPT_ANONYMIZE,
       OPT_ANONYMIZE_MAP, OPT_THREADS, OPT_COMPRESS_BUFFER, OPT_MANIFEST,
       OPT_VERIFY, OPT_SOURCE, OPT_REPORT };

static const struct option long_opts[] = {
	{ "raw", no_argument, NULL, 'r' },
	{ "qcow2", no_argument, NULL, 'Q' },
	{ "install", no_argument, NULL, 'I' },
	{ "scramble", no_argument, NULL, 's' },
	{ "anonymize", optional_argument, NULL, OPT_ANONYMIZE },
	{ "anonymize-map", required_argument, NULL, OPT_ANONYMIZE_MAP },
	{ "all-data", no_argument, NULL, 'a' },
	{ "force", no_argument, NULL, 'f' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "progress", no_argument, NULL, 'p' },
	{ "check", no_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "superblock", required_argument, NULL, 'b' },
	{ "blocksize", required_argument, NULL, 'B' },
	{ "src-offset", required_argument, NULL, 'o' },
	{ "dest-offset", required_argument, NULL, 'O' },
	{ "qcow2-version", required_argument, NULL, OPT_QCOW2_VERSION },
	{ "cluster-size", required_argument, NULL, OPT_CLUSTER_SIZE },
	{ "compress", optional_argument, NULL, 'z' },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "compress-buffer", required_argument, NULL, OPT_COMPRESS_BUFFER },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "sync", no_argument, NULL, OPT_SYNC },
	{ "move-journal", required_argument, NULL, OPT_MOVE_JOURNAL },
	{ "move-abort", no_argument, NULL, OPT_MOVE_ABORT },
	/* The default since --sync exists; still accepted by scripts. */
	{ "no-fsync", no_argument, NULL, OPT_NO_FSYNC },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/*
 * A file written beside the image (opt: --manifest, --report) is put in
 * place by a rename: over the source or the image it would replace them,
 * over a link or a device the name. Its directory is tried now: a typo
 * found after an hour's capture would cost the image.
 */
/* Whether path leads through what another user planted in a sticky
 * world-writable directory (said): the image's own rule (out_path.h), as
 * root would otherwise replace that user's file with ours. */
static int planted_path(const char *opt, const char *path)
{
	struct e2i_error err = { 0 };
	struct out_path op;

	if (!out_path_resolve(path, &op, &err)) {
		out_path_release(&op);
		return 0;
	}
	if (err.code != EACCES)
		return 0;   /* other failures are said where the file is written */
	msg_plain("%s: %s", opt, err.what);
	return 1;
}

static enum parse_result check_side_file(const char *opt, const char *path,
					 const struct options *o)
{
	char *dir = strdup(path), *slash;
	struct stat st;
	int e = 0;

	if (same_path(path, o->device) || same_storage(path, o->device)) {
		msg_plain(_("%s %s is the source"), opt, path);
		e = 1;
	} else if (same_path(path, o->image) || same_storage(path, o->image)) {
		msg_plain(_("%s %s is the image"), opt, path);
		e = 1;
	} else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		msg_plain(_("%s %s is not a regular file (a symbolic link, a device, a directory...): the rename would replace it"),
			  opt, path);
		e = 1;
	} else if (planted_path(opt, path)) {
		e = 1;
	} else if (dir) {
		slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = 0;   /* "/x": "/" */
		if (access(slash ? dir : ".", W_OK | X_OK)) {
			msg_plain(_("%s %s: %s (its directory %s)"), opt, path,
				  strerror(errno), slash ? dir : ".");
			e = 1;
		}
	}
	free(dir);
	return e ? PARSE_FAIL : PARSE_OK;
}

/* --manifest: where each kind of run puts it. */
static enum parse_result check_manifest(const struct options *o)
{
	if (o->manifest && (o->move || o->dry_run || o->install ||
			    !(o->raw || o->qcow2))) {
		msg_plain(_("--manifest applies to -r and -Q images (not to a move, -n, -I or the legacy format)"));
		return PARSE_FAIL;
	}
	return o->manifest ? check_side_file("--manifest", o->manifest, o) : PARSE_OK;
}

/* --report: every run that captures (a move and -I copy a filesystem or
 * put one back), never stdout, which may carry the image. */
static enum parse_result check_report(const struct options *o)
{
	if (!o->report)
		return PARSE_OK;
	if (o->move || o->install) {
		msg_plain(_("--report tells what a capture did: not with a move or -I"));
		return PARSE_FAIL;
	}
	if (!strcmp(o->report, "-"))
		return PARSE_OK;
	if (o->manifest && same_path(o->report, o->manifest)) {
		msg_plain(_("--report %s is the manifest"), o->report);
		return PARSE_FAIL;
	}
	if (o->anonymize_map && same_path(o->report, o->anonymize_map)) {
		msg_plain(_("--report %s is the --anonymize-map file"), o->report);
		return PARSE_FAIL;
	}
	return check_side_file("--report", o->report, o);
}

/* --report=json, json:FILE, json:- */
static enum parse_result parse_report(struct options *o, const char *arg)
{
	if (strncmp(arg, "json", 4) || (arg[4] && (arg[4] != ':' || !arg[5]))) {
		msg_plain(_("--report=%s: the form is json (on standard error) or json:FILE (- for standard error)"),
			  arg);
		return PARSE_FAIL;
	}
	o->report = arg[4] ? arg + 5 : "-";
	return PARSE_OK;
}

/* The refusals e2fsprogs' e2image makes, in its order and its words. */
static enum parse_result check(struct options *o)
{
	int typed = o->raw || o->qcow2;

	if (o->all_data && !typed) {
		msg_plain(_("-a option can only be used with raw or QCOW2 images."));
		return PARSE_FAIL;
	}
	if (o->superblock && !typed) {
		msg_plain(_("-b option can only be used with raw or QCOW2 images."));
		return PARSE_FAIL;
	}
	if ((o->src_offset || o->dest_offset) && !o->raw) {
		msg_plain(_("Offsets are only allowed with raw images."));
		return PARSE_FAIL;
	}
	if (o->move && !o->raw) {
		msg_plain(_("Move mode is only allowed with raw images."));
		return PARSE_FAIL;
	}
	if (o->move && !o->all_data) {
		msg_plain(_("Move mode requires all data mode."));
		return PARSE_FAIL;
	}
	if ((o->move_journal || o->move_abort) && !o->move) {
		msg_plain(_("--move-journal and --move-abort apply to a move only (-ra, one path, -o or -O)"));
		return PARSE_FAIL;
	}
	if (o->install && (o->check || o->dry_run || o->src_offset ||
			   o->dest_offset || o->move)) {
		msg_plain(_("-I cannot be used with -c, -n, -o or -O"));
		return PARSE_FAIL;
	}
	if (o->check && !o->raw) {
		fprintf(stderr, "%s\n", _("The -c option only supported in raw mode"));
		return PARSE_FAIL;
	}
	if (o->check && strcmp(o->image, "-") == 0) {
		fprintf(stderr, "%s\n", _("The -c option not supported when writing to stdout"));
		return PARSE_FAIL;
	}
	/* e2fsprogs' words although -Qp works here: the legacy format is
	 * refused as it refuses it (it lets -I through, ignoring -p) */
	if (o->progress && !typed && !o->install) {
		fprintf(stderr, "%s\n", _("The -p option only supported in raw mode"));
		return PARSE_FAIL;
	}
	if (o->dry_run && !o->raw) {
		fprintf(stderr, "%s\n", _("The -n option only supported in raw mode"));
		return PARSE_FAIL;
	}
	if ((o->cluster_size || o->qcow2_version) && !o->qcow2) {
		msg_plain(_("--cluster-size and --qcow2-version only apply to QCOW2 images (-Q)"));
		return PARSE_FAIL;
	}
	if ((o->compress >= 0 || o->compress_buffer) && !o->qcow2) {
		msg_plain(_("--compress and --compress-buffer only apply to QCOW2 images (-Q)"));
		return PARSE_FAIL;
	}
	if (o->compress == QCOW2_COMPRESS_ZSTD && o->qcow2_version == 2) {
		msg_plain(_("zstd compression needs a version 3 qcow2 image: use --qcow2-version=3 or zlib"));
		return PARSE_FAIL;
	}
	if (o->anonymize_map && !o->anonymize) {
		msg_plain(_("--anonymize-map applies with --anonymize only"));
		return PARSE_FAIL;
	}
	if (o->anonymize_map && planted_path("--anonymize-map", o->anonymize_map))
		return PARSE_FAIL;
	if (o->anonymize && (!typed || o->scramble || o->all_data || o->move ||
			     o->install)) {
		msg_plain(_("--anonymize works with -r or -Q, and not with -s, -a, a move or -I"));
		return PARSE_FAIL;
	}
	/* into an existing image, the blocks not captured would keep what
	 * the file held (a full copy's data, an older image's names) */
	if (o->anonymize && (o->check || o->dest_offset)) {
		msg_plain(_("--anonymize cannot be used with -c or -O: the output's other bytes would stay"));
		return PARSE_FAIL;
	}
	if (check_manifest(o) != PARSE_OK || check_report(o) != PARSE_OK)
		return PARSE_FAIL;
	if (!o->qcow2_version)
		o->qcow2_version = o->compress == QCOW2_COMPRESS_ZSTD ? 3 : 2;
	if (!o->compress_buffer)
		o->compress_buffer = 256u << 20;
	return PARSE_OK;
}

/* e2image --verify IMAGE [--manifest FILE] [--source DEV]: nothing else. */
static enum parse_result check_verify(struct options *o, int argc, char **argv)
{
	if (optind != argc - 1) {
		msg_plain(_("--verify takes one image: e2image --verify IMAGE [--manifest FILE] [--source DEV]"));
		return PARSE_FAIL;
	}
	if (o->raw || o->qcow2 || o->install || o->scramble || o->anonymize ||
	    o->all_data || o->dry_run || o->check || o->superblock ||
	    o->src_offset || o->dest_offset || o->compress >= 0 ||
	    o->cluster_size || o->qcow2_version || o->move_journal ||
	    o->move_abort || o->anonymize_map || o->report) {
		msg_plain(_("--verify takes no imaging options (only --manifest, --source, -p, -v, -f)"));
		return PARSE_FAIL;
	}
	o->image = argv[optind];
	o->device = o->source;
	return PARSE_OK;
}

enum parse_result options_parse(struct options *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->compress = -1;
	while ((c = getopt_long(argc, argv, "b:B:nrsIQafo:O:pcvzhV", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'r':
		case 'Q':
			if (o->raw || o->qcow2) {
				usage(0);
				return PARSE_FAIL;
			}
			if (c == 'r')
				o->raw = 1;
			else
				o->qcow2 = 1;
			break;
		case 'I': o->install = 1; break;
		case 's': o->scramble = 1; break;
		case 'a': o->all_data = 1; break;
		case 'f': o->force = 1; break;
		case 'n': o->dry_run = 1; break;
		case 'p': o->progress = 1; break;
		case 'c': o->check = 1; break;
		case 'v': o->verbose = 1; break;
		case 'b':
			if (parse_u64(optarg, &o->superblock))
				return bad_number(_("invalid superblock: '%s'"), optarg);
			break;
		case 'B': {
			uint64_t v;

			if (parse_u64(optarg, &v) || v < 1024 || v > 65536 ||
			    (v & (v - 1)))
				return bad_number(_("invalid block size: '%s'"), optarg);
			o->blocksize = (unsigned)v;
			break;
		}
		case 'o':
			if (parse_u64(optarg, &o->src_offset))
				return bad_number(_("invalid source offset: '%s'"), optarg);
			break;
		case 'O':
			if (parse_u64(optarg, &o->dest_offset))
				return bad_number(_("invalid destination offset: '%s'"), optarg);
			break;
		case OPT_ANONYMIZE:
			if (optarg && strcmp(optarg, "uuid") != 0) {
				msg_plain(_("--anonymize=%s: the only value is uuid"), optarg);
				return PARSE_FAIL;
			}
			o->anonymize = optarg ? 2 : 1;
			break;
		case OPT_ANONYMIZE_MAP:
			o->anonymize_map = optarg;
			break;
		case OPT_STRICT:
			o->strict = 1;
			break;
		case OPT_MANIFEST:
			o->manifest = optarg;
			break;
		case OPT_VERIFY:
			o->verify = 1;
			break;
		case OPT_SOURCE:
			o->source = optarg;
			break;
		case OPT_REPORT:
			if (parse_report(o, optarg) != PARSE_OK)
				return PARSE_FAIL;
			break;
		case OPT_NO_FSYNC:
			o->sync = 0;
			break;
		case OPT_SYNC:
			o->sync = 1;
			break;
		case OPT_MOVE_JOURNAL:
			o->move_journal = optarg;
			break;
		case OPT_MOVE_ABORT:
			o->move_abort = 1;
			break;
		case OPT_QCOW2_VERSION: {
			uint64_t v;

			if (parse_u64(optarg, &v) || (v != 2 && v != 3))
				return bad_number(_("invalid qcow2 version (2 or 3): '%s'"), optarg);
			o->qcow2_version = (unsigned)v;
			break;
		}
		case OPT_CLUSTER_SIZE:
			if (parse_size(optarg, &o->cluster_size) ||
			    o->cluster_size < 512 || o->cluster_size > (2u << 20) ||
			    (o->cluster_size & (o->cluster_size - 1)))
				return bad_number(_("invalid cluster size (a power of two, 512 to 2M): '%s'"),
						  optarg);
			break;
		case 'z':
			if (parse_compress(o, optarg) != PARSE_OK)
				return PARSE_FAIL;
			break;
		case OPT_THREADS: {
			uint64_t v;

			if (parse_u64(optarg, &v) || v < 1 || v > 256)
				return bad_number(_("invalid number of threads (1 to 256): '%s'"), optarg);
			o->threads = (unsigned)v;
			break;
		}
		case OPT_COMPRESS_BUFFER:
			if (parse_size(optarg, &o->compress_buffer) || !o->compress_buffer)
				return bad_number(_("invalid buffer size: '%s'"), optarg);
			break;
		case 'h':
			usage(1);
			return PARSE_EXIT_OK;
		case 'V':
			printf("e2image (e2image-ng) %s\n", PACKAGE_VERSION);
			return PARSE_EXIT_OK;
		default:
			usage(0);
			return PARSE_FAIL;
		}
	}
	if (o->verify)
		return check_verify(o, argc, argv);
	if (o->source) {
		msg_plain(_("--source applies with --verify only"));
		return PARSE_FAIL;
	}
	if (optind == argc - 1 && (o->src_offset || o->dest_offset)) {
		o->move = 1;
	} else if (optind != argc - 2) {
		usage(0);
		return PARSE_FAIL;
	}
	o->device = argv[optind];
	o->image = o->move ? o->device : argv[optind + 1];
	return check(o);
}

unsigned options_threads(const struct options *o)
{
	cpu_set_t set;
	long n;

	if (o->threads)
		return o->threads;
	/* the CPUs this process may run on: taskset and cpusets count */
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}
