/* Unit tests of the qcow2 layout planner and metadata writer. */
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "qcow2.h"
#include "writer.h"
#include "tap.h"

struct capture {
	unsigned char *file;
	uint64_t clusters, next;
	int out_of_order;
	uint64_t cs;
};

static int grab(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct capture *c = arg;

	if (at != c->next || at + n > c->clusters)
		c->out_of_order = 1;
	else
		memcpy(c->file + at * c->cs, buf, n * c->cs);
	c->next = at + n;
	return 0;
}

static void test_cluster_bits(struct tap *t)
{
	uint64_t tib = 1ull << 40;

	TAP_CHECK(t, qcow2_pick_cluster_bits(8 * tib, 12) == 12, "8 TiB keeps 4 KiB clusters");
	TAP_CHECK(t, qcow2_pick_cluster_bits(9 * tib, 12) == 13, "9 TiB needs 8 KiB clusters (qemu's 32 MiB L1 cap)");
	TAP_CHECK(t, qcow2_pick_cluster_bits(600ull << 30, 10) == 11, "600 GiB at 1 KiB blocks needs 2 KiB clusters");
	TAP_CHECK(t, qcow2_pick_cluster_bits(1ull << 62, 12) == 0, "beyond 2 MiB clusters: no answer");
}

static void test_plan(struct tap *t)
{
	struct qcow2_run runs[] = { { 0, 3 }, { 510, 4 }, { 2000, 1 } };
	struct qcow2_plan p;

	/* 4 KiB clusters, 512 entries per L2, 16 MiB disk = 4096 clusters. */
	TAP_CHECK(t, qcow2_plan_make(&p, 16 << 20, 12, 2, runs, 3) == QCOW2_PLAN_OK, "plan succeeds");
	TAP_CHECK(t, p.n_data == 8, "data clusters counted");
	TAP_CHECK(t, p.n_l2 == 3, "a run across an L2 boundary needs both tables");
	TAP_CHECK(t, p.l1_size == 8 && p.l1_clusters == 1, "L1 sized for the virtual size");
	TAP_CHECK(t, p.l1_at == 1 && p.rt_at == 2 && p.rb_at == 3 && p.l2_at == 4 &&
		  p.data_at == 7 && p.total == 15, "areas follow each other");
	TAP_CHECK(t, qcow2_plan_make(&p, 9ull << 40, 12, 2, runs, 3) == QCOW2_PLAN_L1_TOO_LARGE,
		  "an L1 over 32 MiB is refused");
	TAP_CHECK(t, qcow2_plan_make(&p, 16 << 20, 8, 2, runs, 3) == QCOW2_PLAN_BAD_ARGS,
		  "cluster_bits 8 is refused");
	{
		struct qcow2_run beyond[] = { { 4096, 1 } };

		TAP_CHECK(t, qcow2_plan_make(&p, 16 << 20, 12, 2, beyond, 1) == QCOW2_PLAN_BAD_ARGS,
			  "a cluster past the virtual size is refused");
	}
}

static void test_refcount_fixed_point(struct tap *t)
{
	/* 512-byte clusters hold 256 refcounts: many data clusters need
	 * several refcount blocks, which count themselves. */
	struct qcow2_run runs[] = { { 0, 100000 } };
	struct qcow2_plan p;

	qcow2_plan_make(&p, 100000ull * 512, 9, 2, runs, 1);
	TAP_CHECK(t, p.rb_clusters * 256 >= p.total, "refcount blocks cover every cluster of the file");
	TAP_CHECK(t, (p.rb_clusters - 1) * 256 < p.total, "and no more refcount blocks than needed");
	TAP_CHECK(t, p.rt_clusters * 64 >= p.rb_clusters, "the refcount table points at every block");
}

static void test_metadata(struct tap *t)
{
	struct qcow2_run runs[] = { { 0, 3 }, { 510, 4 }, { 2000, 1 } };
	struct qcow2_plan p;
	struct capture c = { 0 };
	struct qcow2_header h;
	uint64_t e, i, ok = 1;

	qcow2_plan_make(&p, 16 << 20, 12, 2, runs, 3);
	c.cs = p.cluster_size;
	c.clusters = p.total;
	c.file = calloc(p.total, p.cluster_size);
	TAP_CHECK(t, qcow2_write_metadata(&p, runs, 3, grab, &c) == 0, "metadata written");
	TAP_CHECK(t, !c.out_of_order && c.next == p.data_at, "strictly front to back, up to the data");
	qcow2_header_decode(&h, c.file, p.cluster_size);
	TAP_CHECK(t, h.magic == QCOW2_MAGIC && h.version == 2 && h.cluster_bits == 12 &&
		  h.size == 16 << 20 && h.l1_table_offset == 4096 &&
		  h.refcount_table_offset == 8192 && h.refcount_table_clusters == 1,
		  "header round trip");
	e = qcow2_be64(c.file + 4096);
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (4ull << 12)), "L1[0] points at the first L2 table");
	e = qcow2_be64(c.file + 4096 + 8);
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (5ull << 12)), "L1[1] at the second (run crosses the boundary)");
	e = qcow2_be64(c.file + 4096 + 3 * 8);
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (6ull << 12)), "L1[3] at the third");
	e = qcow2_be64(c.file + 4 * 4096 + 511 * 8);
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | ((7ull + 4) << 12)), "guest cluster 511 is the 5th data cluster");
	TAP_CHECK(t, qcow2_be64(c.file + 4 * 4096 + 3 * 8) == 0, "unallocated clusters stay 0");
	for (i = 0; i < p.total; i++)
		ok &= qcow2_be16(c.file + 3 * 4096 + i * 2) == 1;
	TAP_CHECK(t, ok && qcow2_be16(c.file + 3 * 4096 + p.total * 2) == 0,
		  "refcount 1 for every cluster of the file, 0 past it");
	TAP_CHECK(t, qcow2_be64(c.file + 2 * 4096) == 3 * 4096, "refcount table points at the block");
	free(c.file);
}

