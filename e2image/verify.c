/*
 * The verify job, in the order a reader wants the answers: the manifest
 * (found, intact), the size, the digest, then the structure (the image
 * opens with libext2fs, and the blocks its own metadata names hold
 * something), then, with --source, the source's captured blocks against
 * the image's. Each finding names the first bad block and its class.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <et/com_err.h>
#include "digest.h"
#include "io_full.h"
#include "manifest.h"
#include "messages.h"
#include "nls.h"
#include "verify.h"
#include "verify_check.h"
#include "verify_manifest.h"
#include "verify_view.h"

#define HASH_CHUNK (1u << 20)

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = (cap + 4096) * 2);

			if (!b)
				break;
			buf = b;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

static int load_manifest(struct verify *v)
{
	const struct options *o = v->o;
	char why[256], *text;
	const char *where;     /* the manifest's file; NULL: the qcow2 header */
	int compact;

	if (o->manifest) {
		text = read_file(o->manifest);
		where = o->manifest;
		if (!text) {
			msg_err(errno, _("while reading the manifest %s"), o->manifest);
			return 1;
		}
	} else if (v->view.ext) {
		text = v->view.ext;
		v->view.ext = NULL;
		where = NULL;
	} else {
		printf(_("%s: no manifest: %s\n"), o->image, v->view.qcow2 ?
		       _("its qcow2 header has none (give --manifest=FILE)") :
		       _("a raw image keeps it in a file of its own: give --manifest=FILE"));
		return 1;
	}
	if (vmanifest_parse(&v->man, text, where ? where : _("its qcow2 header"),
			    why, sizeof(why))) {
		if (where)
			printf(_("%s: ALTERED: the manifest in %s: %s\n"), o->image, where, why);
		else
			printf(_("%s: ALTERED: the manifest in its qcow2 header: %s\n"),
			       o->image, why);
		return 1;   /* text is the manifest's now: freed with it */
	}
	compact = v->man.compact;
	if (where)
		printf(compact ? _("%s: manifest from %s (compact form): %llu captured blocks of %u bytes, %llu problems recorded\n") :
		       _("%s: manifest from %s: %llu captured blocks of %u bytes, %llu problems recorded\n"),
		       o->image, where, (unsigned long long)v->man.captured,
		       v->man.blocksize, (unsigned long long)v->man.problems);
	else
		printf(compact ? _("%s: manifest from its qcow2 header (compact form): %llu captured blocks of %u bytes, %llu problems recorded\n") :
		       _("%s: manifest from its qcow2 header: %llu captured blocks of %u bytes, %llu problems recorded\n"),
		       o->image, (unsigned long long)v->man.captured,
		       v->man.blocksize, (unsigned long long)v->man.problems);
	return 0;
}

