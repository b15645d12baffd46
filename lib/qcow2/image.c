#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/nls.h"
#include "compress.h"
#include "image.h"
#include "qcow2.h"
#include "runs.h"
#include "store.h"

/* Data goes out this many bytes at a time (or one cluster, if larger). */
#define WINDOW_BYTES (1u << 20)

enum mode {
	APPEND,       /* uncompressed, data first */
	PLANNED,      /* uncompressed, tables first, runs known */
	PACKED,       /* compressed: data first, or kept in a store */
};

struct qcow2_image {
	struct qcow2_image_params prm;
	enum mode mode;
	uint64_t cs;
	unsigned cb;
	struct qcow2_plan plan;
	struct qcow2_runs runs;     /* APPEND, PACKED: as clusters come */
	int err;                    /* the first error: every call returns it */
	int finished;
	/* The guest cluster being gathered, and where. */
	int have_g;
	uint64_t g;
	unsigned char *slot;
	/* Host clusters [wbase, wbase + wn) of the data area, counted from
	 * its start; pos: the data area's bytes so far. */
	unsigned char *win;
	uint64_t wn, wbase, pos;
	/* PLANNED: cursor over the runs (run ri starts at rank run_rank). */
	size_t ri;
	uint64_t run_rank;
	int meta_done;
	/* PACKED */
	struct qcow2_opool *pool;
	struct qcow2_zbatch *batches, *batch;
	void **bptr;                /* the batches, as the pool holds them */
	unsigned nb;
	struct qcow2_codec_choice codec;
	unsigned per;
	uint64_t *l2;               /* entry per guest cluster, in guest order */
	uint64_t nl2, capl2;
	uint16_t *refs;             /* per data-area cluster */
	uint64_t caprefs;
	uint64_t compressed;
	struct qcow2_store *store;  /* tables first */
	struct qcow2_ext ext;       /* a header extension, if data */
	void *ext_data;
};

static int fail(struct qcow2_image *img, int e)
{
	if (!img->err)
		img->err = e;
	return img->err;
}

/* The window's clusters [wbase, wbase + n) go out. */
static int put_window(struct qcow2_image *img, uint64_t n)
{
	int e;

	if (!n)
		return 0;
	if (img->store)
		e = qcow2_store_put(img->store, img->win, n * img->cs);
	else
		e = img->prm.emit(img->prm.arg, img->plan.data_at + img->wbase,
				  img->win, n);
	if (e)
		return fail(img, e);
	memset(img->win, 0, n * img->cs);
	img->wbase += n;
	return 0;
}

/* ---- uncompressed ---- */

/* The rank of guest cluster g among the planned ones. */
static int rank_of(struct qcow2_image *img, uint64_t g, uint64_t *rank)
{
	const struct qcow2_run *r = img->prm.runs;

	while (img->ri < img->prm.nruns && r[img->ri].start + r[img->ri].len <= g) {
		img->run_rank += r[img->ri].len;
		img->ri++;
	}
	if (img->ri == img->prm.nruns || g < r[img->ri].start)
		return 0;
	*rank = img->run_rank + (g - r[img->ri].start);
	return 1;
}

static int planned_slot(struct qcow2_image *img, uint64_t g)
{
	uint64_t rank;
	int e;

	if (!img->meta_done) {
		img->plan.ext = img->ext_data ? &img->ext : NULL;
		e = qcow2_write_metadata(&img->plan, img->prm.runs, img->prm.nruns,
					 img->prm.emit, img->prm.arg);
		if (e)
			return fail(img, e);
		img->meta_done = 1;
	}
	if (!rank_of(img, g, &rank) || rank < img->wbase)
		return fail(img, QCOW2_E_UNPLANNED);
	while (rank >= img->wbase + img->wn)
		if ((e = put_window(img, img->wn)))
			return e;
	img->slot = img->win + (rank - img->wbase) * img->cs;
	return 0;
}

/* The k-th cluster with data is the k-th of the data area. */
static int append_slot(struct qcow2_image *img)
{
	int e;

	if (img->pos == (img->wbase + img->wn) * img->cs &&
	    (e = put_window(img, img->wn)))
		return e;
	img->slot = img->win + (img->pos - img->wbase * img->cs);
	img->pos += img->cs;
	return 0;
}

