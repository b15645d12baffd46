/*
 * A new regular file, written under a temporary name beside the target and
 * renamed into place only when complete: a failed or interrupted run never
 * leaves a file that looks like an image, nor clobbers an older one.
 *
 * The target is where the path leads (out_path.h): through a symlink, the
 * image replaces the symlink's target and the symlink stays.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sink.h"
#include "out_path.h"
#include "nls.h"

/* With --sync, writeback is started every this many bytes, so the final
 * flush finds little left to do: the disk works while we copy. Without it,
 * nothing waits for the disk, as with cp or e2fsprogs: a metadata image is a
 * copy that can be taken again. */
#define WRITEBACK_BYTES (8u << 20)

struct file_new {
	struct sink s;
	int fd;
	char *path;              /* as the user named it */
	struct out_path op;      /* the target */
	char *tmp;               /* the temporary's name in op.dirfd */
	char *tmp_shown;         /* the same as a path, for messages */
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

/*
 * Renames the temporary onto the target. An existing target is swapped
 * with it and then unlinked: renaming over a file makes ext4
 * (auto_da_alloc) allocate and start writing the whole new image inside
 * rename(), about a fifth of a 100 MB run; a swap does not. The name
 * holds the old image or the new one at every instant, as with rename().
 */
static int put_in_place(struct file_new *f)
{
#ifdef RENAME_EXCHANGE
	if (renameat2(f->op.dirfd, f->tmp, f->op.dirfd, f->op.name,
		      RENAME_EXCHANGE) == 0) {
		/* The temporary name now holds the old image; it goes as
		 * rename() would have dropped it. What rename() would have
		 * refused to replace (a directory put there meanwhile) is
		 * swapped back. */
		if (unlinkat(f->op.dirfd, f->tmp, 0) == 0 || errno == ENOENT)
			return 1;
		if (errno == EISDIR) {
			(void)renameat2(f->op.dirfd, f->tmp, f->op.dirfd,
					f->op.name, RENAME_EXCHANGE);
			errno = EISDIR;
			return 0;
		}
		/* The old image could not go (EPERM, EBUSY...): swapped back
		 * and renamed over, as without the swap, so that it is not
		 * left under the temporary name while we say all went well. */
		if (renameat2(f->op.dirfd, f->tmp, f->op.dirfd, f->op.name,
			      RENAME_EXCHANGE) != 0)
			return 1;
	}
	/* No target (ENOENT) or no swap on this filesystem: plain rename. */
#endif
	return renameat(f->op.dirfd, f->tmp, f->op.dirfd, f->op.name) == 0;
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
	if (!put_in_place(f))
		return e2i_seterr(s->err, errno, _("while renaming %s to %s"),
				  f->tmp_shown, f->op.shown);
	free(f->tmp);
	f->tmp = NULL;
	/* The new name is durable only once its directory is (opened again:
	 * the one held may be an O_PATH descriptor, which cannot be synced). */
	if (f->sync) {
		int d = openat(f->op.dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int e = d < 0 || fsync(d) < 0 ? errno : 0;

		if (d >= 0)
			close(d);
		if (e)
			return e2i_seterr(s->err, e, _("while flushing the directory of %s"),
					  f->op.shown);
	}
	return 0;
}

static void fn_abort(struct sink *s)
{
	struct file_new *f = (struct file_new *)s;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp)
		unlinkat(f->op.dirfd, f->tmp, 0);
	free(f->tmp);
	f->tmp = NULL;
}

static void fn_destroy(struct sink *s)
{
	struct file_new *f = (struct file_new *)s;

	fn_abort(s);
	out_path_release(&f->op);
	free(f->tmp_shown);
	free(f->path);
	free(f);
}

static const struct sink_ops file_new_ops = {
	fn_write, fn_finish, fn_abort, fn_destroy
};

/*
 * NAME.e2i-XXXXXX beside the target, mode 0600 as e2fsprogs creates its
 * images (mkostemp cannot create relative to a directory descriptor).
 */
static errcode_t create_tmp(struct file_new *f)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[6];
	size_t dir_len = strlen(f->op.shown) - strlen(f->op.name);
	int tries, i;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return errno;
		for (i = 0; i < 6; i++)
			r[i] = chars[r[i] % (sizeof(chars) - 1)];
		if (asprintf(&f->tmp, "%s.e2i-%.6s", f->op.name, r) < 0) {
			f->tmp = NULL;
			return ENOMEM;
		}
		f->fd = openat(f->op.dirfd, f->tmp,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (f->fd >= 0)
			break;
		free(f->tmp);
		f->tmp = NULL;
		if (errno != EEXIST)
			return errno;
	}
	if (f->fd < 0)
		return EEXIST;
	if (asprintf(&f->tmp_shown, "%.*s%s", (int)dir_len, f->op.shown,
		     f->tmp) < 0) {
		f->tmp_shown = NULL;
		return ENOMEM;
	}
	return 0;
}

/*
 * An image replacing a file keeps that file's owner, group and permission
 * bits, never setuid, setgid or sticky: whoever owned the old file chose
 * those bits for a program or a directory, not for our image.
 */
static errcode_t keep_owner_and_mode(struct file_new *f)
{
	const struct stat *old = &f->op.st;
	mode_t mode = old->st_mode & 0777;
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return e2i_seterr(f->s.err, errno, _("while creating %s"), f->path);
	if ((old->st_uid != st.st_uid || old->st_gid != st.st_gid) &&
	    fchown(f->fd, old->st_uid, old->st_gid) < 0) {
		if (errno != EPERM && errno != EINVAL)
			return e2i_seterr(f->s.err, errno,
					  _("while giving %s the owner and group of the file it replaces"),
					  f->path);
		/* Not allowed to give it back: the file is ours now, and the
		 * group and others its owner let in are not ours to let in. */
		mode &= 0700;
	}
	if (fchmod(f->fd, mode) < 0)
		return e2i_seterr(f->s.err, errno,
				  _("while setting the permissions of %s"), f->path);
	return 0;
}

errcode_t sink_file_new(const struct sink_params *p, struct sink **out)
{
	struct file_new *f = calloc(1, sizeof(*f));
	uint64_t size = p->dest_offset + p->fs_blocks * (uint64_t)p->blocksize;
	errcode_t e;

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
	f->op.dirfd = -1;
	f->path = strdup(p->path);
	if (!f->path) {
		fn_destroy(&f->s);
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	}
	e = out_path_resolve(p->path, &f->op, p->err);
	if (e) {
		fn_destroy(&f->s);
		return e;
	}
	e = create_tmp(f);
	if (e) {
		fn_destroy(&f->s);
		return e2i_seterr(p->err, e, _("while creating %s"), p->path);
	}
	if (f->op.exists && (e = keep_owner_and_mode(f)) != 0) {
		fn_destroy(&f->s);
		return e;
	}
	/* Sized first, so no write has to extend the file. */
	if (ftruncate(f->fd, (off_t)size) < 0) {
		e = errno;
		fn_destroy(&f->s);
		return e2i_seterr(p->err, e, _("while setting the size of %s"),
				  p->path);
	}
	f->s.fd = f->fd;
	*out = &f->s;
	return 0;
}
