#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blockmap_impl.h"

/* The pending list numbers its entries in 24 bits. */
#define MAX_PENDING ((size_t)1 << 24)
#define FIRST_CAP 4096

void blockmap_init(struct blockmap *m, uint64_t blocks_count,
		   uint64_t first_data_block, unsigned cluster_bits)
{
	memset(m, 0, sizeof(*m));
	m->blocks_count = blocks_count;
	m->first_data_block = first_data_block;
	m->cluster_bits = cluster_bits;
	m->budget = BM_BUDGET;
}

static void hold(struct blockmap *m, size_t bytes)
{
	m->bytes += bytes;
	if (m->bytes > m->peak_bytes)
		m->peak_bytes = m->bytes;
}

void *bm_alloc(struct blockmap *m, size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);

	if (p)
		hold(m, bytes);
	return p;
}

void bm_release(struct blockmap *m, void *p, size_t bytes)
{
	if (!p)
		return;
	free(p);
	m->bytes -= bytes;
}

size_t bm_bitmap_bytes(const struct blockmap *m)
{
	return (size_t)(m->blocks_count / 8 + 1);
}

static void mark(ext2fs_generic_bitmap bits, uint64_t start, uint64_t len)
{
	while (len) {
		unsigned n = len > (1u << 30) ? 1u << 30 : (unsigned)len;

		ext2fs_mark_block_bitmap_range2(bits, start, n);
		start += n;
		len -= n;
	}
}

int bm_find(const struct blockmap *m, int set, uint64_t from, uint64_t end,
	    uint64_t *at)
{
	__u64 out;
	errcode_t err;

	if (from >= end)
		return 0;
	if (set)
		err = ext2fs_find_first_set_generic_bmap(m->bits, from, end - 1, &out);
	else
		err = ext2fs_find_first_zero_generic_bmap(m->bits, from, end - 1, &out);
	*at = out;
	return !err;
}

/* Marks [start, start + len), counting the blocks it adds to class c. */
static void bits_add(struct blockmap *m, uint64_t start, uint64_t len,
		     unsigned c)
{
	uint64_t end = start + len, z, o;

	while (bm_find(m, 0, start, end, &z)) {
		if (!bm_find(m, 1, z, end, &o))
			o = end;
		m->per_class[c] += o - z;
		mark(m->bits, z, o - z);
		start = o;
	}
}

int bm_to_bitmap(struct blockmap *m)
{
	size_t i;

	if (!m->blocks_count)
		return 0;
	if (ext2fs_alloc_generic_bmap(NULL, EXT2_ET_MAGIC_GENERIC_BITMAP64,
				      EXT2FS_BMAP64_BITARRAY, 0,
				      m->blocks_count - 1, m->blocks_count - 1,
				      NULL, &m->bits))
		return ENOMEM;
	hold(m, bm_bitmap_bytes(m));
	for (i = 0; i < m->nruns; i++)
		mark(m->bits, m->runs[i].start, m->runs[i].len);
	for (i = 0; i < m->n; i++)
		mark(m->bits, m->ext[i].start, m->ext[i].len);
	bm_release(m, m->runs, m->nruns * sizeof(*m->runs));
	bm_release(m, m->ext, m->cap * sizeof(*m->ext));
	m->runs = NULL;
	m->ext = NULL;
	m->nruns = m->n = m->cap = 0;
	return 0;
}

/* Half the run set, at least the budget: folds cost O(runs) each, so the
 * list grows with the runs and the folds stay few. */
static size_t pending_limit(const struct blockmap *m)
{
	size_t lim = m->budget / sizeof(struct bm_extent);

	if (lim < m->nruns / 2)
		lim = m->nruns / 2;
	if (lim > MAX_PENDING)
		lim = MAX_PENDING;
	return lim ? lim : 1;
}

static int grow(struct blockmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : FIRST_CAP, lim = pending_limit(m);
	struct bm_extent *p;

	if (ncap > lim)
		ncap = lim;
	p = realloc(m->ext, ncap * sizeof(*p));
	if (!p)
		return ENOMEM;
	/* Counted as if copied: realloc may need both for a moment. */
	hold(m, ncap * sizeof(*p));
	m->bytes -= m->cap * sizeof(*p);
	m->ext = p;
	m->cap = ncap;
	return 0;
}

static int push(struct blockmap *m, uint64_t start, uint32_t len, unsigned c)
{
	struct bm_extent *last = m->n ? &m->ext[m->n - 1] : NULL;
	int err;

	/* Consecutive blocks of one file arrive in order: keep them as one. */
	if (last && last->class == c && last->start + last->len == start &&
	    (uint64_t)last->len + len <= UINT32_MAX) {
		last->len += len;
		return 0;
	}
	if (m->n == m->cap) {
		err = m->cap >= pending_limit(m) ? bm_fold(m, 0) : grow(m);
		if (err)
			return err;
		if (m->bits) {
			bits_add(m, start, len, c);
			return 0;
		}
		if (m->n == m->cap && (err = grow(m)))
			return err;
	}
	m->ext[m->n].start = start;
	m->ext[m->n].len = len;
	m->ext[m->n].seq = m->n;
	m->ext[m->n].class = c;
	m->n++;
	return 0;
}

int blockmap_add(struct blockmap *m, uint64_t start, uint64_t len,
		 enum block_class c)
{
	uint64_t end, mask;
	int err;

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
	if (m->bits) {
		bits_add(m, start, end - start, c);
		return 0;
	}
	while (end - start > UINT32_MAX) {
		if ((err = push(m, start, UINT32_MAX, c)))
			return err;
		start += UINT32_MAX;
	}
	return push(m, start, (uint32_t)(end - start), c);
}

int blockmap_finish(struct blockmap *m)
{
	size_t i;
	int err;

	if (!m->bits && m->n && (err = bm_fold(m, 1)))
		return err;
	bm_release(m, m->ext, m->cap * sizeof(*m->ext));
	m->ext = NULL;
	m->n = m->cap = 0;
	if (m->bits) {
		bm_recount(m);
		return 0;
	}
	m->captured = 0;
	for (i = 0; i < m->nruns; i++)
		m->captured += m->runs[i].len;
	return 0;
}

void blockmap_free(struct blockmap *m)
{
	free(m->ext);
	free(m->runs);
	if (m->bits)
		ext2fs_free_generic_bmap(m->bits);
	m->ext = NULL;
	m->runs = NULL;
	m->bits = NULL;
	m->n = m->cap = m->nruns = 0;
	m->bytes = 0;
}
