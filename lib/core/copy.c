/*
 * Two threads share the copy: a reader fetches chunks of the runs (pread,
 * hole check, zero scan) into a small ring of buffers while the caller's
 * thread hands finished chunks to the sink, in order. On two cores the
 * kernel's copy into our buffers and its copy into the output's page cache
 * then overlap instead of adding up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "copy.h"
#include "nls.h"

#define CHUNK_BYTES (4u << 20)
#define NSLOTS 4
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

struct slot {
	char *buf;
	unsigned char *zero;   /* per block: 1 if all zeros */
	uint64_t blk, n;
	int hole;              /* whole chunk is a hole of the source */
};

struct engine {
	const struct blockmap *m;
	struct source *src;
	struct sink *sink;
	const struct copy_opts *o;
	struct e2i_error *err;
	uint64_t chunk_blocks;

	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct slot slots[NSLOTS];
	unsigned head, count;  /* ring: next to write, how many filled */
	int reader_done;       /* no more chunks will come */
	errcode_t reader_err;
	int writer_failed;     /* the reader stops early */

	/* Reader only: readahead state. */
	size_t ra_run;
	uint64_t ra_off, ra_issued, read_done;
};

/* Keeps about READAHEAD_BYTES of upcoming runs requested from the kernel. */
static void readahead(struct engine *e)
{
	uint64_t window = READAHEAD_BYTES / e->sink->blocksize;

	if (e->o->reverse)
		return; /* the kernel's own readahead does not help backwards */
	while (e->ra_run < e->m->nruns && e->ra_issued < e->read_done + window) {
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

static errcode_t fill(struct engine *e, struct slot *s)
{
	size_t bs = e->sink->blocksize;
	uint64_t i;
	errcode_t err;

	readahead(e);
	s->hole = source_is_hole(e->src, s->blk, s->n);
	if (!s->hole) {
		err = source_read(e->src, s->blk, s->n, s->buf);
		if (err)
			return err;
		if (e->sink->holes_read_zero)
			for (i = 0; i < s->n; i++)
				s->zero[i] = is_zero(s->buf + i * bs, bs);
	}
	e->read_done += s->n;
	return 0;
}

/* Reader: one chunk at a time into the next free slot. */
static errcode_t produce(struct engine *e, uint64_t blk, uint64_t n)
{
	struct slot *s;
	errcode_t err;

	pthread_mutex_lock(&e->lock);
	while (e->count == NSLOTS && !e->writer_failed)
		pthread_cond_wait(&e->emptied, &e->lock);
	if (e->writer_failed) {
		pthread_mutex_unlock(&e->lock);
		return ECANCELED;
	}
	s = &e->slots[(e->head + e->count) % NSLOTS];
	pthread_mutex_unlock(&e->lock);

	s->blk = blk;
	s->n = n;
	err = fill(e, s);
	if (err)
		return err;

	pthread_mutex_lock(&e->lock);
	e->count++;
	pthread_cond_signal(&e->filled);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

static void *reader(void *arg)
{
	struct engine *e = arg;
	const struct blockmap *m = e->m;
	errcode_t err = 0;
	size_t i;

	for (i = 0; !err && i < m->nruns; i++) {
		const struct bm_run *r = &m->runs[e->o->reverse ? m->nruns - 1 - i : i];
		uint64_t done = 0;

		while (!err && done < r->len) {
			uint64_t n = r->len - done;

			if (n > e->chunk_blocks)
				n = e->chunk_blocks;
			/* In a move to the right, the end of a run goes first. */
			if (e->o->reverse)
				err = produce(e, r->start + r->len - done - n, n);
			else
				err = produce(e, r->start + done, n);
			done += n;
		}
	}
	pthread_mutex_lock(&e->lock);
	e->reader_err = err;
	e->reader_done = 1;
	pthread_cond_signal(&e->filled);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* Hands a chunk to the sink, leaving zero blocks as holes where allowed. */
static errcode_t emit(struct engine *e, const struct slot *s)
{
	struct sink *k = e->sink;
	size_t bs = k->blocksize;
	uint64_t i, start = 0;
	errcode_t err;

	if (s->hole) {
		if (k->holes_read_zero)
			return 0;
		memset(s->buf, 0, s->n * bs);
		return k->ops->write(k, s->blk, s->n, s->buf);
	}
	if (!k->holes_read_zero)
		return k->ops->write(k, s->blk, s->n, s->buf);
	for (i = 0; i <= s->n; i++) {
		if (i < s->n && !s->zero[i])
			continue;
		if (i > start) {
			err = k->ops->write(k, s->blk + start, i - start,
					    s->buf + start * bs);
			if (err)
				return err;
		}
		start = i + 1;
	}
	return 0;
}

/* Writer: the caller's thread, taking chunks in the order they were read. */
static errcode_t consume(struct engine *e)
{
	uint64_t done = 0;
	errcode_t err = 0;

	for (;;) {
		struct slot *s;

		pthread_mutex_lock(&e->lock);
		while (e->count == 0 && !e->reader_done)
			pthread_cond_wait(&e->filled, &e->lock);
		if (e->count == 0) {
			err = e->reader_err;
			pthread_mutex_unlock(&e->lock);
			return err;
		}
		s = &e->slots[e->head];
		pthread_mutex_unlock(&e->lock);

		if (e->o->stop && *e->o->stop)
			err = e2i_seterr(e->err, EINTR, _("while copying blocks"));
		else
			err = emit(e, s);
		if (err)
			return err;
		done += s->n;
		if (e->o->progress)
			e->o->progress(e->o->progress_arg, done);

		pthread_mutex_lock(&e->lock);
		e->head = (e->head + 1) % NSLOTS;
		e->count--;
		pthread_cond_signal(&e->emptied);
		pthread_mutex_unlock(&e->lock);
	}
}

static void free_slots(struct engine *e)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		free(e->slots[i].buf);
		free(e->slots[i].zero);
	}
}

errcode_t copy_runs(const struct blockmap *m, struct source *src,
		    struct sink *sink, const struct copy_opts *o,
		    struct e2i_error *err)
{
	struct engine e;
	pthread_t tid;
	errcode_t ret;
	int i, rc;

	memset(&e, 0, sizeof(e));
	e.m = m;
	e.src = src;
	e.sink = sink;
	e.o = o;
	e.err = err;
	e.chunk_blocks = CHUNK_BYTES / sink->blocksize;
	if (e.chunk_blocks == 0)
		e.chunk_blocks = 1;
	for (i = 0; i < NSLOTS; i++) {
		e.slots[i].buf = malloc(e.chunk_blocks * sink->blocksize);
		e.slots[i].zero = malloc(e.chunk_blocks);
		if (!e.slots[i].buf || !e.slots[i].zero) {
			free_slots(&e);
			return e2i_seterr(err, ENOMEM, _("while allocating the copy buffers"));
		}
	}
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.filled, NULL);
	pthread_cond_init(&e.emptied, NULL);
	rc = pthread_create(&tid, NULL, reader, &e);
	if (rc) {
		ret = e2i_seterr(err, rc, _("while starting the reader thread"));
	} else {
		ret = consume(&e);
		if (ret) {
			pthread_mutex_lock(&e.lock);
			e.writer_failed = 1;
			pthread_cond_signal(&e.emptied);
			pthread_mutex_unlock(&e.lock);
		}
		pthread_join(tid, NULL);
	}
	pthread_cond_destroy(&e.filled);
	pthread_cond_destroy(&e.emptied);
	pthread_mutex_destroy(&e.lock);
	free_slots(&e);
	return ret;
}