/* ---- compressed ---- */

static int grow(void **v, uint64_t *cap, uint64_t need, size_t size)
{
	uint64_t c = *cap ? *cap : 1024;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*v, c * size);
	if (!n)
		return ENOMEM;
	memset((char *)n + *cap * size, 0, (c - *cap) * size);
	*v = n;
	*cap = c;
	return 0;
}

/* Bytes into the data area at pos; the window goes out as it fills. */
static int pack_bytes(struct qcow2_image *img, const unsigned char *p,
		      uint64_t len)
{
	while (len) {
		uint64_t wend = (img->wbase + img->wn) * img->cs;
		uint64_t n = wend - img->pos < len ? wend - img->pos : len;
		int e;

		if (p)
			memcpy(img->win + (img->pos - img->wbase * img->cs), p, n);
		img->pos += n;
		len -= n;
		if (p)
			p += n;
		if (img->pos == wend && (e = put_window(img, img->wn)))
			return e;
	}
	return 0;
}

static int next_cluster_boundary(struct qcow2_image *img)
{
	uint64_t r = img->pos % img->cs;

	return r ? pack_bytes(img, NULL, img->cs - r) : 0;
}

static int pack_one(struct qcow2_image *img, const unsigned char *raw,
		    const unsigned char *z, uint32_t zlen)
{
	uint64_t first, last, c, entry;
	int e;

	if ((e = grow((void **)&img->l2, &img->capl2, img->nl2 + 1, sizeof(*img->l2))))
		return fail(img, e);
	/* A cluster's refcount is 16 bits: one that many compressed
	 * clusters share is full. */
	if (zlen && img->pos / img->cs < img->caprefs &&
	    img->refs[img->pos / img->cs] == UINT16_MAX &&
	    (e = next_cluster_boundary(img)))
		return e;
	if (!zlen && (e = next_cluster_boundary(img)))
		return e;
	first = img->pos / img->cs;
	last = (img->pos + (zlen ? zlen : img->cs) - 1) / img->cs;
	if ((e = grow((void **)&img->refs, &img->caprefs, last + 1, sizeof(*img->refs))))
		return fail(img, e);
	if (zlen) {
		uint64_t nsect = ((img->pos + zlen - 1) >> 9) - (img->pos >> 9);

		entry = QCOW2_OFLAG_COMPRESSED |
			(nsect << (62 - (img->cb - 8))) | img->pos;
		img->compressed++;
	} else {
		entry = img->pos | QCOW2_OFLAG_COPIED;
	}
	for (c = first; c <= last; c++)
		img->refs[c]++;
	img->l2[img->nl2++] = entry;
	return pack_bytes(img, zlen ? z : raw, zlen ? zlen : img->cs);
}

/* The oldest batch, once compressed, into the data area. */
static int pack_oldest(struct qcow2_image *img)
{
	struct qcow2_zbatch *b = qcow2_opool_oldest(img->pool);
	unsigned i;
	int e = 0;

	for (i = 0; b && i < b->n && !e; i++)
		e = pack_one(img, b->in + i * img->cs, b->out + i * (img->cs - 1),
			     b->olen[i]);
	qcow2_opool_release(img->pool);
	return e;
}

static int packed_slot(struct qcow2_image *img)
{
	int e;

	if (img->batch && img->batch->n == img->per) {
		qcow2_opool_submit(img->pool);
		img->batch = NULL;
	}
	if (!img->batch) {
		while (!(img->batch = qcow2_opool_next(img->pool)))
			if ((e = pack_oldest(img)))
				return e;
		img->batch->n = 0;
	}
	img->slot = img->batch->in + img->batch->n * img->cs;
	memset(img->slot, 0, img->cs);
	img->batch->n++;
	return 0;
}

/* ---- common ---- */

static int new_cluster(struct qcow2_image *img, uint64_t g)
{
	int e;

	if (img->have_g && g < img->g)
		return fail(img, QCOW2_E_ORDER);
	img->g = g;
	img->have_g = 1;
	if (img->mode != PLANNED && (e = qcow2_runs_add(&img->runs, g, g + 1)))
		return fail(img, e);
	switch (img->mode) {
	case APPEND:
		return append_slot(img);
	case PLANNED:
		return planned_slot(img, g);
	default:
		return packed_slot(img);
	}
}

