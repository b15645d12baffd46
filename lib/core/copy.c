/*
 * Two threads share the copy: a reader fills a small ring of buffers (pread,
 * hole check, zero scan) while the caller's thread hands them to the sink,
 * in order. On two cores the kernel's copy into our buffers and its copy
 * into the output's page cache overlap instead of adding up.
 *
 * A buffer holds segments: runs of the block map, packed until it is full,
 * so thousands of one-block directory runs cost a few hand-offs, not one
 * each. Where the output reads zeros between captured blocks anyway (a new
 * file, a stream), runs a few blocks apart share a segment: one pread and
 * one write cover both, the blocks between them written as zeros.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include "copy.h"
#include "nls.h"

#define CHUNK_BYTES (4u << 20)
#define NSLOTS 4
#define MAX_SEGS 1024
#define READAHEAD_BYTES (64u << 20)
/* Largest gap between captured blocks that one segment bridges. */
#define BRIDGE_BLOCKS 16
/* Readahead requests for ranges this close together are merged. */
#define READAHEAD_GAP_BLOCKS 8
/* Segments this large are written from the source mapping, not copied. */
#define MAP_MIN_BYTES (64u << 10)

enum { B_DATA, B_ZERO, B_GAP };

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

struct seg {
	uint64_t blk, n;   /* filesystem blocks, gaps included */
	uint64_t at;       /* first block's index in the slot buffer */
	int bridged;       /* holds gap blocks */
	const char *mapped; /* the blocks in the source mapping, or NULL */
};

struct slot {
	char *buf;
	unsigned char *kind;   /* per block: B_DATA, B_ZERO or B_GAP */
	struct seg segs[MAX_SEGS];
	size_t nsegs;
	uint64_t used;         /* blocks in buf */
	uint64_t captured;     /* of them, captured (not gaps) */
};

struct engine {
	const struct blockmap *m;
	struct source *src;
	struct sink *sink;
	const struct copy_opts *o;
	struct e2i_error *err;
	uint64_t chunk_blocks;
	unsigned bridge;       /* gap blocks a segment may bridge */

	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct slot slots[NSLOTS];
	unsigned head, count;  /* ring: next to write, how many filled */
	int reader_done;       /* no more slots will come */
	errcode_t reader_err;
	int writer_failed;     /* the reader stops early */

	/* Reader only. */
	struct slot *cur;      /* being packed */
	size_t ra_run;
	uint64_t ra_next, ra_issued, read_done;
};

/* Keeps about READAHEAD_BYTES of upcoming runs requested from the kernel,
 * nearby runs in one request. */
static void readahead(struct engine *e)
{
	const struct blockmap *m = e->m;
	uint64_t window = READAHEAD_BYTES / e->sink->blocksize;
	uint64_t start = 0, end = 0;

	if (e->o->reverse)
		return; /* the kernel's own readahead does not help backwards */
	while (e->ra_run < m->nruns && e->ra_issued < e->read_done + window) {
		const struct bm_run *r = &m->runs[e->ra_run];
		uint64_t s = r->start > e->ra_next ? r->start : e->ra_next;
		uint64_t n = r->start + r->len - s;

		if (n > window)
			n = window;
		if (end && s > end + READAHEAD_GAP_BLOCKS) {
			source_willneed(e->src, start, end - start);
			end = 0;
		}
		if (!end)
			start = s;
		end = s + n;
		e->ra_issued += n;
		e->ra_next = s + n;
		if (e->ra_next == r->start + r->len)
			e->ra_run++;
	}
	if (end)
		source_willneed(e->src, start, end - start);
}

/*
 * A read failed somewhere in a segment: read its blocks one by one, and
 * zero-fill those the source cannot give, as e2fsprogs does, reporting each.
 * A failing disk costs the blocks it cannot read, not the image.
 */
