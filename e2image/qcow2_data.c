#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nls.h"
#include "qcow2_data.h"

#define WINDOW_BYTES (1u << 20)

/* ---- pass 1: which blocks are not zero ---- */

struct probe {
	struct sink s;
	struct blockmap *nonzero;
};

static errcode_t probe_write(struct sink *s, uint64_t blk, uint64_t n,
			     const void *buf)
{
	struct probe *p = (struct probe *)s;

	(void)buf;
	if (blockmap_add(p->nonzero, blk, n, BC_DATA))
		return e2i_seterr(s->err, ENOMEM, _("while planning the qcow2 layout"));
	return 0;
}

static errcode_t probe_finish(struct sink *s)
{
	(void)s;
	return 0;
}

static void probe_abort(struct sink *s)
{
	(void)s;
}

static void probe_destroy(struct sink *s)
{
	free(s);
}

static const struct sink_ops probe_ops = {
	probe_write, probe_finish, probe_abort, probe_destroy
};

errcode_t probe_sink_new(struct blockmap *nonzero, unsigned blocksize,
			 struct e2i_error *err, struct sink **out)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (!p)
		return e2i_seterr(err, ENOMEM, _("while planning the qcow2 layout"));
	p->s.ops = &probe_ops;
	p->s.blocksize = blocksize;
	p->s.holes_read_zero = 1;
	p->s.err = err;
	p->nonzero = nonzero;
	*out = &p->s;
	return 0;
}

/* ---- pass 2: blocks into clusters ---- */

struct clusters {
	struct sink s;
	const struct qcow2_plan *plan;
	const struct qcow2_run *runs;
	size_t nruns;
	struct sink *out;
	const char *name;
	/* Cursor over the planned clusters: run ri starts at rank run_rank. */
	size_t ri;
	uint64_t run_rank;
	/* Window of consecutive data clusters [base, base + wn). */
	char *win;
	uint64_t base, wn;
};

static errcode_t flush_window(struct clusters *c, uint64_t upto)
{
	uint64_t n = upto - c->base;
	errcode_t err;

	if (!n)
		return 0;
	err = c->out->ops->write(c->out, c->plan->data_at + c->base, n, c->win);
	if (err)
		return err;
	memset(c->win, 0, n * c->plan->cluster_size);
	c->base = upto;
	return 0;
}

/* The rank of guest cluster g among the planned ones. */
static int rank_of(struct clusters *c, uint64_t g, uint64_t *rank)
{
	while (c->ri < c->nruns &&
	       c->runs[c->ri].start + c->runs[c->ri].len <= g) {
		c->run_rank += c->runs[c->ri].len;
		c->ri++;
	}
	if (c->ri == c->nruns || g < c->runs[c->ri].start)
		return 0;
	*rank = c->run_rank + (g - c->runs[c->ri].start);
	return 1;
}

static errcode_t clusters_write(struct sink *s, uint64_t blk, uint64_t n,
				const void *buf)
{
	struct clusters *c = (struct clusters *)s;
	uint64_t cs = c->plan->cluster_size;
	uint64_t pos = blk * s->blocksize, end = pos + n * s->blocksize;
	const char *src = buf;
	errcode_t err;

	while (pos < end) {
		uint64_t g = pos / cs, in = pos % cs, rank;
		uint64_t len = cs - in < end - pos ? cs - in : end - pos;

		if (!rank_of(c, g, &rank) || rank < c->base)
			return e2i_seterr(s->err, EXT2_ET_INVALID_ARGUMENT,
					  _("while writing %s: block %llu changed while it was being imaged"),
					  c->name, (unsigned long long)(pos / s->blocksize));
		while (rank >= c->base + c->wn)
			if ((err = flush_window(c, c->base + c->wn)))
				return err;
		memcpy(c->win + (rank - c->base) * cs + in, src, len);
		src += len;
		pos += len;
	}
	return 0;
}

static errcode_t clusters_finish(struct sink *s)
{
	struct clusters *c = (struct clusters *)s;
	errcode_t err;

	/* Planned clusters that are zeros now still take their place. */
	while (c->base < c->plan->n_data) {
		uint64_t upto = c->base + c->wn;

		if (upto > c->plan->n_data)
			upto = c->plan->n_data;
		if ((err = flush_window(c, upto)))
			return err;
	}
	return 0;
}

static void clusters_abort(struct sink *s)
{
	(void)s;
}

static void clusters_destroy(struct sink *s)
{
	struct clusters *c = (struct clusters *)s;

	free(c->win);
	free(c);
}

static const struct sink_ops cluster_ops = {
	clusters_write, clusters_finish, clusters_abort, clusters_destroy
};

