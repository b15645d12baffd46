/*
 * The qcow2 job: the captured blocks that hold data, as the clusters of a
 * qcow2 file. To a file, in one pass, data first and tables last; to a
 * stream (stdout, a pipe), where nothing can be sought back to and the
 * tables must come first, in two (see one_pass and two_passes). Two passes
 * too where data first is not safe (qcow2_data_first_fits: clusters under
 * 2 KiB, or a file that could outgrow the virtual size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "copy.h"
#include "layout.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "qcow2_data.h"
#include "qcow2_job.h"
#include "writer.h"

struct qjob {
	struct plan p;
	struct blockmap nonzero;
	struct qcow2_run *runs;
	size_t nruns;
	struct qcow2_plan layout;
	struct sink *out;
	const char *name;
};

/* Copies every captured block to s (zero blocks left out), with progress;
 * final: the bytes go to the image (-s applies). */
static errcode_t copy_pass(struct qjob *q, struct sink *s, int final)
{
	struct plan *p = &q->p;
	struct copy_opts co = { 0 };

	if (final)  /* names replaced once, where they are written */
		plan_transform_copy(p, &co);
	else if (p->anon)  /* what --anonymize will zero is no data */
		co.transform = anon_blank, co.transform_arg = p->anon;
	co.stop = p->stop;
	co.warn = &p->warn;
	co.progress = progress_update;
	co.progress_arg = &p->prog;
	progress_start(&p->prog, plan_marks(p), p->fs->blocksize);
	return copy_runs(&p->blocks, &p->src, s, &co, &p->err);
}

/* Non-zero blocks, rounded out to whole clusters. */
static int cluster_runs(struct qjob *q, unsigned cb)
{
	uint64_t bs = q->p.fs->blocksize, cs = (uint64_t)1 << cb;
	struct bm_cursor c;
	struct bm_run r;

	q->runs = calloc(q->nonzero.nruns ? q->nonzero.nruns : 1, sizeof(*q->runs));
	if (!q->runs)
		return 0;
	blockmap_cursor(&c, &q->nonzero, 0);
	while (blockmap_next(&c, &r)) {
		uint64_t s = r.start * bs / cs;
		uint64_t e = ((r.start + r.len) * bs + cs - 1) / cs;
		struct qcow2_run *last = q->nruns ? &q->runs[q->nruns - 1] : NULL;

		if (last && s <= last->start + last->len) {
			if (e > last->start + last->len)
				last->len = e - last->start;
			continue;
		}
		q->runs[q->nruns].start = s;
		q->runs[q->nruns].len = e - s;
		q->nruns++;
	}
	return 1;
}

static uint64_t fs_bytes(const struct qjob *q)
{
	return ext2fs_blocks_count(q->p.fs->super) * q->p.fs->blocksize;
}

/* At most this many clusters can hold captured data: a run of captured
 * blocks touches its clusters and one more at each end. */
static uint64_t max_data_clusters(const struct qjob *q, unsigned cb)
{
	const struct blockmap *m = &q->p.blocks;
	uint64_t bs = q->p.fs->blocksize, cs = (uint64_t)1 << cb;

	if (cs <= bs)
		return m->captured * (bs / cs);
	return m->captured / (cs / bs) + 2 * (uint64_t)m->nruns;
}

/* The cluster size: asked for, or the block size raised as qemu needs. */
static unsigned cluster_bits(struct qjob *q)
{
	const struct options *o = q->p.o;
	unsigned cb = o->cluster_size ? qcow2_log2(o->cluster_size) :
		      qcow2_pick_cluster_bits(fs_bytes(q), qcow2_log2(q->p.fs->blocksize));

	if (!cb)
		msg_plain(_("%s is too large for a qcow2 image qemu can open"), o->device);
	return cb;
}

/* The layout, once the clusters that hold data are known. */
static int plan_layout(struct qjob *q, unsigned cb, int data_first)
{
	const struct options *o = q->p.o;
	enum qcow2_plan_result r;
	errcode_t err = blockmap_finish(&q->nonzero);

	if (err || !cluster_runs(q, cb)) {
		msg_err(err ? err : ENOMEM, _("while planning the qcow2 layout of %s"), o->image);
		return 0;
	}
	r = qcow2_plan_make(&q->layout, fs_bytes(q), cb, o->qcow2_version,
			    q->runs, q->nruns);
	if (r != QCOW2_PLAN_OK) {
		msg_plain(_("cannot write %s: %s"), o->image, qcow2_plan_strerror(r));
		return 0;
	}
	if (data_first)
		qcow2_plan_data_first(&q->layout);
	return 1;
}

static int emit(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct qjob *q = arg;
	errcode_t err = stopped(q->p.stop) ? EINTR :
			q->out->ops->write(q->out, at, n, buf);

	return err ? (int)err : 0;
}

static errcode_t write_metadata(struct qjob *q)
{
	errcode_t err = qcow2_write_metadata(&q->layout, q->runs, q->nruns, emit, q);

	if (err && !q->p.err.code)
		e2i_seterr(&q->p.err, err, _("while writing the qcow2 metadata to %s"),
			   q->name);
	return err;
}

