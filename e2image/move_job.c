/*
 * The crash-safe in-place move (-ra -O N or -ra -o N with one path).
 *
 * The copy engine moves the captured blocks in an order where no write
 * lands on the source of a block still to be moved (from the end when the
 * filesystem goes to a higher offset). What is left is a crash: a block
 * whose destination write was lost in the disk's cache after its source was
 * overwritten is gone. So, with a journal on another device
 * (lib/core/move_journal.c):
 *
 * - before a piece of the move is written where blocks moved since the
 *   last checkpoint have their sources, the device is flushed and the
 *   journal records how many blocks are done (a checkpoint): every block
 *   before that count is on the disk at its destination;
 * - a piece that overlaps its own source (a move by less than a piece) is
 *   first written whole into the journal, then to the device, then a
 *   checkpoint follows;
 * - a checkpoint at least every CHECKPOINT_BYTES bounds what a resumed move
 *   does again.
 *
 * So at every moment each block has a whole copy at its source, at its
 * destination (counted done), or in the journal. Running the same command
 * again resumes from the last checkpoint (replaying the journal's piece, if
 * any); --move-abort moves what was done back, journaled the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "copy.h"
#include "messages.h"
#include "move_job.h"
#include "move_journal.h"
#include "nls.h"
#include "open_fs.h"
#include "plan.h"

#define CHECKPOINT_BYTES (256ull << 20)
#define JOURNAL_DIR "/var/lib/e2image-ng"

struct mover {
	struct copy_journal cj;      /* first: the engine's hooks */
	struct move_journal *mj;
	const struct options *o;
	int dev_fd;                  /* the sink's descriptor, to flush */
	uint64_t src, dst;           /* this phase's offsets, in bytes */
	unsigned bs;
	uint64_t done;               /* blocks done in this phase */
	uint64_t un_lo, un_hi;       /* sources of blocks written since the
				      * last checkpoint (un_hi 0: none) */
	uint64_t since;              /* bytes written since then */
	int wal;                     /* the piece in flight is in the journal */
	struct e2i_error *err;
};

/* The device flushed, then the count recorded: done blocks are safe. */
static errcode_t checkpoint(struct mover *mv)
{
	if (fdatasync(mv->dev_fd) < 0)
		return e2i_seterr(mv->err, errno, _("while flushing %s"), mv->o->device);
	mv->un_lo = mv->un_hi = 0;
	mv->since = 0;
	return mj_set_done(mv->mj, mv->done);
}

static void span(const struct copy_seg *s, size_t n, uint64_t *lo, uint64_t *hi)
{
	size_t i;

	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < n; i++) {
		if (s[i].blk < *lo)
			*lo = s[i].blk;
		if (s[i].blk + s[i].n > *hi)
			*hi = s[i].blk + s[i].n;
	}
}