/* A raw image must reach the filesystem's end; a qcow2 one map it all. */
static int regular_file(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static void check_size(struct verify *v)
{
	uint64_t want = v->base + v->man.image_bytes;

	uint64_t cut = (v->view.size > v->base ? v->view.size - v->base : 0) /
		       v->man.blocksize, first = UINT64_MAX;
	size_t i;
	int cls = -1;

	if (v->view.size > want && !v->view.qcow2 && regular_file(v->view.fd)) {
		/* a raw image file ends where its manifest says: bytes
		 * past it were added (a device may be larger, a qcow2 file
		 * reads to its own size) */
		v->altered = 1;
		printf(_("%s: ALTERED: it ends at byte %llu, the manifest's image at byte %llu (bytes were added)\n"),
		       v->o->image, (unsigned long long)v->view.size,
		       (unsigned long long)want);
		return;
	}
	if (v->view.size >= want)
		return;
	/* the first captured block that is gone, or the cut itself */
	for (i = 0; i < v->next; i++) {
		uint64_t s = v->ext[i].start > cut ? v->ext[i].start : cut;

		if (v->ext[i].start + v->ext[i].len > cut && s < first) {
			first = s;
			cls = v->ext[i].c;
		}
	}
	verify_bad(v, first != UINT64_MAX ? first : cut, cls,
		   _("missing: past the end of the file"));
	printf(_("%s: INCOMPLETE: it ends at byte %llu, the manifest's image at byte %llu (truncated)\n"),
	       v->o->image, (unsigned long long)v->view.size,
	       (unsigned long long)want);
}

/* The digest of the raw view, its holes skipped (lib/core/digest.h). */
static int hash_view(struct verify *v, unsigned char out[IMAGE_DIGEST_BYTES])
{
	uint64_t bs = v->man.blocksize, n = v->man.image_bytes / bs, blk = 0;
	uint64_t per = HASH_CHUNK / bs;
	struct image_digest d;
	char *buf = malloc(HASH_CHUNK);
	int e;

	if (!buf)
		return ENOMEM;
	digest_init(&d, (unsigned)bs);
	progress_start(&v->prog, n, (unsigned)bs);
	while (blk < n) {
		off_t at = lseek(v->view.fd, (off_t)(v->base + blk * bs), SEEK_DATA);
		off_t hole;
		uint64_t first, end, k;
		size_t got = 0;

		if (at < 0)
			break;   /* ENXIO: nothing but holes to the end */
		first = ((uint64_t)at - v->base) / bs;
		if (first > blk) {
			blk = first;
			continue;
		}
		hole = lseek(v->view.fd, at, SEEK_HOLE);
		end = hole < 0 ? n : ((uint64_t)hole - v->base + bs - 1) / bs;
		if (end > n)
			end = n;
		if (end <= blk)
			end = blk + 1;
		k = end - blk < per ? end - blk : per;
		if ((e = pread_full(v->view.fd, buf, k * bs, v->base + blk * bs,
				    &got, v->stop))) {
			free(buf);
			return e;
		}
		memset(buf + got, 0, k * bs - got);
		digest_blocks(&d, blk, k, buf);
		blk += k;
		progress_update(&v->prog, blk);
		if (stopped(v->stop)) {
			free(buf);
			return EINTR;
		}
	}
	progress_done(&v->prog, n);  /* past the last data: holes */
	free(buf);
	digest_final(&d, v->man.image_bytes, out);
	return 0;
}

static void check_digest(struct verify *v)
{
	unsigned char d[IMAGE_DIGEST_BYTES];
	char hex[65];
	int e;

	if (!v->man.digest[0]) {
		printf(_("%s: digest: none recorded (%.*s)\n"), v->o->image,
		       (int)strcspn(v->man.no_digest, "\n"), v->man.no_digest);
		return;
	}
	if ((e = hash_view(v, d))) {
		progress_break(&v->prog);
		msg_err(e, _("while reading %s"), v->o->image);
		v->failed = 1;
		return;
	}
	digest_hex(d, hex);
	if (strcmp(hex, v->man.digest) == 0) {
		printf(_("%s: digest: ok (sha256 %s)\n"), v->o->image, hex);
		v->digest_ok = 1;
		return;
	}
	v->altered = 1;
	printf(_("%s: ALTERED: its digest is sha256 %s, the manifest records %s\n"),
	       v->o->image, hex, v->man.digest);
}

static int status(struct verify *v)
{
	const char *img = v->o->image;

	if (v->failed)
		return 1;
	/* The image is what was captured (its digest says so): what its
	 * metadata names and lacks, the source lacked too (a zeroed
	 * directory block, a primary superblock read past with -b), whether
	 * or not the capture saw it as a problem. */
	if (v->nbad && v->nbad == v->nstruct && v->digest_ok) {
		printf(_("%s: complete as captured: %llu blocks its metadata names hold nothing (first %llu, %s), as in the source (the digest matches the capture's; %llu problems recorded, see the manifest)\n"),
		       img, (unsigned long long)v->nbad, (unsigned long long)v->first_blk,
		       verify_class_name(v), (unsigned long long)v->man.problems);
		return 2;
	}
	if (v->nbad || v->altered) {
		if (v->nbad)
			printf(ngettext("%s: INCOMPLETE OR ALTERED: first bad block %llu (%s, %s), %llu bad block in all\n",
					"%s: INCOMPLETE OR ALTERED: first bad block %llu (%s, %s), %llu bad blocks in all\n",
					v->nbad),
			       img, (unsigned long long)v->first_blk,
			       verify_class_name(v), v->first_what,
			       (unsigned long long)v->nbad);
		else
			printf(v->o->source ? _("%s: ALTERED: no block could be named (the change is outside the captured blocks)\n")
					    : _("%s: ALTERED: no block could be named (give --source=DEV to find it)\n"),
			       img);
		return 1;
	}
	if (v->man.problems) {
		printf(ngettext("%s: complete, with the %llu problem the capture recorded (see the manifest)\n",
				"%s: complete, with the %llu problems the capture recorded (see the manifest)\n",
				v->man.problems),
		       img, (unsigned long long)v->man.problems);
		return 2;
	}
	printf(_("%s: complete\n"), img);
	return 0;
}

int run_verify(const struct options *o, e2i_stop *stop)
{
	struct verify v;
	int rc = 1;

	memset(&v, 0, sizeof(v));
	v.o = o;
	v.stop = stop;
	v.first_blk = UINT64_MAX;
	progress_init(&v.prog, o->progress);
	v.prog.checking = 1;
	if (vview_open(&v.view, o->image, MANIFEST_QCOW2_EXT, stop))
		return 1;
	if (load_manifest(&v))
		goto out;
	v.base = v.view.qcow2 ? 0 : v.man.dest_offset;
	/* the structure first: its block classes name what the others find */
	verify_structure(&v);
	check_size(&v);
	if (!v.failed)
		check_digest(&v);
	if (!v.failed && o->source)
		verify_source(&v);
	rc = status(&v);
out:
	verify_check_free(&v);
	vmanifest_free(&v.man);
	vview_close(&v.view);
	return rc;
}
