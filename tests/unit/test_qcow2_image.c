/* Unit tests of lib/qcow2's image writer: every layout (data first, tables
 * first from known runs, compressed data first, compressed tables first,
 * in memory and spilled), every codec, read back with lib/qcow2's reader;
 * the same bytes whatever the thread count. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "qcow2/compress.h"
#include "qcow2/image.h"
#include "qcow2/qcow2.h"
#include "qcow2/reader.h"
#include "qcow2/runs.h"
#include "tap.h"

#define VSIZE (8u << 20)

static struct tap t;

/* The guest: text-like bytes in some 1 KiB pieces, random ones in others
 * (which do not compress), zeros elsewhere. */
static unsigned char guest[VSIZE];
static unsigned char back[VSIZE];

struct piece {
	uint64_t off, len;
};

static const struct piece pieces[] = {
	{ 0, 4096 }, { 5120, 1024 }, { 65536, 200000 }, { 1048576, 1024 },
	{ 3u << 20, 131072 }, { (3u << 20) + 300000, 70000 },
	{ VSIZE - 2048, 2048 },
};
#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

static void make_guest(void)
{
	uint32_t x = 12345;
	size_t i, j;

	for (i = 0; i < NPIECES; i++)
		for (j = 0; j < pieces[i].len; j++) {
			unsigned char *p = guest + pieces[i].off + j;

			if (i == 4) {  /* random: stored as it is */
				x = x * 1103515245 + 12345;
				*p = (unsigned char)(x >> 16);
			} else {
				*p = (unsigned char)("inode block dir "[(j / 3) % 16] + (j >> 12));
			}
		}
}

struct out {
	int fd;
	uint64_t cs;
	uint64_t next;   /* tables first: clusters come in order */
	int in_order;
};

static int emit(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct out *o = arg;

	if (o->in_order && at != o->next)
		return EINVAL;
	o->next = at + n;
	return pwrite(o->fd, buf, n * o->cs, (off_t)(at * o->cs)) == (ssize_t)(n * o->cs) ? 0 : EIO;
}

static int collect(void *arg, uint64_t off, const void *data, size_t len)
{
	(void)arg;
	memcpy(back + off, data, len);
	return 0;
}

/* Writes the guest through one configuration; returns the file (a memfd),
 * or -1. */
static int write_image(unsigned cb, int compress, unsigned threads,
		       int data_first, size_t mem_bound, uint64_t *spilled)
{
	struct qcow2_image_params prm;
	struct qcow2_runs runs = { 0 };
	struct qcow2_image *img = NULL;
	struct qcow2_image_stats st;
	struct out o;
	char why[128] = "";
	size_t i;
	int e;

	memset(&prm, 0, sizeof(prm));
	o.fd = memfd_create("img", 0);
	o.cs = 1ull << cb;
	o.next = 0;
	o.in_order = !data_first;
	prm.size = VSIZE;
	prm.cluster_bits = cb;
	prm.version = 3;
	prm.compress = compress;
	prm.level = compress == QCOW2_COMPRESS_ZSTD ? 3 : 6;
	prm.threads = threads;
	prm.data_first = data_first;
	prm.mem_bound = mem_bound;
	prm.emit = emit;
	prm.arg = &o;
	if (compress == QCOW2_NO_COMPRESSION && !data_first) {
		for (i = 0; i < NPIECES; i++)
			qcow2_runs_add_bytes(&runs, cb, pieces[i].off, pieces[i].len);
		prm.runs = runs.v;
		prm.nruns = runs.n;
	}
	e = qcow2_image_new(&prm, &img, why, sizeof(why));
	/* in pieces of 1 KiB, as blocks come */
	for (i = 0; !e && i < NPIECES; i++) {
		uint64_t off;

		uint64_t end = pieces[i].off + pieces[i].len;

		for (off = pieces[i].off; !e && off < end; off += 1024)
			e = qcow2_image_write(img, off, guest + off,
					      end - off < 1024 ? end - off : 1024);
	}
	if (!e)
		e = qcow2_image_finish(img);
	if (!e && spilled) {
		qcow2_image_stats(img, &st);
		*spilled = st.spilled;
	}
	qcow2_image_free(img);
	qcow2_runs_free(&runs);
	if (e) {
		printf("# writing: error %d %s\n", e, why);
		close(o.fd);
		return -1;
	}
	return o.fd;
}

