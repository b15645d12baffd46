/*
 * libdeflate inflates a whole cluster in one call about twice as fast as
 * zlib; zlib stays for what libdeflate refuses (a stream longer than the
 * cluster, which qemu accepts) and for the messages.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#include "../core/nls.h"
#include "decompress.h"
#include "qcow2.h"

struct qcow2_decompressor {
	int type;
	z_stream zs;
	int zs_ready;
#ifdef HAVE_LIBDEFLATE
	struct libdeflate_decompressor *ld;
#endif
#ifdef HAVE_ZSTD
	ZSTD_DCtx *zd;
#endif
};

struct qcow2_decompressor *qcow2_decompressor_new(int type)
{
	struct qcow2_decompressor *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->type = type;
#ifdef HAVE_ZSTD
	if (type == QCOW2_COMPRESS_ZSTD) {
		if (!(d->zd = ZSTD_createDCtx())) {
			free(d);
			return NULL;
		}
		return d;
	}
#endif
	if (type != QCOW2_COMPRESS_DEFLATE) {
		free(d);
		return NULL;
	}
#ifdef HAVE_LIBDEFLATE
	d->ld = libdeflate_alloc_decompressor();
#endif
	if (inflateInit2(&d->zs, -15) != Z_OK) {
		qcow2_decompressor_free(d);
		return NULL;
	}
	d->zs_ready = 1;
	return d;
}

static int zlib_inflate(struct qcow2_decompressor *d, const void *in,
			size_t len, void *out, size_t cs, const char **why,
			uint64_t *produced)
{
	int ret;

	if (inflateReset(&d->zs) != Z_OK) {
		*why = _("cannot reset zlib");
		return -1;
	}
	d->zs.next_in = (unsigned char *)in;
	d->zs.avail_in = (uInt)len;
	d->zs.next_out = out;
	d->zs.avail_out = (uInt)cs;
	ret = inflate(&d->zs, Z_FINISH);
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && d->zs.avail_out == 0)
		return 0;
	if (ret == Z_STREAM_END || ret == Z_BUF_ERROR) {
		*why = NULL;
		*produced = cs - d->zs.avail_out;
		return -1;
	}
	*why = d->zs.msg ? d->zs.msg : _("zlib error");
	return -1;
}

#ifdef HAVE_ZSTD
static int unzstd(struct qcow2_decompressor *d, const void *in, size_t len,
		  void *out, size_t cs, const char **why, uint64_t *produced)
{
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob = { out, cs, 0 };
	size_t fsz = ZSTD_findFrameCompressedSize(in, len);

	/* One frame that fills the cluster (every writer's case): decoded
	 * straight into out; streaming goes through zstd's own window
	 * buffer and a copy (0.2 s of CPU against 0.12 here for the bench
	 * fixture's image). Anything else takes the streaming path, which
	 * keeps qemu's rules and its error. */
	if (!ZSTD_isError(fsz) && fsz <= len &&
	    ZSTD_decompressDCtx(d->zd, out, cs, in, fsz) == cs)
		return 0;
	ZSTD_DCtx_reset(d->zd, ZSTD_reset_session_only);
	while (ob.pos < ob.size) {
		size_t in0 = ib.pos, out0 = ob.pos;
		size_t ret = ZSTD_decompressStream(d->zd, &ob, &ib);

		if (ZSTD_isError(ret)) {
			*why = ZSTD_getErrorName(ret);
			return -1;
		}
		if ((ret == 0 && ob.pos < ob.size) ||
		    (ib.pos == in0 && ob.pos == out0)) {
			*why = NULL;
			*produced = ob.pos;
			return -1;
		}
	}
	return 0;
}
#endif

int qcow2_decompress(struct qcow2_decompressor *d, const void *in, size_t len,
		     void *out, size_t cs, const char **why, uint64_t *produced)
{
	*why = NULL;
	*produced = UINT64_MAX;
#ifdef HAVE_ZSTD
	if (d->type == QCOW2_COMPRESS_ZSTD)
		return unzstd(d, in, len, out, cs, why, produced);
#endif
#ifdef HAVE_LIBDEFLATE
	if (d->ld) {
		size_t ain, aout;

		if (libdeflate_deflate_decompress_ex(d->ld, in, len, out, cs, &ain,
						     &aout) == LIBDEFLATE_SUCCESS &&
		    aout == cs)
			return 0;
	}
#endif
	return zlib_inflate(d, in, len, out, cs, why, produced);
}

void qcow2_decompressor_free(struct qcow2_decompressor *d)
{
	if (!d)
		return;
	if (d->zs_ready)
		inflateEnd(&d->zs);
#ifdef HAVE_LIBDEFLATE
	if (d->ld)
		libdeflate_free_decompressor(d->ld);
#endif
#ifdef HAVE_ZSTD
	ZSTD_freeDCtx(d->zd);
#endif
	free(d);
}

struct qcow2_dbatch *qcow2_dbatches_new(unsigned nb, unsigned per, size_t cs)
{
	struct qcow2_dbatch *b = calloc(nb, sizeof(*b));
	unsigned i;

	for (i = 0; b && i < nb; i++) {
		struct qcow2_dbatch *x = &b[i];

		x->cs = cs;
		x->in = malloc(per * 2 * cs);
		x->ioff = calloc(per, sizeof(*x->ioff));
		x->ilen = calloc(per, sizeof(*x->ilen));
		x->guest = calloc(per, sizeof(*x->guest));
		x->host = calloc(per, sizeof(*x->host));
		x->len = calloc(per, sizeof(*x->len));
		x->out = malloc(per * cs);
		x->why = calloc(per, sizeof(*x->why));
		x->produced = calloc(per, sizeof(*x->produced));
		if (!x->in || !x->ioff || !x->ilen || !x->guest || !x->host ||
		    !x->len || !x->out || !x->why || !x->produced) {
			qcow2_dbatches_free(b, nb);
			return NULL;
		}
	}
	return b;
}

void qcow2_dbatches_free(struct qcow2_dbatch *b, unsigned nb)
{
	unsigned i;

	for (i = 0; b && i < nb; i++) {
		free(b[i].in);
		free(b[i].ioff);
		free(b[i].ilen);
		free(b[i].guest);
		free(b[i].host);
		free(b[i].len);
		free(b[i].out);
		free(b[i].why);
		free(b[i].produced);
	}
	free(b);
}

static void *ctx_new(void *arg)
{
	return qcow2_decompressor_new(*(int *)arg);
}

static void ctx_free(void *ctx)
{
	qcow2_decompressor_free(ctx);
}

/* A cluster that fails has why or produced set; its bytes are not used. */
static void work(void *ctx, void *batch)
{
	struct qcow2_dbatch *b = batch;
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (qcow2_decompress(ctx, b->in + b->ioff[i], b->ilen[i],
				     b->out + i * b->cs, b->cs, &b->why[i],
				     &b->produced[i]) == 0)
			b->why[i] = NULL, b->produced[i] = UINT64_MAX;
		else if (!b->why[i] && b->produced[i] == UINT64_MAX)
			b->why[i] = _("unknown error");
}

void qcow2_decompress_ops(struct qcow2_opool_ops *ops, int *type)
{
	ops->ctx_new = ctx_new;
	ops->ctx_free = ctx_free;
	ops->work = work;
	ops->arg = type;
}