/* Data first: the header, the data area left to the caller, then the
 * tables, in file order, pointing at data clusters 1, 2, ... */
static int grab_any(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct capture *c = arg;

	if (at + n > c->clusters || at < c->next)
		c->out_of_order = 1;
	else
		memcpy(c->file + at * c->cs, buf, n * c->cs);
	c->next = at + n;
	return 0;
}

static void test_data_first(struct tap *t)
{
	struct qcow2_run runs[] = { { 0, 3 }, { 510, 4 }, { 2000, 1 } };
	struct qcow2_plan p, q;
	struct capture c = { 0 };
	struct qcow2_header h;
	uint64_t i, e, ok = 1, data_untouched = 1;

	qcow2_plan_make(&p, 16 << 20, 12, 2, runs, 3);
	q = p;
	qcow2_plan_data_first(&q);
	TAP_CHECK(t, q.data_at == 1 && q.l1_at == 1 + q.n_data &&
		  q.rt_at == q.l1_at + q.l1_clusters && q.rb_at == q.rt_at + q.rt_clusters &&
		  q.l2_at == q.rb_at + q.rb_clusters && q.l2_at + q.n_l2 == q.total &&
		  q.total == p.total, "data first: the same clusters, data right behind the header");
	c.cs = q.cluster_size;
	c.clusters = q.total;
	c.file = calloc(q.total, q.cluster_size);
	memset(c.file + c.cs, 0xee, q.n_data * c.cs);
	TAP_CHECK(t, qcow2_write_metadata(&q, runs, 3, grab_any, &c) == 0 &&
		  !c.out_of_order && c.next == q.total, "tables written in order, to the end");
	for (i = c.cs; i < (1 + q.n_data) * c.cs; i++)
		data_untouched &= c.file[i] == 0xee;
	TAP_CHECK(t, data_untouched, "the data area is left to the caller");
	qcow2_header_decode(&h, c.file, q.cluster_size);
	TAP_CHECK(t, h.l1_table_offset == q.l1_at << 12 &&
		  h.refcount_table_offset == q.rt_at << 12, "the header points past the data");
	e = qcow2_be64(c.file + (q.l1_at << 12));
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (q.l2_at << 12)), "L1[0] points at the first L2 table");
	e = qcow2_be64(c.file + (q.l2_at << 12));
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (1ull << 12)), "guest cluster 0 is file cluster 1");
	e = qcow2_be64(c.file + ((q.l2_at + 2) << 12) + (2000 % 512) * 8);
	TAP_CHECK(t, e == (QCOW2_OFLAG_COPIED | (8ull << 12)), "guest cluster 2000 is the 8th data cluster");
	for (i = 0; i < q.total; i++)
		ok &= qcow2_be16(c.file + (q.rb_at << 12) + i * 2) == 1;
	TAP_CHECK(t, ok, "refcount 1 for every cluster, data included");
	free(c.file);
}

static void test_data_first_fits(struct tap *t)
{
	TAP_CHECK(t, qcow2_data_first_fits(64 << 20, 12, 1000),
		  "data first: a few clusters of a 64 MiB disk fit");
	TAP_CHECK(t, !qcow2_data_first_fits(64 << 20, 12, (64 << 20) / 4096),
		  "data first: every cluster of the disk plus tables outgrows it");
	TAP_CHECK(t, !qcow2_data_first_fits(64 << 20, 10, 10),
		  "data first: 1 KiB clusters could put data at byte 1024");
	TAP_CHECK(t, !qcow2_data_first_fits(64 << 20, 9, 10),
		  "data first: 512 B clusters could too");
	TAP_CHECK(t, qcow2_data_first_fits(64 << 20, 11, 10),
		  "data first: 2 KiB clusters start data at 2048");
}

int main(void)
{
	struct tap t = { 0, 0 };

	test_cluster_bits(&t);
	test_plan(&t);
	test_refcount_fixed_point(&t);
	test_metadata(&t);
	test_data_first(&t);
	test_data_first_fits(&t);
	return tap_done(&t);
}