static errcode_t read_each(struct engine *e, uint64_t blk, uint64_t n,
			   char *buf, unsigned char *kind)
{
	size_t bs = e->sink->blocksize;
	uint64_t i;
	errcode_t err;

	for (i = 0; i < n; i++) {
		if (kind[i] == B_GAP)
			continue;
		err = source_try_read(e->src, blk + i, 1, buf + i * bs);
		if (!err)
			continue;
		if (!e->o->warn ||
		    warn(e->o->warn, WARN_BLOCK, 1,
			 _("block %llu: %s while reading %s; zero-filled in the image"),
			 (unsigned long long)(blk + i), error_message(err),
			 e->src->path))
			return e2i_seterr(e->err, err, _("while reading block %llu of %s"),
					  (unsigned long long)(blk + i), e->src->path);
		memset(buf + i * bs, 0, bs);
	}
	return 0;
}

/* Reads one segment into its slot and classifies its blocks. */
static errcode_t fill_seg(struct engine *e, struct slot *s, struct seg *g)
{
	size_t bs = e->sink->blocksize;
	char *buf = s->buf + g->at * bs;
	unsigned char *kind = s->kind + g->at;
	uint64_t i;
	errcode_t err;

	g->mapped = NULL;
	if (source_is_hole(e->src, g->blk, g->n)) {
		/* Nothing to read: zeros, which a sparse output leaves as holes. */
		memset(buf, 0, g->n * bs);
		for (i = 0; i < g->n; i++)
			if (kind[i] != B_GAP)
				kind[i] = B_ZERO;
		return 0;
	}
	if (!g->bridged && !e->o->aliased && g->n * bs >= MAP_MIN_BYTES)
		g->mapped = source_mapped(e->src, g->blk, g->n);
	if (g->mapped) {
		buf = (char *)g->mapped; /* only read below: no gap blocks */
	} else if (source_try_read(e->src, g->blk, g->n, buf)) {
		err = read_each(e, g->blk, g->n, buf, kind);
		if (err)
			return err;
	}
	for (i = 0; i < g->n; i++) {
		if (kind[i] == B_GAP)
			memset(buf + i * bs, 0, bs);
		else if (e->sink->holes_read_zero && is_zero(buf + i * bs, bs))
			kind[i] = B_ZERO;
	}
	return 0;
}

static struct slot *take_free_slot(struct engine *e)
{
	struct slot *s;

	pthread_mutex_lock(&e->lock);
	while (e->count == NSLOTS && !e->writer_failed)
		pthread_cond_wait(&e->emptied, &e->lock);
	s = e->writer_failed ? NULL : &e->slots[(e->head + e->count) % NSLOTS];
	pthread_mutex_unlock(&e->lock);
	if (s) {
		s->nsegs = 0;
		s->used = 0;
		s->captured = 0;
	}
	return s;
}

