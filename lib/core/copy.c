/*
 * The copy runs on the caller's thread: a buffer is packed with segments
 * (runs of the block map, until it is full), read, then handed to the sink.
 * Thousands of one-block directory runs cost a few hand-offs, not one
 * each. Where the output reads zeros between captured blocks anyway (a new
 * file, a stream), runs a few blocks apart share a segment: one pread and
 * one write cover both, the blocks between them written as zeros.
 *
 * One thread does both the reads and the writes, so a stop signal
 * interrupts whichever of them is blocked (a hung source, a stalled pipe),
 * and a loaded or one-core machine pays no hand-offs between threads; the
 * kernel's readahead keeps the disk busy meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include "copy.h"
#include "digest_async.h"
#include "nls.h"

/* The one buffer: small enough to stay in the CPU's cache between the
 * read that fills it and the write that empties it (4 MiB measured 30%
 * slower than 256 KiB on a warm copy), large enough that a syscall moves
 * many blocks. */
#define CHUNK_BYTES (256u << 10)
#define MAX_SEGS 256
#define READAHEAD_BYTES (64u << 20)
/* Largest gap between captured blocks that one segment of a stream bridges
 * (the stream writes zeros there anyway). */
#define BRIDGE_BLOCKS 16
/* Readahead requests for ranges this close together are merged. */
#define READAHEAD_GAP_BLOCKS 8
/* Runs probed to tell a cold cache from a warm one. */
#define CACHE_PROBES 64

enum { B_DATA, B_ZERO, B_GAP };

struct seg {
	uint64_t blk, n;   /* filesystem blocks, gaps included */
	uint64_t at;       /* first block's index in the slot buffer */
	int bridged;       /* holds gap blocks */
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
	int cold;              /* readahead pays: the runs are not cached */
	struct digest_async *da; /* the digest thread, or NULL */
	struct slot slot;      /* the one buffer, packed, read, written */
	uint64_t done;         /* captured blocks written */
	struct bm_cursor ra;   /* runs not yet requested */
	struct bm_run ra_left; /* what is left of the current one */
	uint64_t ra_issued, read_done;
	struct copy_seg jsegs[MAX_SEGS]; /* the slot's pieces, for a journal */
};

/* Keeps about READAHEAD_BYTES of upcoming runs requested from the kernel,
 * nearby runs in one request. */
static void readahead(struct engine *e)
{
	uint64_t window = READAHEAD_BYTES / e->sink->blocksize;
	uint64_t start = 0, end = 0;

	if (e->o->reverse || !e->cold)
		return; /* the kernel's own readahead does not help backwards */
	while (e->ra_issued < e->read_done + window) {
		struct bm_run *r = &e->ra_left;
		uint64_t n;

		if (!r->len && !blockmap_next(&e->ra, r))
			break;
		n = r->len < window ? r->len : window;
		if (end && r->start > end + READAHEAD_GAP_BLOCKS) {
			source_willneed(e->src, start, end - start);
			end = 0;
		}
		if (!end)
			start = r->start;
		end = r->start + n;
		e->ra_issued += n;
		r->start += n;
		r->len -= n;
	}
	if (end)
		source_willneed(e->src, start, end - start);
}

/* Reads one segment into its slot and classifies its blocks. */
static errcode_t fill_seg(struct engine *e, struct slot *s, struct seg *g)
{
	size_t bs = e->sink->blocksize;
	char *buf = s->buf + g->at * bs;
	unsigned char *kind = s->kind + g->at;
	uint64_t i, n = g->n;
	errcode_t err;

	/* Blocks past the end of the source (the plan has reported them)
	 * read as zeros, like holes: only what comes before them is read. */
	if (g->blk + n > e->src->end_blk)
		n = g->blk < e->src->end_blk ? e->src->end_blk - g->blk : 0;
	if (n < g->n || source_is_hole(e->src, g->blk, n)) {
		if (n == g->n)
			n = 0;
		memset(buf + n * bs, 0, (g->n - n) * bs);
		for (i = n; i < g->n; i++)
			if (kind[i] != B_GAP)
				kind[i] = B_ZERO;
	}
	if (n && (err = source_try_read(e->src, g->blk, n, buf))) {
		if (err == EINTR && stopped(e->o->stop))
			return e2i_seterr(e->err, err, _("while reading %s"),
					  e->src->path);
		err = source_salvage(e->src, g->blk, n, buf, kind, B_GAP,
				     e->o->warn, e->err);
		if (err)
			return err;
	}
	for (i = 0; i < n; i++) {
		if (kind[i] == B_GAP)
			memset(buf + i * bs, 0, bs);
		else if (e->sink->holes_read_zero && is_zero(buf + i * bs, bs))
			kind[i] = B_ZERO;
	}
	return 0;
}