int qcow2_image_write(struct qcow2_image *img, uint64_t off, const void *buf,
		      size_t len)
{
	const unsigned char *src = buf;
	int e;

	if (img->err)
		return img->err;
	if (off + len > img->prm.size)
		return fail(img, QCOW2_E_UNPLANNED);
	while (len) {
		uint64_t g = off >> img->cb, in = off & (img->cs - 1);
		size_t n = img->cs - in < len ? (size_t)(img->cs - in) : len;

		if ((!img->have_g || g != img->g) && (e = new_cluster(img, g)))
			return e;
		memcpy(img->slot + in, src, n);
		src += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int replay(void *arg, const void *buf, size_t len)
{
	struct qcow2_image *img = arg;
	uint64_t n = len / img->cs;
	int e = img->prm.emit(img->prm.arg, img->plan.data_at + img->wbase, buf, n);

	img->wbase += n;
	return e;
}

static int finish_packed(struct qcow2_image *img)
{
	struct qcow2_packed pk;
	enum qcow2_plan_result r;
	int e;

	if (img->batch && img->batch->n)
		qcow2_opool_submit(img->pool);
	img->batch = NULL;
	while (qcow2_opool_oldest(img->pool))
		if ((e = pack_oldest(img)))
			return e;
	if ((e = put_window(img, (img->pos - img->wbase * img->cs + img->cs - 1) / img->cs)))
		return e;
	r = qcow2_plan_make_packed(&img->plan, img->prm.size, img->cb,
				   img->prm.version, img->runs.v, img->runs.n,
				   (img->pos + img->cs - 1) / img->cs,
				   img->prm.compress);
	if (r != QCOW2_PLAN_OK)
		return fail(img, EFBIG);
	if (img->runs.clusters != img->nl2)
		return fail(img, EINVAL);
	pk.l2 = img->l2;
	pk.refs = img->refs;
	img->plan.ext = img->ext_data ? &img->ext : NULL;
	if (img->prm.data_first)
		qcow2_plan_data_first(&img->plan);
	e = qcow2_write_metadata_packed(&img->plan, img->runs.v, img->runs.n, &pk,
					img->prm.emit, img->prm.arg);
	if (!e && img->store) {
		img->wbase = 0;
		e = qcow2_store_replay(img->store, replay, img);
	}
	return e ? fail(img, e) : 0;
}

int qcow2_image_finish(struct qcow2_image *img)
{
	enum qcow2_plan_result r;
	int e;

	if (img->err || img->finished)
		return img->err;
	img->finished = 1;
	switch (img->mode) {
	case PACKED:
		return finish_packed(img);
	case PLANNED:
		/* Planned clusters that are zeros now still take their place. */
		if (!img->meta_done && (e = planned_slot(img, img->prm.runs ?
							 img->prm.runs[0].start : 0)) &&
		    e != QCOW2_E_UNPLANNED)
			return e;
		img->err = 0;
		while (img->wbase < img->plan.n_data) {
			uint64_t n = img->plan.n_data - img->wbase;

			if ((e = put_window(img, n < img->wn ? n : img->wn)))
				return e;
		}
		return 0;
	default:
		if ((e = put_window(img, img->pos / img->cs - img->wbase)))
			return e;
		r = qcow2_plan_make(&img->plan, img->prm.size, img->cb,
				    img->prm.version, img->runs.v, img->runs.n);
		if (r != QCOW2_PLAN_OK)
			return fail(img, EFBIG);
		qcow2_plan_data_first(&img->plan);
		img->plan.ext = img->ext_data ? &img->ext : NULL;
		e = qcow2_write_metadata(&img->plan, img->runs.v, img->runs.n,
					 img->prm.emit, img->prm.arg);
		return e ? fail(img, e) : 0;
	}
}

int qcow2_image_set_ext(struct qcow2_image *img, uint32_t type,
			const void *data, size_t len)
{
	void *copy;

	if (img->meta_done || img->finished)
		return EBUSY;
	if (!type || len > qcow2_ext_room(img->prm.version, img->cs))
		return EFBIG;
	if (!(copy = malloc(len ? len : 1)))
		return ENOMEM;
	memcpy(copy, data, len);
	free(img->ext_data);
	img->ext_data = copy;
	img->ext = (struct qcow2_ext){ type, copy, len };
	return 0;
}

static int bad(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return EINVAL;
}

int qcow2_image_new(const struct qcow2_image_params *prm,
		    struct qcow2_image **out, char *why, size_t whylen)
{
	struct qcow2_image *img;
	uint64_t win_bytes;
	int e = ENOMEM;

	*out = NULL;
	if (prm->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    prm->cluster_bits > QCOW2_MAX_CLUSTER_BITS || !prm->emit)
		return bad(why, whylen, _("invalid qcow2 layout parameters"));
	if (prm->compress != QCOW2_NO_COMPRESSION &&
	    !qcow2_codec_available(prm->compress))
		return bad(why, whylen, _("this build cannot write that compression type"));
	if (prm->compress == QCOW2_COMPRESS_ZSTD && prm->version < 3)
		return bad(why, whylen, _("zstd compression needs a version 3 image"));
	img = calloc(1, sizeof(*img));
	if (!img)
		return ENOMEM;
	img->prm = *prm;
	img->cb = prm->cluster_bits;
	img->cs = (uint64_t)1 << img->cb;
	img->mode = prm->compress != QCOW2_NO_COMPRESSION ? PACKED :
		    prm->data_first ? APPEND : PLANNED;
	win_bytes = img->cs > WINDOW_BYTES ? img->cs : WINDOW_BYTES;
	img->wn = win_bytes / img->cs;
	img->win = calloc(1, win_bytes);
	if (!img->win)
		goto fail;
	/* Data first: the data area starts at cluster 1 (its offset in the
	 * file); tables first it is known once the tables are. */
	img->plan.data_at = 1;
	if (img->mode == PLANNED) {
		enum qcow2_plan_result r = qcow2_plan_make(&img->plan, prm->size,
							   img->cb, prm->version,
							   prm->runs, prm->nruns);

		if (r != QCOW2_PLAN_OK) {
			snprintf(why, whylen, "%s", qcow2_plan_strerror(r));
			e = EINVAL;
			goto fail;
		}
	}
	if (img->mode == PACKED) {
		struct qcow2_opool_ops ops;

		img->per = (unsigned)img->wn;
		img->nb = qcow2_opool_batches(prm->threads);
		img->codec.type = prm->compress;
		img->codec.level = prm->level;
		qcow2_compress_ops(&ops, &img->codec);
		img->batches = qcow2_zbatches_new(img->nb, img->per, img->cs);
		img->bptr = calloc(img->nb, sizeof(*img->bptr));
		if (img->batches && img->bptr) {
			unsigned i;

			for (i = 0; i < img->nb; i++)
				img->bptr[i] = &img->batches[i];
			img->pool = qcow2_opool_new(prm->threads, img->bptr, &ops);
		}
		if (!img->pool)
			goto fail;
		if (!prm->data_first) {
			img->plan.data_at = 0;
			if ((e = qcow2_store_new(prm->mem_bound, win_bytes, prm->tmpdir,
						 &img->store)))
				goto fail;
		}
	}
	*out = img;
	return 0;
fail:
	qcow2_image_free(img);
	return e;
}

const struct qcow2_plan *qcow2_image_layout(const struct qcow2_image *img)
{
	return &img->plan;
}

void qcow2_image_stats(const struct qcow2_image *img,
		       struct qcow2_image_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->guest_clusters = img->mode == PLANNED ? img->plan.n_data :
			     img->mode == PACKED ? img->nl2 : img->runs.clusters;
	st->compressed = img->compressed;
	st->data_bytes = img->mode == PACKED ? img->pos : st->guest_clusters * img->cs;
	st->spilled = img->store ? qcow2_store_spilled(img->store) : 0;
}

const char *qcow2_image_spill_dir(const struct qcow2_image *img)
{
	return img->store ? qcow2_store_dir(img->store) : NULL;
}

void qcow2_image_free(struct qcow2_image *img)
{
	if (!img)
		return;
	qcow2_opool_free(img->pool);
	qcow2_zbatches_free(img->batches, img->nb);
	free(img->bptr);
	qcow2_store_free(img->store);
	qcow2_runs_free(&img->runs);
	free(img->win);
	free(img->l2);
	free(img->refs);
	free(img->ext_data);
	free(img);
}