static int reads_back(int fd, unsigned threads)
{
	struct qcow2_reader *r;
	char err[256];
	int ok;

	memset(back, 0, sizeof(back));
	if (qcow2_reader_open(fd, &r, NULL, err, sizeof(err))) {
		printf("# %s\n", err);
		return 0;
	}
	qcow2_reader_set_threads(r, threads);
	ok = qcow2_reader_each(r, collect, NULL, NULL, err, sizeof(err)) == 0;
	if (!ok)
		printf("# %s\n", err);
	qcow2_reader_close(r);
	return ok && memcmp(back, guest, VSIZE) == 0;
}

static int same_file(int a, int b)
{
	off_t la = lseek(a, 0, SEEK_END), lb = lseek(b, 0, SEEK_END);
	unsigned char *pa, *pb;
	int same;

	if (la != lb || la <= 0)
		return 0;
	pa = mmap(NULL, la, PROT_READ, MAP_SHARED, a, 0);
	pb = mmap(NULL, lb, PROT_READ, MAP_SHARED, b, 0);
	same = pa != MAP_FAILED && pb != MAP_FAILED && memcmp(pa, pb, la) == 0;
	munmap(pa, la);
	munmap(pb, lb);
	return same;
}

int main(void)
{
	static const int codecs[] = { QCOW2_NO_COMPRESSION, QCOW2_COMPRESS_DEFLATE,
				      QCOW2_COMPRESS_ZSTD };
	static const unsigned cbs[] = { 9, 12, 16, 21 };
	char name[160];
	size_t c, k;
	int df;

	make_guest();
	for (c = 0; c < 3; c++) {
		if (codecs[c] >= 0 && !qcow2_codec_available(codecs[c]))
			continue;
		for (k = 0; k < 4; k++)
			for (df = 0; df < 2; df++) {
				int fd = write_image(cbs[k], codecs[c], 1, df, 1u << 30, NULL);

				snprintf(name, sizeof(name), "%s, %u-byte clusters, %s: reads back",
					 codecs[c] < 0 ? "plain" : qcow2_codec_name(codecs[c]),
					 1u << cbs[k], df ? "data first" : "tables first");
				TAP_CHECK(&t, fd >= 0 && reads_back(fd, 1), name);
				if (fd >= 0 && codecs[c] >= 0) {
					snprintf(name, sizeof(name), "%s, %u-byte clusters, %s: read on 3 threads",
						 qcow2_codec_name(codecs[c]), 1u << cbs[k],
						 df ? "data first" : "tables first");
					TAP_CHECK(&t, reads_back(fd, 3), name);
				}
				if (fd >= 0)
					close(fd);
			}
	}
	for (c = 1; c < 3; c++) {
		int a, b, s;
		uint64_t spilled = 0;

		if (!qcow2_codec_available(codecs[c]))
			continue;
		a = write_image(16, codecs[c], 1, 0, 1u << 30, NULL);
		b = write_image(16, codecs[c], 4, 0, 1u << 30, NULL);
		snprintf(name, sizeof(name), "%s: 1 and 4 threads give the same bytes",
			 qcow2_codec_name(codecs[c]));
		TAP_CHECK(&t, a >= 0 && b >= 0 && same_file(a, b), name);
		s = write_image(16, codecs[c], 2, 0, 4096, &spilled);
		snprintf(name, sizeof(name), "%s: a 4 KiB memory bound spills, same bytes",
			 qcow2_codec_name(codecs[c]));
		TAP_CHECK(&t, s >= 0 && spilled > 0 && same_file(a, s), name);
		if (a >= 0) close(a);
		if (b >= 0) close(b);
		if (s >= 0) close(s);
	}
	{
		int fd = write_image(16, QCOW2_NO_COMPRESSION, 1, 1, 0, NULL);
		struct qcow2_image_params prm;
		struct qcow2_image *img = NULL;
		struct out o = { fd, 1u << 16, 0, 0 };
		char why[128];

		memset(&prm, 0, sizeof(prm));
		prm.size = VSIZE;
		prm.cluster_bits = 16;
		prm.version = 2;
		prm.compress = QCOW2_COMPRESS_ZSTD;
		prm.emit = emit;
		prm.arg = &o;
		TAP_CHECK(&t, qcow2_image_new(&prm, &img, why, sizeof(why)) == EINVAL &&
			  strstr(why, "version 3"), "zstd in a version 2 image is refused");
		prm.version = 3;
		prm.compress = QCOW2_COMPRESS_DEFLATE;
		prm.data_first = 1;
		TAP_CHECK(&t, qcow2_image_new(&prm, &img, why, sizeof(why)) == 0 &&
			  qcow2_image_write(img, 1 << 20, guest, 10) == 0 &&
			  qcow2_image_write(img, 0, guest, 10) == QCOW2_E_ORDER,
			  "bytes before ones already written are refused");
		qcow2_image_free(img);
		if (fd >= 0)
			close(fd);
	}
	return tap_done(&t);
}
