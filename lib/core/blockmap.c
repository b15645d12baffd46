#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blockmap.h"

void blockmap_init(struct blockmap *m, uint64_t blocks_count,
		   uint64_t first_data_block, unsigned cluster_bits)
{
	memset(m, 0, sizeof(*m));
	m->blocks_count = blocks_count;
	m->first_data_block = first_data_block;
	m->cluster_bits = cluster_bits;
}

static int push(struct blockmap *m, uint64_t start, uint32_t len, uint8_t c)
{
	struct bm_extent *last = m->n ? &m->ext[m->n - 1] : NULL;

	/* Consecutive blocks of one file arrive in order: keep them as one. */
	if (last && last->class == c && last->start + last->len == start &&
	    (uint64_t)last->len + len <= UINT32_MAX) {
		last->len += len;
		return 0;
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 4096;
		struct bm_extent *p = realloc(m->ext, ncap * sizeof(*p));

		if (!p)
			return ENOMEM;
		m->ext = p;
		m->cap = ncap;
	}
	m->ext[m->n].start = start;
	m->ext[m->n].len = len;
	m->ext[m->n].class = c;
	m->n++;
	return 0;
}

int blockmap_add(struct blockmap *m, uint64_t start, uint64_t len,
		 enum block_class c)
{
	uint64_t end, mask;

	m->marks += len;
	if (len == 0)
		return 0;
	/* Overflow-safe range check: start and len come from disk. */
	if (start >= m->blocks_count) {
		m->out_of_range += len;
		return 0;
	}
	if (len > m->blocks_count - start) {
		m->out_of_range += len - (m->blocks_count - start);
		len = m->blocks_count - start;
	}
	end = start + len;
	/* A bitmap of clusters marks the whole cluster, as e2fsprogs does. */
	mask = ((uint64_t)1 << m->cluster_bits) - 1;
	start &= ~mask;
	end = (end + mask) & ~mask;
	if (end > m->blocks_count)
		end = m->blocks_count;
	/* Blocks before the first data block are never copied. */
	if (start < m->first_data_block)
		start = m->first_data_block;
	if (start >= end)
		return 0;
	if (m->on_add)
		m->on_add(m->on_add_arg, start, end - start, c);
	while (end - start > UINT32_MAX) {
		if (push(m, start, UINT32_MAX, c))
			return ENOMEM;
		start += UINT32_MAX;
	}
	return push(m, start, (uint32_t)(end - start), c);
}

static int cmp_ext(const void *a, const void *b)
{
	const struct bm_extent *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Longer first, so the first class seen at a start covers most. */
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return (int)x->class - (int)y->class;
}

int blockmap_finish(struct blockmap *m)
{
	size_t i, nr = 0;
	uint64_t cov_end = 0; /* end of what per_class has counted */

	if (m->n) /* qsort's base must not be NULL, even for 0 elements */
		qsort(m->ext, m->n, sizeof(*m->ext), cmp_ext);
	free(m->runs);
	m->runs = NULL;
	if (m->n) {
		/* Runs never outnumber extents. */
		m->runs = malloc(m->n * sizeof(*m->runs));
		if (!m->runs)
			return ENOMEM;
	}
	for (i = 0; i < m->n; i++) {
		uint64_t s = m->ext[i].start, e = s + m->ext[i].len;

		if (e > cov_end) {
			uint64_t from = s > cov_end ? s : cov_end;

			m->per_class[m->ext[i].class] += e - from;
			cov_end = e;
		}
		if (nr && s <= m->runs[nr - 1].start + m->runs[nr - 1].len) {
			struct bm_run *r = &m->runs[nr - 1];

			if (e > r->start + r->len)
				r->len = e - r->start;
		} else {
			m->runs[nr].start = s;
			m->runs[nr].len = e - s;
			nr++;
		}
	}
	m->nruns = nr;
	m->captured = 0;
	for (i = 0; i < nr; i++)
		m->captured += m->runs[i].len;
	free(m->ext);
	m->ext = NULL;
	m->n = m->cap = 0;
	return 0;
}

int blockmap_subtract(struct blockmap *m, const struct blockmap *done)
{
	struct bm_run *out;
	size_t i, j = 0, n = 0;

	if (!m->nruns || !done->nruns)
		return 0;
	out = malloc((m->nruns + done->nruns) * sizeof(*out));
	if (!out)
		return ENOMEM;
	m->captured = 0;
	for (i = 0; i < m->nruns; i++) {
		uint64_t s = m->runs[i].start, e = s + m->runs[i].len;

		while (j < done->nruns &&
		       done->runs[j].start + done->runs[j].len <= s)
			j++;
		/* Each done run that starts before e cuts [s, e). */
		for (size_t k = j; s < e && k < done->nruns &&
			     done->runs[k].start < e; k++) {
			uint64_t ds = done->runs[k].start;
			uint64_t de = ds + done->runs[k].len;

			if (ds > s) {
				out[n].start = s;
				out[n].len = ds - s;
				m->captured += ds - s;
				n++;
			}
			if (de > s)
				s = de;
		}
		if (s < e) {
			out[n].start = s;
			out[n].len = e - s;
			m->captured += e - s;
			n++;
		}
	}
	free(m->runs);
	m->runs = out;
	m->nruns = n;
	return 0;
}

void blockmap_free(struct blockmap *m)
{
	free(m->ext);
	free(m->runs);
	m->ext = NULL;
	m->runs = NULL;
	m->n = m->cap = m->nruns = 0;
}
