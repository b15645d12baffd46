/*
 * The raw job: open the source, find the blocks worth keeping, copy their
 * runs to the sink.
 *
 * When the output is a new file, the fixed tables (inode tables above all)
 * are copied by a second thread while the inode scan runs: the scan reads
 * those same tables, so the copy finds them in the page cache, and the two
 * cores work at once. Other outputs take one ordered pass after the scan: a
 * stream must be written in order, and an existing output is not touched
 * until the capture has succeeded.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "capture.h"
#include "copy.h"
#include "nls.h"
#include "messages.h"
#include "open_fs.h"
#include "progress.h"
#include "raw_job.h"
#include "summary.h"

/* Metadata found during the scan is requested at once, up to this much. */
#define EARLY_READAHEAD_BYTES (256ull << 20)

struct raw_job {
	const struct options *o;
	volatile sig_atomic_t *stop;
	ext2_filsys fs;
	struct blockmap tables;   /* fixed tables (and all, without overlap) */
	struct blockmap scanned;  /* what the inode scan found, with overlap */
	struct source src;
	struct sink *sink;
	enum sink_kind kind;
	int is_blockdev;
	struct progress prog;
	struct e2i_error err;
	uint64_t ra_budget;
	struct summary sum;
	pthread_t tables_tid;
	int tables_running;
	errcode_t tables_err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void early_readahead(void *arg, uint64_t start, uint64_t len,
			    enum block_class c)
{
	struct raw_job *j = arg;
	uint64_t bytes = len * j->fs->blocksize;

