/* Unit tests of the block map: merging, clamping, clusters, classes. */
#include <string.h>
#include "blockmap.h"
#include "copy.h"
#include "tap.h"

static void test_merge(struct tap *t)
{
	struct blockmap m;

	blockmap_init(&m, 1000, 0, 0);
	blockmap_add(&m, 10, 5, BC_DIRECTORY);
	blockmap_add(&m, 3, 2, BC_SUPERBLOCK);
	blockmap_add(&m, 12, 10, BC_EXTENT);   /* overlaps the first */
	blockmap_add(&m, 22, 1, BC_XATTR);     /* adjacent: same run */
	blockmap_add(&m, 100, 1, BC_DATA);
	blockmap_add(&m, 100, 1, BC_DATA);     /* repeat: copied once */
	TAP_CHECK(t, blockmap_finish(&m) == 0, "finish succeeds");
	TAP_CHECK(t, m.nruns == 3, "overlapping and adjacent extents merge into runs");
	TAP_CHECK(t, m.runs[0].start == 3 && m.runs[0].len == 2, "first run");
	TAP_CHECK(t, m.runs[1].start == 10 && m.runs[1].len == 13, "merged run covers the union");
	TAP_CHECK(t, m.runs[2].start == 100 && m.runs[2].len == 1, "repeated block copied once");
	TAP_CHECK(t, m.captured == 16, "captured counts distinct blocks");
	TAP_CHECK(t, m.per_class[BC_DIRECTORY] == 5 && m.per_class[BC_EXTENT] == 7,
		  "a block shared by two classes is counted once");
	blockmap_free(&m);
}

static void test_clamp(struct tap *t)
{
	struct blockmap m;

	blockmap_init(&m, 100, 1, 0);
	blockmap_add(&m, 0, 2, BC_SUPERBLOCK);           /* block 0 is before the fs */
	blockmap_add(&m, 98, 10, BC_DATA);               /* runs past the end */
	blockmap_add(&m, UINT64_MAX - 1, 5, BC_DATA);    /* would overflow */
	blockmap_finish(&m);
	TAP_CHECK(t, m.nruns == 2, "out-of-range parts are dropped");
	TAP_CHECK(t, m.runs[0].start == 1 && m.runs[0].len == 1, "blocks before first_data_block are not copied");
	TAP_CHECK(t, m.runs[1].start == 98 && m.runs[1].len == 2, "a run is clamped to the filesystem end");
	TAP_CHECK(t, m.out_of_range == 8 + 5, "dropped blocks are counted");
	blockmap_free(&m);
}

static void test_clusters(struct tap *t)
{
	struct blockmap m;

	blockmap_init(&m, 64, 0, 2); /* 4 blocks per cluster */
	blockmap_add(&m, 5, 1, BC_DIRECTORY);
	blockmap_add(&m, 62, 1, BC_DIRECTORY);
	blockmap_finish(&m);
	TAP_CHECK(t, m.nruns == 2 && m.runs[0].start == 4 && m.runs[0].len == 4,
		  "bigalloc: a marked block brings its whole cluster");
	TAP_CHECK(t, m.runs[1].start == 60 && m.runs[1].len == 4, "last cluster ends at the filesystem end");
	blockmap_free(&m);
}

static void test_empty(struct tap *t)
{
	struct blockmap m;

	blockmap_init(&m, 10, 0, 0);
	TAP_CHECK(t, blockmap_finish(&m) == 0 && m.nruns == 0 && m.captured == 0,
		  "an empty map has no runs");
	blockmap_free(&m);
}

static void test_zero(struct tap *t)
{
	char buf[4096 + 8];

	memset(buf, 0, sizeof(buf));
	TAP_CHECK(t, is_zero(buf + 1, 4096), "zero block detected at any alignment");
	buf[4096] = 1;
	TAP_CHECK(t, !is_zero(buf + 1, 4096), "last byte set is not zero");
	buf[4096] = 0;
	buf[1] = 1;
	TAP_CHECK(t, !is_zero(buf + 1, 4096), "first byte set is not zero");
	{
		/* 64 KiB blocks: longer than what is_zero compares with at once */
		static char big[65536 + 1];
		size_t at[] = { 17, 16383, 16384, 40000, 65535 };
		size_t i;
		int ok = is_zero(big, 65536) && is_zero(big + 1, 65536 - 1) && is_zero(big, 0);

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			big[at[i]] = 1;
			ok &= !is_zero(big, 65536);
			big[at[i]] = 0;
		}
		big[65536] = 1;
		ok &= is_zero(big, 65536) && !is_zero(big, 65537);
		TAP_CHECK(t, ok, "64 KiB blocks: any byte set anywhere is seen, lengths respected");
	}
}

int main(void)
{
	struct tap t = { 0, 0 };

	test_merge(&t);
	test_clamp(&t);
	test_clusters(&t);
	test_empty(&t);
	test_zero(&t);
	return tap_done(&t);
}
