#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "qcow2.h"
#include "writer.h"

struct out {
	const struct qcow2_plan *p;
	const struct qcow2_packed *pk;  /* NULL: data cluster k is the k-th */
	qcow2_emit_fn emit;
	void *arg;
	unsigned char *buf;   /* one cluster being filled */
	uint64_t at;          /* file cluster the buffer goes to */
};

static int flush(struct out *o)
{
	int e = o->emit(o->arg, o->at, o->buf, 1);

	memset(o->buf, 0, o->p->cluster_size);
	o->at++;
	return e;
}

/* Appends one 64-bit big-endian entry to a table that starts at cluster
 * `table_at`; index is the entry's position in the table. */
static int put_entry(struct out *o, uint64_t table_at, uint64_t index,
		     uint64_t v)
{
	uint64_t per = o->p->cluster_size / 8;
	int e;

	while (o->at < table_at + index / per)
		if ((e = flush(o)))
			return e;
	qcow2_put64(o->buf + (index % per) * 8, v);
	return 0;
}

/* Flushes up to (not including) cluster `end`. */
static int finish_area(struct out *o, uint64_t end)
{
	int e;

	while (o->at < end)
		if ((e = flush(o)))
			return e;
	return 0;
}

static int header(struct out *o)
{
	const struct qcow2_plan *p = o->p;
	struct qcow2_header h;
	size_t n;

	memset(&h, 0, sizeof(h));
	h.magic = QCOW2_MAGIC;
	h.version = p->version;
	h.cluster_bits = p->cluster_bits;
	h.size = p->size;
	h.l1_size = (uint32_t)p->l1_size;
	h.l1_table_offset = p->l1_at << p->cluster_bits;
	h.refcount_table_offset = p->rt_at << p->cluster_bits;
	h.refcount_table_clusters = (uint32_t)p->rt_clusters;
	h.refcount_order = 4;
	h.header_length = 112;
	if (p->compression_type == QCOW2_COMPRESS_ZSTD) {
		h.incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
		h.compression_type = QCOW2_COMPRESS_ZSTD;
	}
	n = qcow2_header_encode(&h, o->buf, p->cluster_size);
	if (!n || (p->ext && !qcow2_ext_encode(p->ext, o->buf, p->cluster_size, n)))
		return EINVAL;
	return flush(o);
}

/* L1: entry i points at the k-th L2 table when guest range i holds data. */
static int l1(struct out *o, const struct qcow2_run *runs, size_t nruns)
{
	const struct qcow2_plan *p = o->p;
	uint64_t k = 0, last = UINT64_MAX, idx;
	size_t i;
	int e;

	for (i = 0; i < nruns; i++) {
		uint64_t first = runs[i].start / p->l2_entries;
		uint64_t end = runs[i].start + runs[i].len;

		if (!runs[i].len)
			continue;
		for (idx = first; idx <= (end - 1) / p->l2_entries; idx++) {
			if (idx == last)
				continue;
			e = put_entry(o, p->l1_at, idx,
				      ((p->l2_at + k) << p->cluster_bits) |
				      QCOW2_OFLAG_COPIED);
			if (e)
				return e;
			k++;
			last = idx;
		}
	}
	return finish_area(o, p->rt_at);
}

static int refcounts(struct out *o)
{
	const struct qcow2_plan *p = o->p;
	uint64_t i, per = p->cluster_size / 2;
	int e;

	for (i = 0; i < p->rb_clusters; i++)
		if ((e = put_entry(o, p->rt_at, i, (p->rb_at + i) << p->cluster_bits)))
			return e;
	if ((e = finish_area(o, p->rb_at)))
		return e;
	/* Every cluster of the file is used once: refcount 1 for [0, total). */
	for (i = 0; i < p->total; i++) {
		while (o->at < p->rb_at + i / per)
			if ((e = flush(o)))
				return e;
		qcow2_put16(o->buf + (i % per) * 2,
			    o->pk && i >= p->data_at && i < p->data_at + p->n_data ?
			    o->pk->refs[i - p->data_at] : 1);
	}
	return finish_area(o, p->l2_at);
}

/* L2 tables: data clusters in guest order, at data_at + rank. */
static int l2(struct out *o, const struct qcow2_run *runs, size_t nruns)
{
	const struct qcow2_plan *p = o->p;
	uint64_t rank = 0, table = 0, cur = UINT64_MAX, c;
	size_t i;
	int e;

	for (i = 0; i < nruns; i++) {
		for (c = runs[i].start; c < runs[i].start + runs[i].len; c++) {
			uint64_t idx = c / p->l2_entries;

			if (cur != UINT64_MAX && idx != cur) {
				if ((e = flush(o)))
					return e;
				table++;
			}
			cur = idx;
			/* Packed: the area's start added to the offset,
			 * which is the entry's low bits either way. */
			qcow2_put64(o->buf + (c % p->l2_entries) * 8, o->pk ?
				    o->pk->l2[rank] + (p->data_at << p->cluster_bits) :
				    ((p->data_at + rank) << p->cluster_bits) |
				    QCOW2_OFLAG_COPIED);
			rank++;
		}
	}
	if (cur != UINT64_MAX && (e = flush(o)))
		return e;
	return o->at == p->l2_at + p->n_l2 ? 0 : EINVAL;
}

int qcow2_write_metadata_packed(const struct qcow2_plan *p,
				const struct qcow2_run *runs, size_t nruns,
				const struct qcow2_packed *pk,
				qcow2_emit_fn emit, void *arg)
{
	struct out o = { p, pk, emit, arg, NULL, 0 };
	int e;

	o.buf = calloc(1, p->cluster_size);
	if (!o.buf)
		return ENOMEM;
	e = header(&o);
	if (!e && p->data_at < p->l1_at)
		o.at = p->l1_at; /* data first: the caller wrote it */
	if (!e)
		e = finish_area(&o, p->l1_at);
	if (!e)
		e = l1(&o, runs, nruns);
	if (!e)
		e = refcounts(&o);
	if (!e)
		e = l2(&o, runs, nruns);
	free(o.buf);
	return e;
}

int qcow2_write_metadata(const struct qcow2_plan *p,
			 const struct qcow2_run *runs, size_t nruns,
			 qcow2_emit_fn emit, void *arg)
{
	return qcow2_write_metadata_packed(p, runs, nruns, NULL, emit, arg);
}
