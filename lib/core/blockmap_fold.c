/*
 * Folding the pending list into the run set: sort, count each block once
 * for the class of the first extent added that covers it, merge.
 */
#include <errno.h>
#include <stdlib.h>
#include "blockmap_impl.h"

static int cmp_ext(const void *a, const void *b)
{
	const struct bm_extent *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t ext_end(const struct bm_extent *e)
{
	return e->start + e->len;
}

/* A min-heap of pending extents (their indexes), earliest added on top. */
struct heap {
	uint32_t *v;
	size_t n;
	const struct bm_extent *ext;
};

static int before(const struct heap *h, size_t a, size_t b)
{
	return h->ext[h->v[a]].seq < h->ext[h->v[b]].seq;
}

static void swap(struct heap *h, size_t a, size_t b)
{
	uint32_t t = h->v[a];

	h->v[a] = h->v[b];
	h->v[b] = t;
}

static void heap_push(struct heap *h, uint32_t i)
{
	size_t k = h->n++;

	h->v[k] = i;
	while (k && before(h, k, (k - 1) / 2)) {
		swap(h, k, (k - 1) / 2);
		k = (k - 1) / 2;
	}
}

static void heap_pop(struct heap *h)
{
	size_t k = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, s = k;

		if (l < h->n && before(h, l, s))
			s = l;
		if (r < h->n && before(h, r, s))
			s = r;
		if (s == k)
			break;
		swap(h, k, s);
		k = s;
	}
}

/* Blocks of [s, e) not in the run set. Calls come in increasing order of
 * s, so *ri only moves forward. */
static uint64_t uncovered(const struct blockmap *m, size_t *ri, uint64_t s,
			  uint64_t e)
{
	uint64_t n = e - s;
	size_t k;

	while (*ri < m->nruns && m->runs[*ri].start + m->runs[*ri].len <= s)
		(*ri)++;
	for (k = *ri; k < m->nruns && m->runs[k].start < e; k++) {
		uint64_t a = m->runs[k].start > s ? m->runs[k].start : s;
		uint64_t b = m->runs[k].start + m->runs[k].len;

		n -= (b < e ? b : e) - a;
	}
	return n;
}

/*
 * A sweep over the sorted pending list: between two consecutive starts or
 * ends, the blocks belong to the earliest added extent still open; those
 * the run set holds were counted by an earlier fold.
 */
static int count_classes(struct blockmap *m)
{
	struct heap h = { NULL, 0, m->ext };
	size_t i = 0, ri = 0;
	uint64_t pos = 0;

	h.v = bm_alloc(m, m->n * sizeof(*h.v));
	if (!h.v)
		return ENOMEM;
	while (i < m->n || h.n) {
		const struct bm_extent *top;
		uint64_t next;

		if (!h.n && pos < m->ext[i].start)
			pos = m->ext[i].start;
		while (i < m->n && m->ext[i].start <= pos)
			heap_push(&h, (uint32_t)i++);
		while (h.n && ext_end(&m->ext[h.v[0]]) <= pos)
			heap_pop(&h);
		if (!h.n)
			continue;
		top = &m->ext[h.v[0]];
		next = ext_end(top);
		if (i < m->n && m->ext[i].start < next)
			next = m->ext[i].start;
		m->per_class[top->class] += uncovered(m, &ri, pos, next);
		pos = next;
	}
	bm_release(m, h.v, m->n * sizeof(*h.v));
	return 0;
}

/* Merges the run set and the sorted pending list into out, or only counts
 * the runs that makes when out is NULL. */
static size_t merge(const struct blockmap *m, struct bm_run *out)
{
	size_t i = 0, j = 0, n = 0;
	uint64_t s = 0, e = 0;

	while (i < m->nruns || j < m->n) {
		uint64_t ns, ne;

		if (j == m->n || (i < m->nruns && m->runs[i].start <= m->ext[j].start)) {
			ns = m->runs[i].start;
			ne = ns + m->runs[i++].len;
		} else {
			ns = m->ext[j].start;
			ne = ext_end(&m->ext[j++]);
		}
		if (n && ns <= e) {
			if (ne > e)
				e = ne;
			continue;
		}
		if (n && out) {
			out[n - 1].start = s;
			out[n - 1].len = e - s;
		}
		s = ns;
		e = ne;
		n++;
	}
	if (n && out) {
		out[n - 1].start = s;
		out[n - 1].len = e - s;
	}
	return n;
}

int bm_fold(struct blockmap *m, int finishing)
{
	size_t bitmap = bm_bitmap_bytes(m), runs_bytes, nruns;
	struct bm_run *out;
	int err;

	if (!m->n)
		return 0;
	qsort(m->ext, m->n, sizeof(*m->ext), cmp_ext);
	if ((err = count_classes(m)))
		return err;
	nruns = merge(m, NULL);
	runs_bytes = nruns * sizeof(*out);
	/* Past a quarter of a bitmap (and the budget), the runs cost more
	 * than they save. While the capture goes on, a bitmap within the
	 * budget beats sorting the next repeats again. */
	if ((runs_bytes > m->budget && runs_bytes > bitmap / 4) ||
	    (!finishing && bitmap <= m->budget))
		return bm_to_bitmap(m);
	out = bm_alloc(m, runs_bytes);
	if (!out)
		return ENOMEM;
	merge(m, out);
	bm_release(m, m->runs, m->nruns * sizeof(*m->runs));
	m->runs = out;
	m->nruns = nruns;
	m->n = 0;
	return 0;
}