/* Writes one segment: every block where the output keeps nothing but what
 * we write; otherwise each stretch of data blocks, leaving the rest as
 * holes (bridging them with zeros saved nothing measurable and made the
 * image take twice e2fsprogs' space). */
static errcode_t emit_seg(struct engine *e, const struct slot *s,
			  const struct seg *g)
{
	struct sink *k = e->sink;
	size_t bs = k->blocksize;
	const unsigned char *kind = s->kind + g->at;
	const char *buf = s->buf + g->at * bs;
	uint64_t i = 0, start;
	errcode_t err;

	if (!k->holes_read_zero)
		return k->ops->write(k, g->blk, g->n, buf);
	while (i < g->n) {
		while (i < g->n && kind[i] != B_DATA)
			i++;
		for (start = i; i < g->n && kind[i] == B_DATA; i++)
			;
		if (i > start &&
		    (err = k->ops->write(k, g->blk + start, i - start,
					 buf + start * bs)))
			return err;
	}
	return 0;
}

/* The slot's pieces for a move's journal (a move bridges no gaps: every
 * block of a piece is captured, and the pieces lie one after the other in
 * the buffer). */
static errcode_t journal_hook(struct engine *e, struct slot *s, int before)
{
	struct copy_journal *j = e->o->journal;
	size_t i;

	if (!before)  /* the pieces were listed before the write */
		return j->after_write(j, e->jsegs, s->nsegs);
	for (i = 0; i < s->nsegs; i++)
		e->jsegs[i] = (struct copy_seg){ s->segs[i].blk, s->segs[i].n };
	return j->before_write(j, e->jsegs, s->nsegs, s->buf);
}

/* The digest takes what the output gets: where holes read as zeros,
 * only the data blocks (a block read as zeros stays a hole even when -s
 * rewrote its buffer, as a zeroed directory block is); elsewhere every
 * block as written. */
static void digest_seg(struct engine *e, const struct slot *s, const struct seg *g)
{
	size_t bs = e->sink->blocksize;
	const unsigned char *kind = s->kind + g->at;
	const char *buf = s->buf + g->at * bs;
	uint64_t i = 0, start = 0, n = g->n;

	while (i < g->n) {
		if (e->sink->holes_read_zero) {
			while (i < g->n && kind[i] != B_DATA)
				i++;
			for (start = i; i < g->n && kind[i] == B_DATA; i++)
				;
			n = i - start;
		} else {
			i = g->n;
		}
		if (!n)
			continue;
		if (e->da)
			digest_async_blocks(e->da, g->blk + start, n, buf + start * bs);
		else
			digest_blocks(e->o->digest, g->blk + start, n, buf + start * bs);
	}
}

/* Reads the packed slot, writes it, and empties it. */
static errcode_t flush(struct engine *e)
{
	struct slot *s = &e->slot;
	errcode_t err = 0;
	size_t i;

	if (!s->nsegs)
		return 0;
	if (stopped(e->o->stop))
		return e2i_seterr(e->err, EINTR, _("while copying blocks of %s"),
				  e->src->path);
	readahead(e);
	for (i = 0; !err && i < s->nsegs; i++)
		err = fill_seg(e, s, &s->segs[i]);
	e->read_done += s->used;
	for (i = 0; !err && e->o->transform && i < s->nsegs; i++) {
		struct seg *g = &s->segs[i];
		size_t bs = e->sink->blocksize;
		uint64_t b;

		e->o->transform(e->o->transform_arg, g->blk, g->n, s->buf + g->at * bs);
		/* a block the transform zeroed is a hole like any zero block */
		for (b = 0; e->sink->holes_read_zero && b < g->n; b++)
			if (s->kind[g->at + b] == B_DATA &&
			    is_zero(s->buf + (g->at + b) * bs, bs))
				s->kind[g->at + b] = B_ZERO;
	}
	for (i = 0; !err && e->o->digest && i < s->nsegs; i++)
		digest_seg(e, s, &s->segs[i]);
	if (!err && e->o->journal)
		err = journal_hook(e, s, 1);
	for (i = 0; !err && i < s->nsegs; i++)
		err = emit_seg(e, s, &s->segs[i]);
	if (!err && e->o->journal)
		err = journal_hook(e, s, 0);
	if (err)
		return err;
	e->done += s->captured;
	if (e->o->progress)
		e->o->progress(e->o->progress_arg, e->done);
	s->nsegs = 0;
	s->used = 0;
	s->captured = 0;
	return 0;
}

