/*
 * libFuzzer target: lib/qcow2's image writer, read back by its reader.
 * The input chooses the cluster size, the codec (none, zlib, zstd), the
 * layout (data first or tables first), the thread count, the memory bound
 * before spilling, and a list of ascending guest ranges with their bytes;
 * the image is written into a memfd and must read back as exactly those
 * bytes (zeros elsewhere). Any error or difference traps.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "compress.h"
#include "image.h"
#include "qcow2.h"
#include "reader.h"
#include "runs.h"

#define VSIZE (4u << 20)

struct out {
	int fd;
	uint64_t cs, next;
	int in_order;
};

static int emit(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct out *o = arg;

	if (o->in_order && at != o->next)
		__builtin_trap();
	o->next = at + n;
	return pwrite(o->fd, buf, n * o->cs, (off_t)(at * o->cs)) == (ssize_t)(n * o->cs) ? 0 : EIO;
}

static int compare(void *arg, uint64_t off, const void *data, size_t len)
{
	unsigned char *want = arg;

	if (off + len > VSIZE || memcmp(want + off, data, len))
		__builtin_trap();
	memset(want + off, 0, len);  /* what is left must be zeros */
	return 0;
}

struct range {
	uint64_t off, len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codecs[] = { QCOW2_NO_COMPRESSION, QCOW2_COMPRESS_DEFLATE,
				      QCOW2_COMPRESS_ZSTD };
	struct qcow2_image_params prm;
	struct qcow2_image *img = NULL;
	struct qcow2_reader *r = NULL;
	struct qcow2_runs runs = { 0 };
	struct range rg[64];
	unsigned char *want;
	size_t nr = 0, i, p = 6;
	uint64_t off = 0;
	struct out o;
	char why[256];
	int e;

	if (size < 6)
		return 0;
	memset(&prm, 0, sizeof(prm));
	prm.cluster_bits = 9 + data[0] % 8;        /* 512 to 64 KiB */
	prm.compress = codecs[data[1] % 3];
	if (prm.compress >= 0 && !qcow2_codec_available(prm.compress))
		prm.compress = QCOW2_NO_COMPRESSION;
	prm.data_first = data[2] & 1;
	prm.threads = 1 + (data[2] >> 1) % 3;
	prm.mem_bound = (size_t)(data[3] % 4) << 19;  /* 0 to 1.5 MiB */
	prm.level = 1;
	prm.version = 3;
	prm.size = VSIZE;
	/* ranges: a gap and a length from two bytes each, bytes from the rest */
	want = calloc(1, VSIZE);
	if (!want)
		return 0;
	while (p + 4 <= size && nr < 64) {
		uint64_t gap = ((uint64_t)data[p] << 8 | data[p + 1]) * 61;
		uint64_t len = 1 + (((uint64_t)data[p + 2] << 8 | data[p + 3]) * 13) % 200000;

		p += 4;
		off += gap;
		if (off >= VSIZE)
			break;
		if (len > VSIZE - off)
			len = VSIZE - off;
		rg[nr].off = off;
		rg[nr].len = len;
		for (i = 0; i < len; i++)  /* compressible, with some noise */
			want[off + i] = (unsigned char)(p < size && (i % 97) == 0 ?
							data[(p + i) % size] : (i / 7) & 0x3f);
		want[off] |= 1;  /* never an all-zero range: zero blocks are not handed over */
		off += len;
		nr++;
	}
	if (!prm.data_first && prm.compress == QCOW2_NO_COMPRESSION) {
		for (i = 0; i < nr; i++)
			if (qcow2_runs_add_bytes(&runs, prm.cluster_bits, rg[i].off, rg[i].len))
				__builtin_trap();
		prm.runs = runs.v;
		prm.nruns = runs.n;
	}
	o.fd = memfd_create("qcow2", 0);
	o.cs = 1ull << prm.cluster_bits;
	o.next = 0;
	o.in_order = !prm.data_first;
	prm.emit = emit;
	prm.arg = &o;
	if (o.fd < 0)
		goto out;
	e = qcow2_image_new(&prm, &img, why, sizeof(why));
	for (i = 0; !e && i < nr; i++) {
		/* in pieces, as the copy engine hands blocks over */
		uint64_t at = rg[i].off, end = rg[i].off + rg[i].len;

		while (!e && at < end) {
			uint64_t n = end - at < 5000 ? end - at : 5000;

			e = qcow2_image_write(img, at, want + at, n);
			at += n;
		}
	}
	if (!e)
		e = qcow2_image_finish(img);
	if (e)
		__builtin_trap();
	if (qcow2_reader_open(o.fd, &r, NULL, why, sizeof(why)))
		__builtin_trap();
	qcow2_reader_set_threads(r, prm.threads);
	if (qcow2_reader_each(r, compare, want, NULL, why, sizeof(why)))
		__builtin_trap();
	for (i = 0; i < VSIZE; i++)
		if (want[i])
			__builtin_trap();
out:
	qcow2_reader_close(r);
	qcow2_image_free(img);
	qcow2_runs_free(&runs);
	if (o.fd >= 0)
		close(o.fd);
	free(want);
	return 0;
}
