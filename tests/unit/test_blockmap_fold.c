/*
 * Unit tests of the block map's memory bound: folding the pending list into
 * the run set, the bitmap it turns into, classes across folds, cursors and
 * the footprint itself. Each map is checked
 * against a plain per-block model built from the same extents.
 */
#include <stdlib.h>
#include <string.h>
#include "blockmap.h"
#include "tap.h"

#define SPAN 20000 /* blocks the model covers */
#define NONE 0xff

struct model {
	unsigned char owner[SPAN]; /* class of the first extent added, or NONE */
};

struct ext {
	uint64_t start, len;
	unsigned c;
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Overlapping extents of mixed lengths and classes, many repeats. */
static struct ext *make_extents(size_t n, uint32_t seed)
{
	struct ext *v = malloc(n * sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 10 && rnd(&seed) % 3 == 0) {
			v[i] = v[rnd(&seed) % i]; /* a repeat, maybe of another class */
			v[i].c = rnd(&seed) % BC_COUNT;
			continue;
		}
		v[i].start = rnd(&seed) % (SPAN - 64);
		v[i].len = rnd(&seed) % 4 ? 1 : 1 + rnd(&seed) % 60;
		v[i].c = rnd(&seed) % BC_COUNT;
	}
	return v;
}

static void model_add(struct model *md, const struct ext *e)
{
	uint64_t b;

	for (b = e->start; b < e->start + e->len; b++)
		if (md->owner[b] == NONE)
			md->owner[b] = (unsigned char)e->c;
}

static int same_classes(const struct blockmap *m, const struct model *md)
{
	uint64_t want[BC_COUNT] = { 0 };
	size_t b;
	int c;

	for (b = 0; b < SPAN; b++)
		if (md->owner[b] != NONE)
			want[md->owner[b]]++;
	for (c = 0; c < BC_COUNT; c++)
		if (want[c] != m->per_class[c])
			return 0;
	return 1;
}

/* The runs a cursor reads, forwards, equal the model's maximal runs. */
static int same_runs(const struct blockmap *m, const struct model *md)
{
	struct bm_cursor c;
	struct bm_run r;
	size_t b = 0, n = 0;
	uint64_t captured = 0;

	blockmap_cursor(&c, m, 0);
	while (blockmap_next(&c, &r)) {
		while (b < SPAN && md->owner[b] == NONE)
			b++;
		if (r.start != b || r.start + r.len > SPAN)
			return 0;
		for (; b < r.start + r.len; b++)
			if (md->owner[b] == NONE)
				return 0;
		if (b < SPAN && md->owner[b] != NONE)
			return 0; /* not maximal */
		captured += r.len;
		n++;
	}
	while (b < SPAN && md->owner[b] == NONE)
		b++;
	return b == SPAN && n == m->nruns && captured == m->captured;
}

/* Backwards, the pieces come in decreasing order and cover the same
 * blocks as the runs read forwards. */
static int reverse_matches(const struct blockmap *m, const struct model *md)
{
	struct bm_cursor c;
	struct bm_run r;
	uint64_t below = UINT64_MAX, covered = 0, b;

	blockmap_cursor(&c, m, 1);
	while (blockmap_next(&c, &r)) {
		if (!r.len || r.start + r.len > below)
			return 0;
		for (b = r.start; b < r.start + r.len; b++)
			if (b >= SPAN || md->owner[b] == NONE)
				return 0;
		covered += r.len;
		below = r.start;
	}
	return covered == m->captured;
}

static void run_case(struct blockmap *m, struct model *md, const struct ext *v,
		     size_t n)
{
	size_t i;

	memset(md, 0, sizeof(*md));
	memset(md->owner, NONE, sizeof(md->owner));
	for (i = 0; i < n; i++) {
		blockmap_add(m, v[i].start, v[i].len, v[i].c);
		model_add(md, &v[i]);
	}
	blockmap_finish(m);
}

static void test_fold(struct tap *t)
{
	static struct model md;
	struct ext *v = make_extents(30000, 7);
	struct blockmap m;

	/* A huge filesystem: a bitmap would cost 512 MiB, so runs it is. */
	blockmap_init(&m, (uint64_t)1 << 32, 0, 0);
	m.budget = 64 * sizeof(struct bm_extent);
	run_case(&m, &md, v, 30000);
	TAP_CHECK(t, m.bits == NULL, "fold: a map far below a bitmap's cost keeps runs");
	TAP_CHECK(t, same_runs(&m, &md), "fold: runs after many folds are the union of every extent");
	TAP_CHECK(t, same_classes(&m, &md), "fold: each block counted once, for the first class added");
	TAP_CHECK(t, reverse_matches(&m, &md), "fold: a reverse cursor reads the runs last first");
	blockmap_free(&m);
	free(v);
}

static void test_bitmap(struct tap *t)
{
	static struct model md;
	struct ext *v = make_extents(30000, 11);
	struct blockmap m;

	/* Runs past the budget and a quarter of the bitmap: a bitmap. */
	blockmap_init(&m, SPAN, 0, 0);
	m.budget = 64 * sizeof(struct bm_extent);
	run_case(&m, &md, v, 30000);
	TAP_CHECK(t, m.bits != NULL && m.runs == NULL, "bitmap: too many runs turn the map into a bitmap");
	TAP_CHECK(t, same_runs(&m, &md), "bitmap: a cursor reads the same maximal runs");
	TAP_CHECK(t, same_classes(&m, &md), "bitmap: class counts survive the switch");
	TAP_CHECK(t, reverse_matches(&m, &md), "bitmap: a reverse cursor reads every block, last first");
	blockmap_free(&m);
	free(v);
}

