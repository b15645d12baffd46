/*
 * The raw job: the plan's runs copied to a sink at their own offsets, in
 * one ordered pass after the capture (a stream must be written in order,
 * and an existing output is not touched until the capture has succeeded).
 */
#include <inttypes.h>
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
	/* Captured blocks written, as the copy engine counts them after each
	 * chunk: the sink's own count holds the zeros it bridges short gaps
	 * with on a stream, and a failure's message would say "4140 of 4139". */
	uint64_t done;
};

static void copied(void *arg, uint64_t done)
{
	struct raw_job *j = arg;

	j->done = done;
	progress_update(&j->p.prog, done);
}

static int open_sink(struct raw_job *j)
{
	return plan_open_sink(&j->p, j->p.fs->blocksize,
			      ext2fs_blocks_count(j->p.fs->super), &j->sink);
}

static int copy(struct raw_job *j)
{
	struct plan *p = &j->p;
	struct copy_opts co = { 0 };
	double t0 = now_seconds();
	errcode_t err;

	co.reverse = p->o->move && p->o->dest_offset > p->o->src_offset;
	co.warn = &p->warn;
	co.stop = p->stop;
	co.progress = copied;
	co.progress_arg = j;
	plan_transform_copy(p, &co);
	if (plan_wants_digest(p))
		plan_digest_copy(p, &co);
	else
		p->man.no_digest = plan_skips_digest(p);
	progress_start(&p->prog, p->blocks.captured, p->fs->blocksize);
	err = copy_runs(&p->blocks, &p->src, j->sink, &co, &p->err);
	if (!err && plan_wants_manifest(p))
		err = plan_make_manifest(p, "raw", 0);
	if (!err)
		progress_note(&p->prog, p->man_text);
	if (!err)
		progress_done(&p->prog, p->blocks.captured);
	else
		progress_break(&p->prog);
	if (!err)
		err = plan_copy_done(p);
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
				  (unsigned long long)j->done,
				  (unsigned long long)p->blocks.captured);
		return 0;
	}
	return 1;
}

static int run(struct raw_job *j, const struct options *o, e2i_stop *stop)
{
	if (!plan_open(&j->p, o, stop) || !plan_capture(&j->p) ||
	    !open_sink(j) || !copy(j))
		return 0;
	if (o->check)
		printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
		       j->sink->skipped);
	if (o->verbose)
		print_summary(&j->p.sum, o->device, o->image);
	return 1;
}

int run_raw(const struct options *o, e2i_stop *stop)
{
	struct raw_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	ok = run(&j, o, stop);
	ok = plan_status(&j.p, ok);
	if (o->report) {
		struct report_run r = { .mode = "raw", .format = "raw", .sink = j.sink };

		ok = plan_report(&j.p, &r, ok);
	}
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	plan_close(&j.p);
	return ok;
}