errcode_t cluster_sink_new(const struct qcow2_plan *plan,
			   const struct qcow2_run *runs, size_t nruns,
			   unsigned blocksize, struct sink *out,
			   const char *name, struct e2i_error *err,
			   struct sink **sink)
{
	struct clusters *c = calloc(1, sizeof(*c));

	if (!c)
		return e2i_seterr(err, ENOMEM, _("while writing %s"), name);
	c->s.ops = &cluster_ops;
	c->s.blocksize = blocksize;
	c->s.holes_read_zero = 1;
	c->s.err = err;
	c->plan = plan;
	c->runs = runs;
	c->nruns = nruns;
	c->out = out;
	c->name = name;
	c->wn = WINDOW_BYTES / plan->cluster_size;
	if (c->wn == 0)
		c->wn = 1;
	c->win = calloc(c->wn, plan->cluster_size);
	if (!c->win) {
		free(c);
		return e2i_seterr(err, ENOMEM, _("while writing %s"), name);
	}
	*sink = &c->s;
	return 0;
}

/* ---- one pass: data clusters appended as they come ---- */

struct appender {
	struct sink s;
	struct blockmap *nonzero;
	struct sink *out;
	const char *name;
	uint64_t cs;
	char *win;            /* clusters [base, base + used) of the file */
	uint64_t wn, base, used;
	uint64_t last_g;      /* guest cluster of the last one taken */
	int any;              /* a cluster was taken */
};

static errcode_t append_flush(struct appender *a)
{
	errcode_t err;

	if (!a->used)
		return 0;
	err = a->out->ops->write(a->out, a->base, a->used, a->win);
	if (err)
		return err;
	memset(a->win, 0, a->used * a->cs);
	a->base += a->used;
	a->used = 0;
	return 0;
}

static errcode_t append_write(struct sink *s, uint64_t blk, uint64_t n,
			      const void *buf)
{
	struct appender *a = (struct appender *)s;
	uint64_t pos = blk * s->blocksize, end = pos + n * s->blocksize;
	const char *src = buf;
	errcode_t err;

	if (blockmap_add(a->nonzero, blk, n, BC_DATA))
		return e2i_seterr(s->err, ENOMEM, _("while writing %s"), a->name);
	while (pos < end) {
		uint64_t g = pos / a->cs, in = pos % a->cs;
		uint64_t len = a->cs - in < end - pos ? a->cs - in : end - pos;

		/* A new guest cluster takes the next file cluster: the k-th
		 * cluster with data is the k-th after the header. */
		if (!a->any || g != a->last_g) {
			if (a->any && g < a->last_g)
				return e2i_seterr(s->err, EXT2_ET_INVALID_ARGUMENT,
						  _("while writing %s: blocks out of order"),
						  a->name);
			if (a->used == a->wn && (err = append_flush(a)))
				return err;
			a->used++;
			a->last_g = g;
			a->any = 1;
		}
		memcpy(a->win + (a->used - 1) * a->cs + in, src, len);
		src += len;
		pos += len;
	}
	return 0;
}

static errcode_t append_finish(struct sink *s)
{
	return append_flush((struct appender *)s);
}

static void append_abort(struct sink *s)
{
	(void)s;
}

static void append_destroy(struct sink *s)
{
	struct appender *a = (struct appender *)s;

	free(a->win);
	free(a);
}

static const struct sink_ops append_ops = {
	append_write, append_finish, append_abort, append_destroy
};

errcode_t append_sink_new(struct blockmap *nonzero, unsigned blocksize,
			  uint64_t cluster_size, struct sink *out,
			  const char *name, struct e2i_error *err,
			  struct sink **sink)
{
	struct appender *a = calloc(1, sizeof(*a));

	if (!a)
		return e2i_seterr(err, ENOMEM, _("while writing %s"), name);
	a->s.ops = &append_ops;
	a->s.blocksize = blocksize;
	a->s.holes_read_zero = 1;
	a->s.err = err;
	a->nonzero = nonzero;
	a->out = out;
	a->name = name;
	a->cs = cluster_size;
	a->base = 1;
	a->wn = WINDOW_BYTES / cluster_size;
	if (a->wn == 0)
		a->wn = 1;
	a->win = calloc(a->wn, cluster_size);
	if (!a->win) {
		free(a);
		return e2i_seterr(err, ENOMEM, _("while writing %s"), name);
	}
	*sink = &a->s;
	return 0;
}

uint64_t append_sink_clusters(const struct sink *s)
{
	const struct appender *a = (const struct appender *)s;

	return a->base - 1 + a->used;
}