/* How many gap blocks join blk to the slot's last segment, or -1. */
static int64_t join_gap(const struct engine *e, const struct slot *s,
			uint64_t blk)
{
	const struct seg *last = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
	uint64_t end = last ? last->blk + last->n : 0;

	if (!last || blk < end || blk - end > e->bridge)
		return -1;
	return (int64_t)(blk - end);
}

/* Adds blocks [blk, blk + n) to the slot being packed (n <= chunk). */
static errcode_t pack(struct engine *e, uint64_t blk, uint64_t n)
{
	struct slot *s = &e->slot;
	int64_t gap = join_gap(e, s, blk);
	errcode_t err;

	if (s->nsegs &&
	    (s->used + (gap > 0 ? (uint64_t)gap : 0) + n > e->chunk_blocks ||
	     (gap < 0 && s->nsegs == MAX_SEGS))) {
		if ((err = flush(e)))
			return err;
		gap = -1;
	}
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

/* Every run, in disk order (from the end in a move to a higher offset). */
static errcode_t walk(struct engine *e)
{
	struct bm_cursor runs;
	struct bm_run r;
	errcode_t err = 0;
	uint64_t skip = e->o->skip;

	blockmap_cursor(&runs, e->m, e->o->reverse);
	while (!err && blockmap_next(&runs, &r)) {
		uint64_t done = 0;

		/* A resumed move: what was done before is passed over. */
		if (skip >= r.len) {
			skip -= r.len;
			e->done += r.len;
			continue;
		}
		if (skip) {
			if (e->o->reverse)
				r.len -= skip;
			else
				r.start += skip, r.len -= skip;
			e->done += skip;
			skip = 0;
		}

		while (!err && done < r.len) {
			uint64_t n = r.len - done;

			if (n > e->chunk_blocks)
				n = e->chunk_blocks;
			/* In a move to the right, the end of a run goes first,
			 * one chunk at a time, so the order is exact. */
			if (e->o->reverse) {
				err = pack(e, r.start + r.len - done - n, n);
				if (!err)
					err = flush(e);
			} else {
				err = pack(e, r.start + done, n);
			}
			done += n;
		}
	}
	return err ? err : flush(e);
}

/*
 * Readahead pays on a cold cache only: on a warm one each request is a
 * system call that finds every page there already. Decided once, from the
 * first block of a sample of the runs (read only if cached).
 */
static int runs_cold(struct engine *e)
{
	size_t stride = e->m->nruns / CACHE_PROBES + 1, i = 0;
	unsigned probed = 0, cached = 0;
	struct bm_cursor c;
	struct bm_run r;
	int k;

	if (e->o->reverse)
		return 0;
	blockmap_cursor(&c, e->m, 0);
	while (blockmap_next(&c, &r)) {
		if (i++ % stride || r.start >= e->src->end_blk)
			continue;
		k = source_cached(e->src, r.start, e->slot.buf);
		if (k < 0)
			return 1; /* cannot tell: ask anyway */
		probed++;
		cached += k;
	}
	return cached * 10 < probed * 9;
}

errcode_t copy_runs(const struct blockmap *m, struct source *src,
		    struct sink *sink, const struct copy_opts *o,
		    struct e2i_error *err)
{
	struct engine e;
	errcode_t ret;

	memset(&e, 0, sizeof(e));
	e.m = m;
	e.src = src;
	e.sink = sink;
	e.o = o;
	e.err = err;
	e.chunk_blocks = CHUNK_BYTES / sink->blocksize;
	if (e.chunk_blocks == 0)
		e.chunk_blocks = 1;
	e.bridge = (sink->gaps_read_zero && !sink->holes_read_zero &&
		    !o->reverse) ? BRIDGE_BLOCKS : 0;
	blockmap_cursor(&e.ra, m, 0);
	e.slot.buf = malloc(e.chunk_blocks * sink->blocksize);
	e.slot.kind = malloc(e.chunk_blocks);
	if (!e.slot.buf || !e.slot.kind) {
		ret = e2i_seterr(err, ENOMEM, _("while allocating the copy buffers"));
	} else {
		e.cold = runs_cold(&e);
		if (o->digest && o->digest_thread)
			e.da = digest_async_start(o->digest);
		ret = walk(&e);
		digest_async_finish(e.da);
	}
	free(e.slot.buf);
	free(e.slot.kind);
	return ret;
}