/* The same extents give the same classes whatever the budget and mode. */
static void test_classes(struct tap *t)
{
	static const struct ext seq[] = {
		{ 10, 10, BC_DIRECTORY }, /* first: owns [10, 20) */
		{ 5, 10, BC_EXTENT },     /* starts earlier, added later: [5, 10) */
		{ 30, 1, BC_DATA },
		{ 25, 10, BC_XATTR },     /* all but block 30 */
		{ 10, 20, BC_JOURNAL },   /* [20, 25) only */
	};
	static const uint64_t budgets[] = { 1, 2, 3, 1 << 20 };
	uint64_t want[BC_COUNT] = { 0 };
	int i, k, ok = 1;

	want[BC_DIRECTORY] = 10;
	want[BC_EXTENT] = 5;
	want[BC_DATA] = 1;
	want[BC_XATTR] = 9;
	want[BC_JOURNAL] = 5;
	for (k = 0; k < 5; k++) {
		struct blockmap m;

		/* k < 4: runs, with a fold every budgets[k] extents; k = 4: a
		 * bitmap from the first fold on (a small filesystem). */
		blockmap_init(&m, k < 4 ? (uint64_t)1 << 40 : 1000, 0, 0);
		m.budget = (k < 4 ? budgets[k] : 1) * sizeof(struct bm_extent);
		for (i = 0; i < 5; i++)
			blockmap_add(&m, seq[i].start, seq[i].len, seq[i].c);
		blockmap_finish(&m);
		ok &= memcmp(m.per_class, want, sizeof(want)) == 0;
		ok &= m.captured == 30 && (k < 4) == (m.bits == NULL);
		blockmap_free(&m);
	}
	TAP_CHECK(t, ok, "classes: the first extent added wins, with or without folds, runs or bitmap");
}

/* Backwards over a bitmap: a long empty stretch (the window grows), then
 * more runs than the cursor keeps from one window. */
static void test_reverse_sparse(struct tap *t)
{
	struct blockmap m;
	struct bm_cursor c;
	struct bm_run r;
	uint64_t below = UINT64_MAX, covered = 0, b;
	int ok = 1;

	blockmap_init(&m, 100000, 0, 0);
	m.budget = 4 * sizeof(struct bm_extent);
	for (b = 0; b < 3000; b += 2)
		blockmap_add(&m, b, 1, BC_DIRECTORY);
	blockmap_add(&m, 50000, 700, BC_DATA);
	blockmap_add(&m, 99990, 10, BC_DATA);
	blockmap_finish(&m);
	blockmap_cursor(&c, &m, 1);
	while (blockmap_next(&c, &r)) {
		ok &= r.len && r.start + r.len <= below;
		for (b = r.start; b < r.start + r.len; b++)
			ok &= b < 3000 ? b % 2 == 0 :
			      (b >= 50000 && b < 50700) || b >= 99990;
		covered += r.len;
		below = r.start;
	}
	TAP_CHECK(t, m.bits != NULL && ok && covered == 1500 + 700 + 10 &&
		  m.nruns == 1502, "reverse: empty stretches and dense windows read whole, last first");
	blockmap_free(&m);
}

/*
 * The crafted case of issue 15 in small: the same scattered one-block
 * extents named over and over. The footprint stays within about a bit per
 * block plus the budget; without folding the list would grow with the
 * repeats (16 bytes each, 64 MiB here).
 */
static void test_bound(struct tap *t)
{
	const size_t budget = 64 << 10, repeats = 4000000;
	struct blockmap m;
	size_t i, bitmap;

	blockmap_init(&m, 1 << 20, 0, 0);
	m.budget = budget;
	for (i = 0; i < repeats; i++)
		blockmap_add(&m, (i % 100000) * 7919 % (1 << 19) * 2, 1, BC_DIRECTORY);
	blockmap_finish(&m);
	bitmap = (1 << 20) / 8;
	TAP_CHECK(t, m.captured == 100000 && m.per_class[BC_DIRECTORY] == 100000,
		  "bound: 4 million marks of 100000 blocks capture 100000");
	TAP_CHECK(t, m.peak_bytes <= bitmap * 5 / 4 + 3 * budget,
		  "bound: the peak stays within a bitmap and the budget");
	blockmap_free(&m);

	/* A 4 PiB filesystem (2^40 blocks) with few runs: never a bitmap. */
	blockmap_init(&m, (uint64_t)1 << 40, 0, 0);
	m.budget = budget;
	for (i = 0; i < repeats; i++)
		blockmap_add(&m, (uint64_t)(i % 1000) * 1000003, 1, BC_EXTENT);
	blockmap_finish(&m);
	TAP_CHECK(t, m.bits == NULL && m.nruns == 1000 && m.captured == 1000,
		  "bound: a huge filesystem with few runs keeps runs");
	TAP_CHECK(t, m.peak_bytes <= 3 * budget,
		  "bound: its peak is the budget, not the repeats");
	blockmap_free(&m);
}

int main(void)
{
	struct tap t = { 0, 0 };

	test_fold(&t);
	test_bitmap(&t);
	test_classes(&t);
	test_reverse_sparse(&t);
	test_bound(&t);
	return tap_done(&t);
}
