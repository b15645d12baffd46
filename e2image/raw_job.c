/*
 * The raw job: open the source, capture the block map, then copy its runs to
 * the sink. The output is opened only once the capture has succeeded, so a
 * source that cannot be read leaves no file behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	ext2_filsys fs;
	struct blockmap map;
	struct source src;
	struct sink *sink;
	struct progress prog;
	struct e2i_error err;
	uint64_t ra_budget;
};

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

static int capture(struct raw_job *j, int whole_itables)
{
	struct capture_opts co = { j->o->all_data, whole_itables, j->o->superblock };
	struct capture c;
	errcode_t err;

	err = capture_init(&c, j->fs, &co, &j->map);
	if (err) {
		msg_err(err, _("while allocating buffers for %s"), j->o->device);
		return 0;
	}
	err = capture_tables(&c);
	if (!err) {
		progress_scanning(&j->prog);
		err = capture_inodes(&c);
	}
	if (!err)
		err = capture_orphans(&c);
	if (err) {
		if (c.err.ino)
			msg_err(err, _("%s %u of %s"), _(c.err.doing), c.err.ino,
				j->o->device);
		else
			msg_err(err, _("%s of %s"), _(c.err.doing), j->o->device);
	}
	capture_free(&c);
	if (!err && (err = blockmap_finish(&j->map)))
		msg_err(err, _("while sorting the block map of %s"), j->o->device);
	return !err;
}

static int copy(struct raw_job *j, volatile sig_atomic_t *stop)
{
	const struct options *o = j->o;
	struct copy_opts co = { 0 };
	errcode_t err;

	co.reverse = o->move && o->dest_offset > o->src_offset;
	co.stop = stop;
	co.progress = progress_update;
	co.progress_arg = &j->prog;
	progress_start(&j->prog, j->map.marks, j->fs->blocksize);
	err = copy_runs(&j->map, &j->src, j->sink, &co, &j->err);
	if (!err)
		progress_done(&j->prog, j->map.captured);
	else if (j->prog.enabled)
		fputc('\n', stderr);
	if (!err)
		err = j->sink->ops->finish(j->sink);
	if (err) {
		j->sink->ops->abort(j->sink);
		msg_err(err, "%s", j->err.what);
		return 0;
	}
	return 1;
}

static int run(struct raw_job *j, volatile sig_atomic_t *stop)
{
	const struct options *o = j->o;
	struct sink_params sp = { 0 };
	enum sink_kind kind;
	int is_blockdev;
	errcode_t err;

	if (!o->move && same_file(o->device, o->image)) {
		msg_plain(_("the output %s is the source filesystem itself"), o->image);
		return 0;
	}
	if (!source_mount_ok(o) || open_source_fs(o, &j->fs))
		return 0;
	sp.path = o->image;
	sp.blocksize = j->fs->blocksize;
	sp.fs_blocks = ext2fs_blocks_count(j->fs->super);
	sp.dest_offset = o->dest_offset;
	sp.compare = o->check;
	sp.dry_run = o->dry_run;
	sp.move = o->move;
	sp.err = &j->err;
	if (sink_kind_for(&sp, &kind, &is_blockdev) ||
	    source_open(&j->src, o->device, o->src_offset, j->fs->blocksize,
			&j->err)) {
		msg_err(j->err.code, "%s", j->err.what);
		return 0;
	}
	blockmap_init(&j->map, sp.fs_blocks, j->fs->super->s_first_data_block,
		      j->fs->cluster_ratio_bits);
	j->map.on_add = early_readahead;
	j->map.on_add_arg = j;
	j->ra_budget = EARLY_READAHEAD_BYTES;
	/* A device gets whole inode tables: stale bytes there are not zeros. */
	if (!capture(j, is_blockdev && !o->dry_run))
		return 0;
	err = sink_open(&sp, &j->sink);
	if (err) {
		msg_err(err, "%s", j->err.what);
		return 0;
	}
	if (!copy(j, stop))
		return 0;
	if (o->check)
		printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
		       j->sink->skipped);
	if (o->verbose)
		print_summary(&j->map, j->fs->blocksize, o->device, o->image);
	return 1;
}

int run_raw(const struct options *o, volatile sig_atomic_t *stop)
{
	struct raw_job j;
	int ok;

	memset(&j, 0, sizeof(j));
	j.o = o;
	j.src.fd = -1;
	j.prog.enabled = o->progress;
	ok = run(&j, stop);
	if (j.sink)
		j.sink->ops->destroy(j.sink);
	source_close(&j.src);
	blockmap_free(&j.map);
	if (j.fs)
		ext2fs_close_free(&j.fs);
	return ok ? 0 : 1;
}
