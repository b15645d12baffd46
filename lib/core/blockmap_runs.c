/* Reading a finished block map: its runs, in order or reversed, whether
 * they are kept as an array or as a bitmap. */
#include <errno.h>
#include <string.h>
#include "blockmap_impl.h"

void bm_recount(struct blockmap *m)
{
	uint64_t pos = 0, s, e;

	m->nruns = 0;
	m->captured = 0;
	while (bm_find(m, 1, pos, m->blocks_count, &s)) {
		if (!bm_find(m, 0, s, m->blocks_count, &e))
			e = m->blocks_count;
		m->nruns++;
		m->captured += e - s;
		pos = e;
	}
}

/* The first run of m that ends after pos and starts before end, clipped
 * to pos; *hint follows the array forwards across calls. */
static int run_from(const struct blockmap *m, uint64_t pos, uint64_t end,
		    size_t *hint, struct bm_run *r)
{
	uint64_t s, e;

	if (m->bits) {
		if (end > m->blocks_count)
			end = m->blocks_count;
		if (!bm_find(m, 1, pos, end, &s))
			return 0;
		if (!bm_find(m, 0, s, m->blocks_count, &e))
			e = m->blocks_count;
		r->start = s;
		r->len = e - s;
		return 1;
	}
	while (*hint < m->nruns &&
	       m->runs[*hint].start + m->runs[*hint].len <= pos)
		(*hint)++;
	if (*hint == m->nruns || m->runs[*hint].start >= end)
		return 0;
	*r = m->runs[*hint];
	if (r->start < pos) {
		r->len -= pos - r->start;
		r->start = pos;
	}
	return 1;
}

void blockmap_cursor(struct bm_cursor *c, const struct blockmap *m,
		     int reverse)
{
	c->m = m;
	c->reverse = reverse;
	c->i = 0;
	c->pos = reverse ? m->blocks_count : 0;
	c->window = 2 * BM_CURSOR_RUNS;
	c->nbuf = 0;
}

/*
 * Backwards over a bitmap, which libext2fs searches forwards only: the runs
 * of a window below pos are read forwards, the last BM_CURSOR_RUNS kept in
 * order in buf. A window of twice that many blocks holds no more runs, so
 * dense stretches are read once; an empty window doubles for the next try.
 */
static int refill_backward(struct bm_cursor *c)
{
	struct bm_run ring[BM_CURSOR_RUNS];

	while (!c->nbuf && c->pos > 0) {
		uint64_t lo = c->pos > c->window ? c->pos - c->window : 0;
		uint64_t at = lo, s, e;
		size_t count = 0, first;

		while (bm_find(c->m, 1, at, c->pos, &s)) {
			if (!bm_find(c->m, 0, s, c->pos, &e))
				e = c->pos;
			ring[count % BM_CURSOR_RUNS].start = s;
			ring[count % BM_CURSOR_RUNS].len = e - s;
			count++;
			at = e;
		}
		if (!count) {
			c->pos = lo;
			if (c->window <= UINT64_MAX / 2)
				c->window *= 2;
			continue;
		}
		c->window = 2 * BM_CURSOR_RUNS;
		if (count <= BM_CURSOR_RUNS) {
			memcpy(c->buf, ring, count * sizeof(*ring));
			c->nbuf = count;
			c->pos = lo;
			break;
		}
		/* The oldest run kept starts past lo: what lies below it is
		 * read again by the next window. */
		first = count % BM_CURSOR_RUNS;
		memcpy(c->buf, ring + first, (BM_CURSOR_RUNS - first) * sizeof(*ring));
		memcpy(c->buf + (BM_CURSOR_RUNS - first), ring, first * sizeof(*ring));
		c->nbuf = BM_CURSOR_RUNS;
		c->pos = c->buf[0].start;
	}
	return c->nbuf != 0;
}

int blockmap_next(struct bm_cursor *c, struct bm_run *r)
{
	const struct blockmap *m = c->m;
	size_t hint = 0;

	if (!m->bits) {
		if (c->i >= m->nruns)
			return 0;
		*r = m->runs[c->reverse ? m->nruns - 1 - c->i : c->i];
		c->i++;
		return 1;
	}
	if (c->reverse) {
		if (!refill_backward(c))
			return 0;
		*r = c->buf[--c->nbuf];
		return 1;
	}
	if (!run_from(m, c->pos, m->blocks_count, &hint, r))
		return 0;
	c->pos = r->start + r->len;
	return 1;
}