	if (c == BC_DATA || bytes > j->ra_budget)
		return;
	j->ra_budget -= bytes;
	source_willneed(&j->src, start, len);
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void init_map(struct raw_job *j, struct blockmap *m)
{
	blockmap_init(m, ext2fs_blocks_count(j->fs->super),
		      j->fs->super->s_first_data_block, j->fs->cluster_ratio_bits);
	m->on_add = early_readahead;
	m->on_add_arg = j;
}

static int capture_failed(struct raw_job *j, const struct capture *c,
			  errcode_t err)
{
	if (c->err.ino)
		msg_err(err, _("%s %u of %s"), _(c->err.doing), c->err.ino,
			j->o->device);
	else
		msg_err(err, _("%s of %s"), _(c->err.doing), j->o->device);
	return 0;
}

static int finish_map(struct raw_job *j, struct blockmap *m)
{
	errcode_t err = blockmap_finish(m);

	if (err)
		msg_err(err, _("while sorting the block map of %s"), j->o->device);
	return !err;
}

static int open_sink(struct raw_job *j)
{
	const struct options *o = j->o;
	struct sink_params sp = { 0 };
	errcode_t err;

	sp.path = o->image;
	sp.blocksize = j->fs->blocksize;
	sp.fs_blocks = ext2fs_blocks_count(j->fs->super);
	sp.dest_offset = o->dest_offset;
	sp.compare = o->check;
	sp.dry_run = o->dry_run;
	sp.move = o->move;
	sp.err = &j->err;
	err = sink_open(&sp, &j->sink);
	if (err)
		msg_err(err, "%s", j->err.what);
	return !err;
}

static void *copy_tables(void *arg)
{
	struct raw_job *j = arg;
	struct copy_opts co = { 0 };

	co.stop = j->stop;
	j->tables_err = copy_runs(&j->tables, &j->src, j->sink, &co, &j->err);
	return NULL;
}

static int start_tables_copy(struct raw_job *j)
{
	int rc = pthread_create(&j->tables_tid, NULL, copy_tables, j);

	if (rc) {
		msg_err(rc, _("while starting a copy thread for %s"), j->o->image);
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

static int capture(struct raw_job *j, int overlap)
{
	struct capture_opts co = { j->o->all_data,
				   j->is_blockdev && !j->o->dry_run,
				   j->o->superblock };
	struct capture c;
	errcode_t err;
	int ok = 0;

	err = capture_init(&c, j->fs, &co, &j->tables);
	if (err) {
		msg_err(err, _("while allocating buffers for %s"), j->o->device);
		return 0;
	}
	err = capture_tables(&c);
	if (err) {
		capture_failed(j, &c, err);
		goto out;
	}
	if (overlap) {
		if (!finish_map(j, &j->tables) || !open_sink(j) ||
		    !start_tables_copy(j))
			goto out;
		c.map = &j->scanned;
	}
	progress_scanning(&j->prog);
	err = capture_inodes(&c);
	if (!err)
		err = capture_orphans(&c);
	if (err) {
		capture_failed(j, &c, err);
		goto out;
	}
	ok = finish_map(j, c.map);
out:
	capture_free(&c);
	return ok;
}

static int copy(struct raw_job *j)
{
	struct blockmap *m = j->tables_running ? &j->scanned : &j->tables;
	struct copy_opts co = { 0 };
	errcode_t err;

	co.reverse = j->o->move && j->o->dest_offset > j->o->src_offset;
	co.stop = j->stop;
	co.progress = progress_update;
	co.progress_arg = &j->prog;
	progress_start(&j->prog, j->tables.marks + j->scanned.marks,
		       j->fs->blocksize);
	err = join_tables_copy(j);
	if (!err && m == &j->scanned &&
	    (err = blockmap_subtract(&j->scanned, &j->tables)))
		e2i_seterr(&j->err, err, _("while planning the copy to %s"), j->o->image);
	if (!err)
		err = copy_runs(m, &j->src, j->sink, &co, &j->err);
	if (!err)
		progress_done(&j->prog, j->tables.captured + j->scanned.captured);
	else if (j->prog.enabled)
		fputc('\n', stderr);
	if (!err)
		err = j->sink->ops->finish(j->sink);
	if (err) {
		j->sink->ops->abort(j->sink);
		msg_err(err, "%s", j->err.what);
		return 0;
	}
	summary_add(&j->sum, &j->tables);
	summary_add(&j->sum, &j->scanned);
	return 1;
}

static int run(struct raw_job *j)
{
	const struct options *o = j->o;
	struct sink_params sp = { 0 };
	double t0;
	int overlap;

	if (!o->move && same_file(o->device, o->image)) {
		msg_plain(_("the output %s is the source filesystem itself"), o->image);
		return 0;
	}
	if (!source_mount_ok(o) || open_source_fs(o, &j->fs))
		return 0;
	sp.path = o->image;
	sp.compare = o->check;
	sp.dest_offset = o->dest_offset;
	sp.move = o->move;
	sp.err = &j->err;
	if (sink_kind_for(&sp, &j->kind, &j->is_blockdev) ||
	    source_open(&j->src, o->device, o->src_offset, j->fs->blocksize,
			&j->err)) {
		msg_err(j->err.code, "%s", j->err.what);
		return 0;
	}
	init_map(j, &j->tables);
	init_map(j, &j->scanned);
	j->ra_budget = EARLY_READAHEAD_BYTES;
	/* Progress counts and -n listings keep e2fsprogs' single ordered pass. */
	overlap = j->kind == SINK_NEW_FILE && !o->dry_run && !o->progress;

	t0 = now();
	if (!capture(j, overlap))
		return 0;
	j->sum.t_capture = now() - t0;
	if (!j->sink && !open_sink(j))
		return 0;
	if (!copy(j))
		return 0;
	j->sum.t_copy = now() - t0 - j->sum.t_capture;
	if (o->check)
		printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
		       j->sink->skipped);
	if (o->verbose) {
		j->sum.blocksize = j->fs->blocksize;
		print_summary(&j->sum, o->device, o->image);
	}
	return 1;
}

int run_raw(const struct options *o, volatile sig_atomic_t *stop)
{
	struct raw_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	j.o = o;
	j.stop = stop;
	j.src.fd = -1;
	j.prog.enabled = o->progress;
	ok = run(&j);
	if (j.tables_running) {
		/* The scan failed under a running copy: let it end, then undo. */
		join_tables_copy(&j);
		j.sink->ops->abort(j.sink);
		ok = 0;
	}
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	source_close(&j.src);
	blockmap_free(&j.tables);
	blockmap_free(&j.scanned);
	if (j.fs)
		ext2fs_close_free(&j.fs);
	return ok ? 0 : 1;
}
