#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "copy.h"
#include "nls.h"

#define CHUNK_BYTES (4u << 20)
#define READAHEAD_BYTES (64u << 20)

int is_zero(const void *p, size_t len)
{
	const unsigned char *c = p;
	const uint64_t *w;
	size_t i, words;

	/* Most metadata blocks are not zero: decide on the first bytes. */
	while (len && ((uintptr_t)c & 7)) {
		if (*c++)
			return 0;
		len--;
	}
	w = (const uint64_t *)c;
	words = len / 8;
	for (i = 0; i < words; i++)
		if (w[i])
			return 0;
	c = (const unsigned char *)(w + words);
	for (i = 0; i < len % 8; i++)
		if (c[i])
			return 0;
	return 1;
}

struct engine {
	const struct blockmap *m;
	struct source *src;
	struct sink *sink;
	const struct copy_opts *o;
	struct e2i_error *err;
	char *buf;
	uint64_t chunk_blocks;
	uint64_t done;
	/* Readahead: runs [0, ra_run) and ra_off blocks of ra_run are issued. */
	size_t ra_run;
	uint64_t ra_off;
	uint64_t ra_issued;
};

/* Keeps about READAHEAD_BYTES of upcoming runs requested from the kernel. */
static void readahead(struct engine *e)
{
	uint64_t window = READAHEAD_BYTES / e->sink->blocksize;

	if (e->o->reverse)
		return; /* the kernel's own readahead does not help backwards */
	while (e->ra_run < e->m->nruns && e->ra_issued < e->done + window) {
		const struct bm_run *r = &e->m->runs[e->ra_run];
		uint64_t n = r->len - e->ra_off;

		if (n > window)
			n = window;
		source_willneed(e->src, r->start + e->ra_off, n);
		e->ra_issued += n;
		e->ra_off += n;
		if (e->ra_off == r->len) {
			e->ra_run++;
			e->ra_off = 0;
		}
	}
}

/* Hands a chunk to the sink, leaving zero blocks as holes where allowed. */
static errcode_t emit(struct engine *e, uint64_t blk, uint64_t n)
{
	struct sink *s = e->sink;
	size_t bs = s->blocksize;
	uint64_t i, start = 0;
	errcode_t err;

	if (!s->holes_read_zero)
		return s->ops->write(s, blk, n, e->buf);
	for (i = 0; i <= n; i++) {
		if (i < n && !is_zero(e->buf + i * bs, bs))
			continue;
		if (i > start) {
			err = s->ops->write(s, blk + start, i - start,
					    e->buf + start * bs);
			if (err)
				return err;
		}
		start = i + 1;
	}
	return 0;
}

static errcode_t chunk(struct engine *e, uint64_t blk, uint64_t n)
{
	errcode_t err;

	if (e->o->stop && *e->o->stop)
		return e2i_seterr(e->err, EINTR, _("while copying blocks"));
	readahead(e);
	if (source_is_hole(e->src, blk, n)) {
		/* Nothing to read: zeros, which a sparse output leaves as holes. */
		if (!e->sink->holes_read_zero) {
			memset(e->buf, 0, n * e->sink->blocksize);
			err = e->sink->ops->write(e->sink, blk, n, e->buf);
		} else {
			err = 0;
		}
	} else {
		err = source_read(e->src, blk, n, e->buf);
		if (!err)
			err = emit(e, blk, n);
	}
	if (err)
		return err;
	e->done += n;
	if (e->o->progress)
		e->o->progress(e->o->progress_arg, e->done);
	return 0;
}

static errcode_t run_forward(struct engine *e, const struct bm_run *r)
{
	uint64_t off;
	errcode_t err;

	for (off = 0; off < r->len; off += e->chunk_blocks) {
		uint64_t n = r->len - off;

		if (n > e->chunk_blocks)
			n = e->chunk_blocks;
		err = chunk(e, r->start + off, n);
		if (err)
			return err;
	}
	return 0;
}

static errcode_t run_backward(struct engine *e, const struct bm_run *r)
{
	uint64_t end = r->len;
	errcode_t err;

	while (end) {
		uint64_t n = end < e->chunk_blocks ? end : e->chunk_blocks;

		end -= n;
		err = chunk(e, r->start + end, n);
		if (err)
			return err;
	}
	return 0;
}

errcode_t copy_runs(const struct blockmap *m, struct source *src,
		    struct sink *sink, const struct copy_opts *o,
		    struct e2i_error *err)
{
	struct engine e = { m, src, sink, o, err, NULL, 0, 0, 0, 0, 0 };
	errcode_t ret = 0;
	size_t i;

	e.chunk_blocks = CHUNK_BYTES / sink->blocksize;
	if (e.chunk_blocks == 0)
		e.chunk_blocks = 1;
	e.buf = malloc(e.chunk_blocks * sink->blocksize);
	if (!e.buf)
		return e2i_seterr(err, ENOMEM, _("while allocating the copy buffer"));
	for (i = 0; !ret && i < m->nruns; i++) {
		if (o->reverse)
			ret = run_backward(&e, &m->runs[m->nruns - 1 - i]);
		else
			ret = run_forward(&e, &m->runs[i]);
	}
	free(e.buf);
	return ret;
}
