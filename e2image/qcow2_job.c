/*
 * The qcow2 job. A qcow2 file lists its clusters before their data, so the
 * job reads the captured blocks twice: once to learn which are not zero (the
 * layout depends on it), once to write them behind the metadata. The second
 * read comes from the page cache. Nothing is ever sought back to: the
 * output may be stdout or a pipe.
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

/* Pass 1: the captured blocks that hold something. */
static int probe(struct qjob *q)
{
	struct plan *p = &q->p;
	struct copy_opts co = { 0 };
	struct sink *s;
	errcode_t err;

	blockmap_init(&q->nonzero, ext2fs_blocks_count(p->fs->super), 0, 0);
	err = probe_sink_new(&q->nonzero, p->fs->blocksize, &p->err, &s);
	if (err) {
		msg_err(err, "%s", p->err.what);
		return 0;
	}
	co.stop = p->stop;
	co.warn = &p->warn;
	co.progress = progress_update;
	co.progress_arg = &p->prog;
	progress_start(&p->prog, plan_marks(p), p->fs->blocksize);
	err = copy_runs(&p->blocks, &p->src, s, &co, &p->err);
	s->ops->destroy(s);
	if (!err)
		err = blockmap_finish(&q->nonzero);
	if (err) {
		if (p->prog.enabled)
			fputc('\n', stderr);
		msg_err(err, "%s", p->err.code ? p->err.what : _("while planning the qcow2 layout"));
		return 0;
	}
	return 1;
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

static int plan_layout(struct qjob *q)
{
	const struct options *o = q->p.o;
	uint64_t size = ext2fs_blocks_count(q->p.fs->super) * q->p.fs->blocksize;
	unsigned cb;
	enum qcow2_plan_result r;

	if (o->cluster_size)
		cb = qcow2_log2(o->cluster_size);
	else
		cb = qcow2_pick_cluster_bits(size, qcow2_log2(q->p.fs->blocksize));
	if (!cb) {
		msg_plain(_("%s is too large for a qcow2 image qemu can open"), o->device);
		return 0;
	}
	if (!cluster_runs(q, cb)) {
		msg_err(ENOMEM, _("while planning the qcow2 layout of %s"), o->image);
		return 0;
	}
	r = qcow2_plan_make(&q->layout, size, cb, o->qcow2_version, q->runs, q->nruns);
	if (r != QCOW2_PLAN_OK) {
		msg_plain(_("cannot write %s: %s"), o->image, qcow2_plan_strerror(r));
		return 0;
	}
	return 1;
}

static int emit(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct qjob *q = arg;
	errcode_t err = stopped(q->p.stop) ? EINTR :
			q->out->ops->write(q->out, at, n, buf);

	return err ? (int)err : 0;
}

/* Pass 2: metadata, then the data clusters in guest order. */
static int write_image(struct qjob *q)
{
	struct plan *p = &q->p;
	const struct options *o = p->o;
	struct sink_params sp = { 0 };
	struct copy_opts co = { 0 };
	struct sink *clusters = NULL;
	errcode_t err;

	sp.path = o->image;
	sp.blocksize = q->layout.cluster_size;
	sp.fs_blocks = q->layout.total;
	sp.err = &p->err;
	sp.sync = o->sync;
	sp.stop = p->stop;
	err = sink_open(&sp, &q->out);
	if (err) {
		msg_err(err, "%s", p->err.what);
		return 0;
	}
	err = qcow2_write_metadata(&q->layout, q->runs, q->nruns, emit, q);
	if (err && !p->err.code)
		e2i_seterr(&p->err, err, _("while writing the qcow2 metadata to %s"), q->name);
	if (!err)
		err = cluster_sink_new(&q->layout, q->runs, q->nruns,
				       p->fs->blocksize, q->out, q->name, &p->err,
				       &clusters);
	co.stop = p->stop;
	co.warn = &p->warn;
	if (!err)
		err = copy_runs(&q->nonzero, &p->src, clusters, &co, &p->err);
	if (!err)
		err = clusters->ops->finish(clusters);
	if (!err)
		err = q->out->ops->finish(q->out);
	if (clusters)
		clusters->ops->destroy(clusters);
	if (err) {
		if (p->prog.enabled)
			fputc('\n', stderr);
		q->out->ops->abort(q->out);
		msg_err(err, "%s", p->err.what);
		if (p->kind == SINK_NEW_FILE)
			msg_plain(_("no image was written to %s"), o->image);
		else
			msg_plain(_("%s is incomplete: the qcow2 image was cut short"), q->name);
		return 0;
	}
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
	ok = ok && probe(&q) && plan_layout(&q) && write_image(&q);
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
