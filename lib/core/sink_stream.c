/*
 * A stream (stdout, a pipe, a character device): written strictly in order,
 * holes as zeros, so the bytes are the whole filesystem image.
 *
 * When stdout is a regular file we are at the end of (`e2image -r fs - >
 * out`), the holes are skipped instead of written: the same bytes, without
 * gigabytes of zeros through the page cache. The file offset is left at
 * the end, as if every byte had been written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sink.h"
#include "out_path.h"
#include "nls.h"

#define ZERO_CHUNK (1u << 20)

struct stream {
	struct sink s;
	int fd;
	int own_fd;
	char *name;
	uint64_t pos;      /* next block the stream expects */
	char *zeros;
	int sparse;        /* a regular file: holes are sought over */
	int sync;          /* --sync: flush what the stream wrote to a file */
	uint64_t base;     /* sparse: file offset of block 0 */
};

static errcode_t st_fail(struct stream *t, int e, uint64_t blk)
{
	return e2i_seterr(t->s.err, e, _("while writing block %llu to %s"),
			  (unsigned long long)blk, t->name);
}

static errcode_t st_zeros(struct stream *t, uint64_t bytes, uint64_t blk)
{
	if (t->sparse)
		return 0;
	while (bytes) {
		size_t n = bytes < ZERO_CHUNK ? bytes : ZERO_CHUNK;
		/* Terabytes of zeros can take hours: a stop ends them too. */
		int e = stopped(t->s.stop) ? EINTR :
			write_full(t->fd, t->zeros, n, t->s.stop);

		if (e)
			return st_fail(t, e, blk);
		bytes -= n;
		t->s.zero_bytes += n;
	}
	return 0;
}

static errcode_t st_write(struct sink *s, uint64_t blk, uint64_t n,
			  const void *buf)
{
	struct stream *t = (struct stream *)s;
	errcode_t err;
	int e;

	if (blk < t->pos)
		return e2i_seterr(s->err, EINVAL,
				  _("while writing block %llu out of order to %s"),
				  (unsigned long long)blk, t->name);
	err = st_zeros(t, (blk - t->pos) * s->blocksize, t->pos);
	if (err)
		return err;
	if (t->sparse)
		e = pwrite_full(t->fd, buf, n * s->blocksize,
				t->base + blk * s->blocksize, s->stop);
	else
		e = write_full(t->fd, buf, n * s->blocksize, s->stop);
	if (e)
		return st_fail(t, e, blk);
	t->pos = blk + n;
	s->written += n;
	return 0;
}

static errcode_t st_finish(struct sink *s)
{
	struct stream *t = (struct stream *)s;
	errcode_t err = st_zeros(t, (s->fs_blocks - t->pos) * s->blocksize,
				 t->pos);

	if (err)
		return err;
	t->pos = s->fs_blocks;
	if (t->sparse) {
		uint64_t end = t->base + s->fs_blocks * s->blocksize;
		struct stat st;

		if ((fstat(t->fd, &st) == 0 && (uint64_t)st.st_size < end &&
		     ftruncate(t->fd, (off_t)end) < 0) ||
		    lseek(t->fd, (off_t)end, SEEK_SET) < 0)
			return e2i_seterr(s->err, errno, _("while writing to %s"), t->name);
	}
	/* Only a file or a device can be flushed; a pipe has no disk. */
	if (t->sync && fdatasync(t->fd) < 0 && errno != EINVAL && errno != EROFS)
		return e2i_seterr(s->err, errno, _("while flushing %s"), t->name);
	if (t->own_fd && close(t->fd) < 0) {
		t->fd = -1;
		return e2i_seterr(s->err, errno, _("while closing %s"), t->name);
	}
	if (t->own_fd)
		t->fd = -1;
	return 0;
}

static void st_abort(struct sink *s)
{
	(void)s; /* bytes already sent cannot be taken back */
}

static void st_destroy(struct sink *s)
{
	struct stream *t = (struct stream *)s;

	if (t->own_fd && t->fd >= 0)
		close(t->fd);
	free(t->zeros);
	free(t->name);
	free(t);
}

static const struct sink_ops stream_ops = {
	st_write, st_finish, st_abort, st_destroy
};

static errcode_t open_named(const struct sink_params *p, int *fd)
{
	struct out_path op;
	errcode_t err = out_path_resolve(p->path, &op, p->err);

	if (err)
		return err;
	err = out_path_open(&op, p->path, O_WRONLY | O_CLOEXEC, fd, p->err);
	out_path_release(&op);
	return err;
}

errcode_t sink_stream(const struct sink_params *p, struct sink **out)
{
	struct stream *t = calloc(1, sizeof(*t));
	int to_stdout = strcmp(p->path, "-") == 0;
	errcode_t err;

	if (!t)
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	t->s.ops = &stream_ops;
	t->s.blocksize = p->blocksize;
	t->s.fs_blocks = p->fs_blocks;
	t->s.dest_offset = p->dest_offset;
	t->s.gaps_read_zero = 1;
	t->s.err = p->err;
	t->s.stop = p->stop;
	t->name = strdup(to_stdout ? "stdout" : p->path);
	t->zeros = calloc(1, ZERO_CHUNK);
	t->fd = to_stdout ? STDOUT_FILENO : -1;
	t->own_fd = !to_stdout;
	t->sync = p->sync;
	if (!t->name || !t->zeros) {
		st_destroy(&t->s);
		return e2i_seterr(p->err, ENOMEM, _("while opening %s"), p->path);
	}
	/* A named FIFO or device is opened where out_path found (and
	 * checked) it, not by its name again. */
	if (!to_stdout && (err = open_named(p, &t->fd))) {
		st_destroy(&t->s);
		return err;
	}
	if (to_stdout) {
		struct stat st;
		off_t here = lseek(t->fd, 0, SEEK_CUR);
		int fl = fcntl(t->fd, F_GETFL);

		/* Only at the end of the file: holes must read as zeros. */
		if (fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode) && here >= 0 &&
		    here == st.st_size && fl >= 0 && !(fl & O_APPEND)) {
			t->sparse = 1;
			t->base = (uint64_t)here + p->dest_offset;
			t->s.holes_read_zero = 1;
		}
	}
	/* -O on a stream: the bytes before the filesystem are zeros. */
	err = st_zeros(t, p->dest_offset, 0);
	if (err) {
		st_destroy(&t->s);
		return err;
	}
	t->s.fd = t->fd;
	*out = &t->s;
	return 0;
}