/* Reads the packed slot and hands it to the writer. */
static errcode_t ship(struct engine *e)
{
	struct slot *s = e->cur;
	errcode_t err;
	size_t i;

	e->cur = NULL;
	if (!s || !s->nsegs)
		return 0;
	readahead(e);
	for (i = 0; i < s->nsegs; i++)
		if ((err = fill_seg(e, s, &s->segs[i])))
			return err;
	e->read_done += s->used;
	pthread_mutex_lock(&e->lock);
	e->count++;
	pthread_cond_signal(&e->filled);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* True when [start, end) holds a block of m's runs. */
static int touches(const struct blockmap *m, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = m ? m->nruns : 0;

	while (lo < hi) { /* first run that ends after start */
		size_t mid = lo + (hi - lo) / 2;

		if (m->runs[mid].start + m->runs[mid].len <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return m && lo < m->nruns && m->runs[lo].start < end;
}

/* How many gap blocks join blk to the slot's last segment, or -1. */
static int64_t join_gap(const struct engine *e, const struct slot *s,
			uint64_t blk)
{
	const struct seg *last = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
	uint64_t end = last ? last->blk + last->n : 0;

	if (!last || blk < end || blk - end > e->bridge ||
	    (blk > end && touches(e->o->keep_out, end, blk)))
		return -1;
	return (int64_t)(blk - end);
}

/* Adds blocks [blk, blk + n) to the slot being packed (n <= chunk). */
static errcode_t pack(struct engine *e, uint64_t blk, uint64_t n)
{
	struct slot *s = e->cur;
	int64_t gap;
	errcode_t err;

	if (s) {
		gap = join_gap(e, s, blk);
		if (s->used + (gap > 0 ? (uint64_t)gap : 0) + n > e->chunk_blocks ||
		    (gap < 0 && s->nsegs == MAX_SEGS)) {
			if ((err = ship(e)))
				return err;
			s = NULL;
		}
	}
	if (!s && !(s = e->cur = take_free_slot(e)))
		return ECANCELED;
	gap = join_gap(e, s, blk);
	if (gap >= 0) {
		memset(s->kind + s->used, B_GAP, (size_t)gap);
		s->used += (uint64_t)gap;
		s->segs[s->nsegs - 1].n += (uint64_t)gap + n;
		s->segs[s->nsegs - 1].bridged |= gap > 0;
	} else {
		struct seg *g = &s->segs[s->nsegs++];

		g->blk = blk;
		g->n = n;
		g->at = s->used;
		g->bridged = 0;
	}
	memset(s->kind + s->used, B_DATA, n);
	s->used += n;
	s->captured += n;
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
			/* In a move to the right, the end of a run goes first;
			 * one chunk a slot, so the order is exact. */
			if (e->o->reverse) {
				err = pack(e, r->start + r->len - done - n, n);
				if (!err)
					err = ship(e);
			} else {
				err = pack(e, r->start + done, n);
			}
			done += n;
		}
	}
	if (!err)
		err = ship(e);
	pthread_mutex_lock(&e->lock);
	e->reader_err = err;
	e->reader_done = 1;
	pthread_cond_signal(&e->filled);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* Writes one segment: every block where the output keeps nothing but what
 * we write; otherwise the data blocks, in stretches that bridge short runs
 * of zero and gap blocks. */
static errcode_t emit_seg(struct engine *e, const struct slot *s,
			  const struct seg *g)
{
	struct sink *k = e->sink;
	size_t bs = k->blocksize;
	const unsigned char *kind = s->kind + g->at;
	const char *buf = g->mapped ? g->mapped : s->buf + g->at * bs;
	uint64_t i = 0, start, end, skip;
	errcode_t err;

	if (!k->holes_read_zero)
		return k->ops->write(k, g->blk, g->n, buf);
	while (i < g->n) {
		while (i < g->n && kind[i] != B_DATA)
			i++;
		if (i == g->n)
			break;
		start = end = i;
		while (i < g->n) {
			if (kind[i] == B_DATA) {
				end = ++i;
				continue;
			}
			for (skip = i; skip < g->n && kind[skip] != B_DATA; skip++)
				;
			if (skip == g->n || !k->gaps_read_zero ||
			    skip - i > BRIDGE_BLOCKS)
				break;
			i = skip;
		}
		err = k->ops->write(k, g->blk + start, end - start, buf + start * bs);
		if (err)
			return err;
		i = end;
	}
	return 0;
}

/* Writer: the caller's thread, taking slots in the order they were read. */
static errcode_t consume(struct engine *e)
{
	uint64_t done = 0;
	errcode_t err = 0;
	size_t i;

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
			return e2i_seterr(e->err, EINTR, _("while copying blocks of %s"),
					  e->src->path);
		for (i = 0; i < s->nsegs; i++) {
			err = emit_seg(e, s, &s->segs[i]);
			if (s->segs[i].mapped)
				source_unmapped(e->src, s->segs[i].mapped, s->segs[i].n);
			if (err)
				return err;
		}
		done += s->captured;
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
		free(e->slots[i].kind);
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
	e.bridge = (sink->gaps_read_zero && !o->reverse) ? BRIDGE_BLOCKS : 0;
	for (i = 0; i < NSLOTS; i++) {
		e.slots[i].buf = malloc(e.chunk_blocks * sink->blocksize);
		e.slots[i].kind = malloc(e.chunk_blocks);
		if (!e.slots[i].buf || !e.slots[i].kind) {
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
