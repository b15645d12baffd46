#include <string.h>
#include "../core/nls.h"
#include "layout.h"
#include "qcow2.h"

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t l1_entries(uint64_t size, unsigned cb)
{
	/* One L2 table maps cluster_size / 8 clusters. */
	return div_up(size, (uint64_t)1 << (2 * cb - 3));
}

unsigned qcow2_log2(uint64_t v)
{
	unsigned b = 0;

	while (v > 1) {
		v >>= 1;
		b++;
	}
	return b;
}

unsigned qcow2_pick_cluster_bits(uint64_t size, unsigned min_bits)
{
	unsigned cb = min_bits < QCOW2_MIN_CLUSTER_BITS ? QCOW2_MIN_CLUSTER_BITS
							: min_bits;

	for (; cb <= QCOW2_MAX_CLUSTER_BITS; cb++)
		if (l1_entries(size, cb) * 8 <= QCOW2_MAX_L1_BYTES)
			return cb;
	return 0;
}

static enum qcow2_plan_result make(struct qcow2_plan *p, uint64_t size,
				   unsigned cb, uint32_t version,
				   const struct qcow2_run *runs, size_t nruns,
				   uint64_t n_data)
{
	uint64_t cs, rb_entries, meta, last_l1 = UINT64_MAX;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS ||
	    size == 0 || size > ((uint64_t)1 << 56) ||
	    (version != 2 && version != 3))
		return QCOW2_PLAN_BAD_ARGS;
	cs = (uint64_t)1 << cb;
	p->version = version;
	p->cluster_bits = cb;
	p->cluster_size = cs;
	p->size = size;
	p->l2_entries = cs / 8;
	p->l1_size = l1_entries(size, cb);
	if (p->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return QCOW2_PLAN_L1_TOO_LARGE;
	p->l1_clusters = div_up(p->l1_size * 8, cs);
	for (i = 0; i < nruns; i++) {
		uint64_t first = runs[i].start / p->l2_entries;
		uint64_t last = (runs[i].start + runs[i].len - 1) / p->l2_entries;

		if (runs[i].len == 0)
			continue;
		if (runs[i].start + runs[i].len > div_up(size, cs) ||
		    (last_l1 != UINT64_MAX && first < last_l1))
			return QCOW2_PLAN_BAD_ARGS;
		p->n_l2 += last - first + 1 - (first == last_l1);
		p->n_data += runs[i].len;
		last_l1 = last;
	}
	if (n_data != UINT64_MAX)
		p->n_data = n_data;
	/* Refcount blocks count themselves and the table that points at them:
	 * iterate to the fixed point. */
	rb_entries = cs * 8 / 16;
	p->rt_clusters = p->rb_clusters = 1;
	for (;;) {
		uint64_t rb, rt;

		meta = 1 + p->l1_clusters + p->rt_clusters + p->rb_clusters;
		rb = div_up(meta + p->n_l2 + p->n_data, rb_entries);
		rt = div_up(rb * 8, cs);
		if (rb == p->rb_clusters && rt == p->rt_clusters)
			break;
		p->rb_clusters = rb;
		p->rt_clusters = rt;
	}
	if (p->rt_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return QCOW2_PLAN_REFTABLE_TOO_LARGE;
	p->l1_at = 1;
	p->rt_at = p->l1_at + p->l1_clusters;
	p->rb_at = p->rt_at + p->rt_clusters;
	p->l2_at = p->rb_at + p->rb_clusters;
	p->data_at = p->l2_at + p->n_l2;
	p->total = p->data_at + p->n_data;
	return QCOW2_PLAN_OK;
}

enum qcow2_plan_result qcow2_plan_make(struct qcow2_plan *p, uint64_t size,
				       unsigned cb, uint32_t version,
				       const struct qcow2_run *runs, size_t nruns)
{
	return make(p, size, cb, version, runs, nruns, UINT64_MAX);
}

enum qcow2_plan_result qcow2_plan_make_packed(struct qcow2_plan *p,
					      uint64_t size, unsigned cb,
					      uint32_t version,
					      const struct qcow2_run *runs,
					      size_t nruns, uint64_t n_data,
					      int compression_type)
{
	enum qcow2_plan_result r;

	if (compression_type == QCOW2_COMPRESS_ZSTD && version < 3)
		return QCOW2_PLAN_BAD_ARGS;
	r = make(p, size, cb, version, runs, nruns, n_data);
	p->compression_type = compression_type;
	return r;
}

void qcow2_plan_data_first(struct qcow2_plan *p)
{
	p->data_at = 1;
	p->l1_at = p->data_at + p->n_data;
	p->rt_at = p->l1_at + p->l1_clusters;
	p->rb_at = p->rt_at + p->rt_clusters;
	p->l2_at = p->rb_at + p->rb_clusters;
}

int qcow2_data_first_fits(uint64_t size, unsigned cb, uint64_t max_data)
{
	uint64_t cs = (uint64_t)1 << cb, l1 = l1_entries(size, cb), n;

	if (cs < 2048)
		return 0;
	/* header, L1, every L2 the L1 can name, the data; then refcounts */
	n = 1 + div_up(l1 * 8, cs) + l1 + max_data;
	n += div_up(n, cs / 2) + div_up(n, cs / 2 * cs / 8) + 2;
	return n <= size / cs;
}

const char *qcow2_plan_strerror(enum qcow2_plan_result r)
{
	switch (r) {
	case QCOW2_PLAN_OK:
		return _("no error");
	case QCOW2_PLAN_L1_TOO_LARGE:
		return _("the L1 table would exceed qemu's 32 MiB limit: choose a larger cluster size");
	case QCOW2_PLAN_REFTABLE_TOO_LARGE:
		return _("the refcount table would exceed qemu's 8 MiB limit: choose a larger cluster size");
	default:
		return _("invalid qcow2 layout parameters");
	}
}