static int meet(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

static errcode_t before_write(struct copy_journal *cj, const struct copy_seg *segs,
			      size_t nsegs, const void *data)
{
	struct mover *mv = (struct mover *)cj;
	uint64_t lo, hi, dlo, dhi, slo, shi;
	errcode_t err;

	span(segs, nsegs, &lo, &hi);
	dlo = mv->dst + lo * mv->bs;
	dhi = mv->dst + hi * mv->bs;
	slo = mv->src + lo * mv->bs;
	shi = mv->src + hi * mv->bs;
	if (mv->un_hi && meet(dlo, dhi, mv->un_lo, mv->un_hi) &&
	    (err = checkpoint(mv)))
		return err;
	if (!meet(dlo, dhi, slo, shi))
		return 0;
	if (mv->un_hi && (err = checkpoint(mv)))
		return err;
	mv->wal = 1;
	return mj_set_record(mv->mj, segs, nsegs, data);
}

static errcode_t after_write(struct copy_journal *cj, const struct copy_seg *segs,
			     size_t nsegs)
{
	struct mover *mv = (struct mover *)cj;
	uint64_t lo, hi, blocks = 0;
	size_t i;

	for (i = 0; i < nsegs; i++)
		blocks += segs[i].n;
	mv->done += blocks;
	if (mv->wal) {
		mv->wal = 0;
		return checkpoint(mv);
	}
	span(segs, nsegs, &lo, &hi);
	if (!mv->un_hi || mv->src + lo * mv->bs < mv->un_lo)
		mv->un_lo = mv->src + lo * mv->bs;
	if (mv->src + hi * mv->bs > mv->un_hi)
		mv->un_hi = mv->src + hi * mv->bs;
	mv->since += blocks * mv->bs;
	return mv->since >= CHECKPOINT_BYTES ? checkpoint(mv) : 0;
}

/* Writes the journal's piece to base + its blocks' offsets, durably. */
static errcode_t put_record(struct mover *mv, uint64_t base)
{
	struct copy_seg *segs;
	size_t n, i;
	void *data;
	uint64_t at = 0;
	errcode_t err = mj_get_record(mv->mj, &segs, &n, &data);
	int e = 0;

	for (i = 0; !err && !e && i < n; i++) {
		e = pwrite_full(mv->dev_fd, (char *)data + at, segs[i].n * mv->bs,
				base + segs[i].blk * mv->bs, NULL);
		at += segs[i].n * mv->bs;
	}
	if (!err && !e && n && fdatasync(mv->dev_fd) < 0)
		e = errno;
	if (e)
		err = e2i_seterr(mv->err, e, _("while writing the journal's blocks to %s"),
				 mv->o->device);
	if (!err)
		mv->done += at / mv->bs;
	free(segs);
	free(data);
	return err;
}

/* The default journal, found from what is moved, not from the name it is
 * given (a symlink or another name must find the same journal): beside
 * the file's real path; for a device, in JOURNAL_DIR by its number. */
static char *journal_path(const struct options *o, const struct stat *st)
{
	char *real, *path;
	size_t len;

	if (o->move_journal)
		return strdup(o->move_journal);
	if (S_ISREG(st->st_mode)) {
		real = realpath(o->device, NULL);
		if (!real)
			return NULL;
		len = strlen(real) + sizeof(".e2image-move");
		path = malloc(len);
		if (path)
			snprintf(path, len, "%s.e2image-move", real);
		free(real);
		return path;
	}
	if (mkdir(JOURNAL_DIR, 0700) == 0) {
		int d = open("/var/lib", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (d >= 0) {  /* the new directory's entry, on the disk */
			(void)fsync(d);
			close(d);
		}
	}
	len = strlen(JOURNAL_DIR) + 64;
	path = malloc(len);
	if (path)
		snprintf(path, len, "%s/move-%u:%u.journal", JOURNAL_DIR,
			 major(st->st_rdev), minor(st->st_rdev));
	return path;
}

/* One move per device or file at a time, whatever name each is given. */
static int lock_device(const struct options *o)
{
	int fd = open(o->device, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		msg_err(errno, _("while opening %s"), o->device);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		msg_err(errno, _("while locking %s (is another e2image moving it?)"), o->device);
		close(fd);
		return -1;
	}
	return fd;
}

static int open_sink(struct mover *mv, const struct options *o, uint64_t dst,
		     uint64_t fs_blocks, int is_blockdev, struct sink **sink)
{
	struct sink_params sp = { 0 };
	errcode_t err;

	sp.path = o->device;
	sp.blocksize = mv->bs;
	sp.fs_blocks = fs_blocks;
	sp.dest_offset = dst;
	sp.compare = o->check;
	sp.move = 1;
	sp.sync = 1;
	sp.err = mv->err;
	sp.stop = NULL;
	err = sink_in_place(&sp, is_blockdev, sink);
	if (err) {
		msg_err(err, "%s", mv->err->what);
		return 0;
	}
	mv->dev_fd = (*sink)->fd;
	return 1;
}

struct run_ctx {
	const struct options *o;
	e2i_stop *stop;
	struct e2i_warnings *warn;
	struct progress *prog;
	struct e2i_error *err;
	int is_blockdev;
	const char *jpath;
};

/* One phase: the move (MJ_MOVING) or its undoing (MJ_ABORTING), from the
 * journal's count on. Returns 1 when the phase is complete. */
static int run_phase(struct run_ctx *c, struct move_journal *mj,
		     struct blockmap *m, struct source *src)
{
	int aborting = mj->state == MJ_ABORTING;
	uint64_t s = aborting ? mj->p.dst_off : mj->p.src_off;
	uint64_t d = aborting ? mj->p.src_off : mj->p.dst_off;
	uint64_t total = aborting ? mj->moved : mj->captured;
	struct mover mv;
	struct copy_opts co = { 0 };
	struct sink *sink = NULL;
	errcode_t err = 0;
	int ok = 0;

	memset(&mv, 0, sizeof(mv));
	mv.cj.before_write = before_write;
	mv.cj.after_write = after_write;
	mv.mj = mj;
	mv.o = c->o;
	mv.src = s;
	mv.dst = d;
	mv.bs = mj->p.blocksize;
	mv.done = mj->done;
	mv.err = c->err;
	if (!open_sink(&mv, c->o, d, mj->p.fs_blocks, c->is_blockdev, &sink))
		return 0;
	/* A piece the journal holds goes where this phase writes. */
	if (mj->rec_len && ((err = put_record(&mv, d)) || (err = checkpoint(&mv))))
		goto out;
	co.reverse = d > s;
	co.stop = c->stop;
	co.skip = mv.done;
	co.journal = &mv.cj;
	co.progress = progress_update;
	co.progress_arg = c->prog;
	progress_start_from(c->prog, mv.done, total, mv.bs);
	err = copy_runs(m, src, sink, &co, c->err);
	if (err) {
		if (mv.done > mj->done && !mv.wal)
			(void)checkpoint(&mv); /* stopped or failed: keep what is done */
	} else if (!(err = sink->ops->finish(sink))) {
		/* A file grown to the filesystem's new end and everything
		 * flushed (sync is set): then the count. */
		err = mj_set_done(mj, mv.done);
	}
	if (!err) {
		progress_done(c->prog, total);
		if (c->o->check && !aborting)
			printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
			       sink->skipped);
		ok = 1;
	} else {
		progress_break(c->prog);
	}
out:
	if (err)
		msg_err(err, "%s", c->err->what);
	if (!ok)
		msg_plain(aborting ?
			  _("the move of %s is unfinished: %llu of %llu blocks moved back; run the same command again to finish it, or add --move-abort to undo it (journal: %s)") :
			  _("the move of %s is unfinished: %llu of %llu blocks moved; run the same command again to finish it, or add --move-abort to undo it (journal: %s)"),
			  c->o->device, (unsigned long long)mj->done,
			  (unsigned long long)total, c->jpath);
	sink->ops->destroy(sink);
	return ok;
}

/* Resumes or undoes the move mj records. */
static int finish(struct run_ctx *c, struct move_journal *mj)
{
	struct blockmap m;
	struct source src;
	int ok;

	if (c->o->move_abort && mj->state == MJ_MOVING) {
		struct mover mv;
		struct sink *sink;

		/* The piece in flight had its source overwritten maybe: the
		 * journal's copy goes back there first. */
		memset(&mv, 0, sizeof(mv));
		mv.mj = mj;
		mv.o = c->o;
		mv.bs = mj->p.blocksize;
		mv.err = c->err;
		if (mj->rec_len) {
			if (!open_sink(&mv, c->o, 0, mj->p.fs_blocks, c->is_blockdev, &sink))
				return 0;
			mv.done = mj->done;
			if (put_record(&mv, mj->p.src_off)) {
				msg_err(c->err->code, "%s", c->err->what);
				sink->ops->destroy(sink);
				return 0;
			}
			sink->ops->destroy(sink);
		}
		if (mj_start_abort(mj)) {
			msg_err(c->err->code, "%s", c->err->what);
			return 0;
		}
	}
	if (mj_runs(mj, mj->state == MJ_ABORTING ? mj->moved : UINT64_MAX, &m)) {
		msg_err(c->err->code, "%s", c->err->what);
		return 0;
	}
	if (source_open(&src, c->o->device,
			mj->state == MJ_ABORTING ? mj->p.dst_off : mj->p.src_off,
			mj->p.blocksize, c->stop, c->err)) {
		msg_err(c->err->code, "%s", c->err->what);
		blockmap_free(&m);
		return 0;
	}
	ok = run_phase(c, mj, &m, &src);
	source_close(&src);
	blockmap_free(&m);
	if (ok && mj_remove(mj)) {
		msg_err(c->err->code, "%s", c->err->what);
		return 0;
	}
	if (ok && mj->state == MJ_ABORTING)
		msg_plain(_("the move of %s is undone: the filesystem is back at byte %llu"),
			  c->o->device, (unsigned long long)mj->p.src_off);
	return ok;
}

static int same_move(const struct options *o, const struct move_journal *mj,
		     const struct stat *st)
{
	int same_dev = S_ISBLK(st->st_mode) ? mj->p.rdev == (uint64_t)st->st_rdev :
			(mj->p.dev == (uint64_t)st->st_dev && mj->p.ino == (uint64_t)st->st_ino);

	return same_dev && mj->p.src_off == o->src_offset &&
	       mj->p.dst_off == o->dest_offset;
}

/* A new move: capture, check, journal, go. */
static int start(struct run_ctx *c, const char *jpath, const struct stat *st,
		 struct plan *p)
{
	struct mj_params mp = { 0 };
	struct move_journal *mj;
	uint64_t bytes;
	int ok;

	if (!plan_open(p, c->o, c->stop) || !plan_capture(p))
		return 0;
	bytes = ext2fs_blocks_count(p->fs->super) * (uint64_t)p->fs->blocksize;
	if (S_ISBLK(st->st_mode) && c->o->dest_offset + bytes > p->src.size) {
		msg_plain(_("moving the filesystem of %s to byte %llu would end past the end of the device (%llu bytes); nothing was written"),
			  c->o->device, (unsigned long long)c->o->dest_offset,
			  (unsigned long long)p->src.size);
		return 0;
	}
	mp.src_off = c->o->src_offset;
	mp.dst_off = c->o->dest_offset;
	mp.blocksize = p->fs->blocksize;
	mp.fs_blocks = ext2fs_blocks_count(p->fs->super);
	mp.first_data_block = p->fs->super->s_first_data_block;
	mp.dev = st->st_dev;
	mp.ino = st->st_ino;
	mp.rdev = st->st_rdev;
	progress_phase(c->prog, _("Writing the move journal..."));
	if (mj_create(jpath, &mp, &p->blocks, c->err, &mj)) {
		msg_err(c->err->code, _("%s; nothing was moved"), c->err->what);
		return 0;
	}
	c->is_blockdev = p->is_blockdev;
	ok = run_phase(c, mj, &p->blocks, &p->src);
	if (ok && mj_remove(mj)) {
		msg_err(c->err->code, "%s", c->err->what);
		ok = 0;
	}
	mj_close(mj);
	return ok;
}

int run_move(const struct options *o, e2i_stop *stop)
{
	struct run_ctx c = { 0 };
	struct move_journal *mj = NULL;
	struct e2i_error err = { 0 };
	struct progress prog = { 0 };
	struct plan p;
	struct stat st;
	char *jpath;
	errcode_t e;
	int ok = 0, planned = 0, lockfd, undone = 0;

	memset(&p, 0, sizeof(p));
	if (stat(o->device, &st) < 0) {
		msg_err(errno, _("while opening %s"), o->device);
		return 1;
	}
	jpath = journal_path(o, &st);
	if (!jpath) {
		msg_err(errno ? errno : ENOMEM, _("while finding the move journal of %s"), o->device);
		return 1;
	}
	lockfd = lock_device(o);
	if (lockfd < 0) {
		free(jpath);
		return 1;
	}
	progress_init(&prog, o->progress);
	c.o = o;
	c.stop = stop;
	c.prog = &prog;
	c.err = &err;
	c.jpath = jpath;
	c.is_blockdev = S_ISBLK(st.st_mode);
	e = mj_open(jpath, &err, &mj);
	if (e == ENOENT) {
		if (o->move_abort)
			msg_plain(_("no unfinished move of %s is recorded in %s: nothing to undo"),
				  o->device, jpath);
		else {
			planned = 1;
			ok = start(&c, jpath, &st, &p);
		}
	} else if (e) {
		msg_err(e, "%s", err.what);
	} else if (!source_mount_ok(o)) {
		;  /* a resumed move opens no filesystem: the check is here */
	} else if (!same_move(o, mj, &st)) {
		msg_plain(_("%s records an unfinished move of %s from byte %llu to byte %llu: finish it with that command (or undo it with --move-abort) first"),
			  jpath, o->device, (unsigned long long)mj->p.src_off,
			  (unsigned long long)mj->p.dst_off);
	} else {
		if (!o->move_abort || mj->state == MJ_ABORTING)
			msg_plain(mj->state == MJ_ABORTING ?
				  _("undoing the unfinished move of %s recorded in %s: %llu of %llu blocks were moved back") :
				  _("resuming the unfinished move of %s recorded in %s: %llu of %llu blocks were moved"),
				  o->device, jpath, (unsigned long long)mj->done,
				  (unsigned long long)(mj->state == MJ_ABORTING ? mj->moved : mj->captured));
		undone = mj->state == MJ_ABORTING || o->move_abort;
		ok = finish(&c, mj);
		/* The move command found an undo to finish: it did, but it did
		 * not move the filesystem. */
		if (ok && undone && !o->move_abort) {
			msg_plain(_("the filesystem of %s was not moved: run the command again to move it"),
				  o->device);
			ok = 0;
		}
	}
	close(lockfd);
	mj_close(mj);
	free(jpath);
	if (planned) {
		ok = plan_status(&p, ok);
		plan_close(&p);
		return ok;
	}
	return ok ? 0 : 1;
}
