/*
 * The raw job: the plan's runs copied to a sink at their own offsets.
 *
 * When the output is a new file, the fixed tables (inode tables above all)
 * are copied by a second thread while the inode scan runs: the scan reads
 * those same tables, so the copy finds them in the page cache, and the two
 * cores work at once. Other outputs take one ordered pass after the scan: a
 * stream must be written in order, and an existing output is not touched
 * until the capture has succeeded.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "copy.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "raw_job.h"

struct raw_job {
	struct plan p;
	struct sink *sink;
	pthread_t tables_tid;
	int tables_running;
	errcode_t tables_err;
};

static int open_sink(struct raw_job *j)
{
	const struct options *o = j->p.o;
	struct sink_params sp = { 0 };
	errcode_t err;

	sp.path = o->image;
	sp.blocksize = j->p.fs->blocksize;
	sp.fs_blocks = ext2fs_blocks_count(j->p.fs->super);
	sp.dest_offset = o->dest_offset;
	sp.compare = o->check;
	sp.dry_run = o->dry_run;
	sp.move = o->move;
	sp.err = &j->p.err;
	sp.no_fsync = o->no_fsync;
	err = sink_open(&sp, &j->sink);
	if (err)
		msg_err(err, "%s", j->p.err.what);
	return !err;
}

static void *copy_tables(void *arg)
{
	struct raw_job *j = arg;
	struct copy_opts co = { 0 };

	co.stop = j->p.stop;
	co.warn = &j->p.warn;
	j->tables_err = copy_runs(&j->p.tables, &j->p.src, j->sink, &co,
				  &j->p.err);
	return NULL;
}

/* plan_capture's hook: the tables are known, the scan is about to start. */
static int start_tables_copy(struct plan *p, void *arg)
{
	struct raw_job *j = arg;
	int rc;

	(void)p;
	if (!open_sink(j))
		return 0;
	rc = pthread_create(&j->tables_tid, NULL, copy_tables, j);
	if (rc) {
		msg_err(rc, _("while starting a copy thread for %s"), j->p.o->image);
		return 0;
	}
	j->tables_running = 1;
	return 1;
}

static errcode_t join_tables_copy(struct raw_job *j)
{
	if (!j->tables_running)
		return 0;
	pthread_join(j->tables_tid, NULL);
	j->tables_running = 0;
	return j->tables_err;
}

static int copy(struct raw_job *j)
{
	struct plan *p = &j->p;
	struct blockmap *m = p->split ? &p->scanned : &p->tables;
	struct copy_opts co = { 0 };
	double t0 = now_seconds();
	errcode_t err;

	co.reverse = p->o->move && p->o->dest_offset > p->o->src_offset;
	co.aliased = p->o->move;
	co.keep_out = p->split ? &p->tables : NULL;
	co.warn = &p->warn;
	co.stop = p->stop;
	co.progress = progress_update;
	co.progress_arg = &p->prog;
	progress_start(&p->prog, plan_marks(p), p->fs->blocksize);
	err = join_tables_copy(j);
	if (!err && p->split && (err = blockmap_subtract(&p->scanned, &p->tables)))
		e2i_seterr(&p->err, err, _("while planning the copy to %s"), p->o->image);
	if (!err)
		err = copy_runs(m, &p->src, j->sink, &co, &p->err);
	if (!err)
		progress_done(&p->prog, p->tables.captured + p->scanned.captured);
	else if (p->prog.enabled)
		fputc('\n', stderr);
	if (!err)
		err = j->sink->ops->finish(j->sink);
	p->sum.t_copy = now_seconds() - t0;
	if (err) {
		j->sink->ops->abort(j->sink);
		msg_err(err, "%s", p->err.what);
		/* A new file is removed; one updated in place keeps what was
		 * written: say which. */
		if (p->kind == SINK_NEW_FILE && !p->o->dry_run)
			msg_plain(_("no image was written to %s"), p->o->image);
		else if (!p->o->dry_run)
			msg_plain(_("%s is incomplete: %llu of %llu blocks were written before the failure"),
				  strcmp(p->o->image, "-") ? p->o->image : "stdout",
				  (unsigned long long)j->sink->written,
				  (unsigned long long)(p->tables.captured + p->scanned.captured));
		return 0;
	}
	summary_add(&p->sum, &p->tables);
	summary_add(&p->sum, &p->scanned);
	return 1;
}

static int run(struct raw_job *j, const struct options *o,
	       volatile sig_atomic_t *stop)
{
	int overlap;

	if (!plan_open(&j->p, o, stop))
		return 0;
	/* Progress counts and -n listings keep e2fsprogs' single ordered pass. */
	overlap = j->p.kind == SINK_NEW_FILE && !o->dry_run && !o->progress;
	if (!plan_capture(&j->p, overlap ? start_tables_copy : NULL, j))
		return 0;
	if (!j->sink && !open_sink(j))
		return 0;
	if (!copy(j))
		return 0;
	if (o->check)
		printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
		       j->sink->skipped);
	if (o->verbose)
		print_summary(&j->p.sum, o->device, o->image);
	return 1;
}

int run_raw(const struct options *o, volatile sig_atomic_t *stop)
{
	struct raw_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	ok = run(&j, o, stop);
	if (j.tables_running) {
		/* The scan failed under a running copy: let it end, then undo. */
		join_tables_copy(&j);
		j.sink->ops->abort(j.sink);
		ok = 0;
	}
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	ok = plan_status(&j.p, ok);
	plan_close(&j.p);
	return ok;
}
