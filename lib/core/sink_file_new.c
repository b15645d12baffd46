/*
 * A new regular file, written under a temporary name beside the target and
 * renamed into place only when complete: a failed or interrupted run never
 * leaves a file that looks like an image, nor clobbers an older one.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sink.h"
#include "nls.h"

/* With --sync, writeback is started every this many bytes, so the final
 * flush finds little left to do: the disk works while we copy. Without it,
 * nothing waits for the disk, as with cp or e2fsprogs: a metadata image is a
 * copy that can be taken again. */
#define WRITEBACK_BYTES (8u << 20)

struct file_new {
	struct sink s;
	int fd;
	char *path;
	char *tmp;
	uint64_t wb_from, wb_to; /* range written since the last kick */
	uint64_t wb_bytes;       /* bytes written in it (holes excluded) */
	int sync;
};

static void start_writeback(struct file_new *f)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (f->wb_to > f->wb_from)
		(void)sync_file_range(f->fd, (off_t)f->wb_from,
				      (off_t)(f->wb_to - f->wb_from),
				      SYNC_FILE_RANGE_WRITE);
#endif
	f->wb_from = f->wb_to;
	f->wb_bytes = 0;
}

static errcode_t fn_write(struct sink *s, uint64_t blk, uint64_t n,
			  const void *buf)
{
	struct file_new *f = (struct file_new *)s;
	uint64_t start = s->dest_offset + blk * s->blocksize;
	uint64_t end = start + n * s->blocksize;
	int e = pwrite_full(f->fd, buf, n * s->blocksize, start, s->stop);

	if (e)
		return e2i_seterr(s->err, e, _("while writing block %llu to %s"),
				  (unsigned long long)blk, f->path);
	s->written += n;
	/* Holes inside the range cost nothing; a step back starts a new one. */
	if (start < f->wb_from) {
		start_writeback(f);
		f->wb_from = f->wb_to = start;
	}
	if (end > f->wb_to)
		f->wb_to = end;
	f->wb_bytes += end - start;
	if (f->wb_bytes >= WRITEBACK_BYTES && f->sync)
		start_writeback(f);
	return 0;
}

/* The new name is durable only once its directory is. */
static errcode_t sync_dir_of(const char *path, struct e2i_error *err)
{
	char *dir = strdup(path), *slash;
	int fd, e = 0;

	if (!dir)
		return e2i_seterr(err, ENOMEM, _("while flushing the directory of %s"), path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	if (e)
		return e2i_seterr(err, e, _("while flushing the directory of %s"), path);
	return 0;
}

static errcode_t fn_finish(struct sink *s)
{
	struct file_new *f = (struct file_new *)s;

	if (f->sync && fdatasync(f->fd) < 0)
		return e2i_seterr(s->err, errno, _("while flushing %s"), f->path);
	/* Last chance for a stop request: nothing is under the final name yet. */
	if (stopped(s->stop))
		return e2i_seterr(s->err, EINTR, _("while writing %s"), f->path);
	if (close(f->fd) < 0) {
		f->fd = -1;
		return e2i_seterr(s->err, errno, _("while closing %s"), f->path);
	}
	f->fd = -1;
	if (rename(f->tmp, f->path) < 0)
		return e2i_seterr(s->err, errno, _("while renaming %s to %s"),
				  f->tmp, f->path);
	free(f->tmp);
	f->tmp = NULL;
	return f->sync ? sync_dir_of(f->path, s->err) : 0;
}

static void fn_abort(struct sink *s)
{
	struct file_new *f = (struct file_new *)s;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	f->tmp = NULL;
}

static void fn_destroy(struct sink *s)
{
	struct file_new *f = (struct file_new *)s;

	fn_abort(s);
	free(f->path);
	free(f);
}

static const struct sink_ops file_new_ops = {
	fn_write, fn_finish, fn_abort, fn_destroy
};

errcode_t sink_file_new(const struct sink_params *p, struct sink **out)
{
	struct file_new *f = calloc(1, sizeof(*f));
	uint64_t size = p->dest_offset + p->fs_blocks * (uint64_t)p->blocksize;
	struct stat st;

	if (!f)
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	f->s.ops = &file_new_ops;
	f->s.blocksize = p->blocksize;
	f->s.fs_blocks = p->fs_blocks;
	f->s.dest_offset = p->dest_offset;
	f->s.holes_read_zero = 1;
	f->s.gaps_read_zero = 1;
	f->s.err = p->err;
	f->s.stop = p->stop;
	f->fd = -1;
	f->sync = p->sync;
	f->path = strdup(p->path);
	if (f->path && asprintf(&f->tmp, "%s.e2i-XXXXXX", p->path) < 0)
		f->tmp = NULL;
	if (!f->path || !f->tmp) {
		fn_destroy(&f->s);
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	}
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		errcode_t e = errno;

		free(f->tmp);
		f->tmp = NULL;
		fn_destroy(&f->s);
		return e2i_seterr(p->err, e, _("while creating %s"), p->path);
	}
	/* An image replacing a file keeps that file's permissions. */
	if (stat(p->path, &st) == 0)
		(void)fchmod(f->fd, st.st_mode & 07777);
	/* Sized first, so no write has to extend the file. */
	if (ftruncate(f->fd, (off_t)size) < 0) {
		errcode_t e = errno;

		fn_destroy(&f->s);
		return e2i_seterr(p->err, e, _("while setting the size of %s"),
				  p->path);
	}
	*out = &f->s;
	return 0;
}