static int open_out(struct qjob *q, unsigned cb, uint64_t clusters)
{
	return plan_open_sink(&q->p, (unsigned)1 << cb, clusters, &q->out);
}

/*
 * A file (or a device): one pass. Each cluster with data goes right behind
 * the header as it is read; the tables, which depend on which clusters
 * turned out to hold data, follow them.
 */
static errcode_t one_pass(struct qjob *q, unsigned cb)
{
	struct plan *p = &q->p;
	struct sink *a = NULL;
	errcode_t err;

	err = append_sink_new(&q->nonzero, p->fs->blocksize, (uint64_t)1 << cb,
			      q->out, q->name, &p->err, &a);
	if (!err)
		err = copy_pass(q, a, 1);
	if (!err)
		err = a->ops->finish(a);
	if (!err && !plan_layout(q, cb, 1))
		err = EXT2_ET_INVALID_ARGUMENT;
	else if (!err && q->layout.n_data != append_sink_clusters(a))
		err = e2i_seterr(&p->err, EXT2_ET_INVALID_ARGUMENT,
				 _("while writing %s: the data clusters do not match the layout"),
				 q->name);
	if (a)
		a->ops->destroy(a);
	return err ? err : write_metadata(q);
}

/*
 * A stream: two passes, since nothing can be sought back to and the tables
 * come first. The first learns which captured blocks hold data; the
 * second, from the page cache, writes them behind the tables.
 */
static errcode_t two_passes(struct qjob *q, unsigned cb)
{
	struct plan *p = &q->p;
	struct copy_opts co = { 0 };
	struct sink *s = NULL;
	errcode_t err;

	err = probe_sink_new(&q->nonzero, p->fs->blocksize, &p->err, &s);
	if (!err)
		err = copy_pass(q, s, 0);
	if (s)
		s->ops->destroy(s);
	s = NULL;
	if (err)
		return err;
	if (!plan_layout(q, cb, 0) || !open_out(q, cb, q->layout.total))
		return EXT2_ET_INVALID_ARGUMENT;
	err = write_metadata(q);
	if (!err)
		err = cluster_sink_new(&q->layout, q->runs, q->nruns,
				       p->fs->blocksize, q->out, q->name,
				       &p->err, &s);
	co.stop = p->stop;
	co.warn = &p->warn;
	plan_transform_copy(p, &co);
	if (!err)
		err = copy_runs(&q->nonzero, &p->src, s, &co, &p->err);
	if (!err)
		err = s->ops->finish(s);
	if (s)
		s->ops->destroy(s);
	return err;
}

static int write_image(struct qjob *q)
{
	struct plan *p = &q->p;
	unsigned cb = cluster_bits(q);
	errcode_t err;

	if (!cb)
		return 0;
	blockmap_init(&q->nonzero, ext2fs_blocks_count(p->fs->super), 0, 0);
	if (p->kind == SINK_STREAM ||
	    !qcow2_data_first_fits(fs_bytes(q), cb, max_data_clusters(q, cb))) {
		err = two_passes(q, cb);
	} else {
		if (!open_out(q, cb, 0))
			return 0;
		err = one_pass(q, cb);
	}
	if (!err)
		err = plan_copy_done(p);
	if (!err && q->out)
		err = q->out->ops->finish(q->out);
	if (err && p->prog.enabled)
		fputc('\n', stderr);
	if (err && p->err.code)
		msg_err(err, "%s", p->err.what);
	if (err && q->out) {
		q->out->ops->abort(q->out);
		if (p->kind == SINK_NEW_FILE)
			msg_plain(_("no image was written to %s"), p->o->image);
		else
			msg_plain(_("%s is incomplete: the qcow2 image was cut short"), q->name);
	}
	if (err)
		return 0;
	progress_done(&p->prog, p->blocks.captured);
	return 1;
}

int run_qcow2(const struct options *o, e2i_stop *stop)
{
	struct qjob q;
	double t0;
	int ok;

	memset(&q, 0, sizeof(q));
	q.name = strcmp(o->image, "-") == 0 ? "stdout" : o->image;
	ok = plan_open(&q.p, o, stop) && plan_capture(&q.p);
	t0 = now_seconds();
	ok = ok && write_image(&q);
	q.p.sum.t_copy = now_seconds() - t0;
	if (ok && o->verbose) {
		summary_add(&q.p.sum, &q.p.blocks);
		print_summary(&q.p.sum, o->device, o->image);
		fprintf(stderr, _("  qcow2 v%u, %llu-byte clusters: %llu data clusters, %llu L2 tables, %llu clusters in all\n"),
			q.layout.version, (unsigned long long)q.layout.cluster_size,
			(unsigned long long)q.layout.n_data,
			(unsigned long long)q.layout.n_l2,
			(unsigned long long)q.layout.total);
	}
	if (q.out)
		q.out->ops->destroy(q.out);
	free(q.runs);
	blockmap_free(&q.nonzero);
	ok = plan_status(&q.p, ok);
	plan_close(&q.p);
	return ok;
}
