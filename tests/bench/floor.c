/*
 * floor: the benchmark's floor, the least work that still produces what
 * e2image produces, timed in the same run as the tools so a reader sees
 * how close each mode comes to what the machine allows.
 *
 * It is deliberately plain: one thread, no mmap, no fadvise, no zero
 * detection. libext2fs opens the filesystem and the project's own capture
 * (lib/core/capture.h) finds the blocks, so the floor and e2image agree on
 * what to copy; only the copy differs.
 *
 *   floor raw FS OUT          the -r image: each captured run read with one
 *                             pread and written with one pwrite into a new
 *                             sparse file (OUT '-': standard output, which
 *                             must be a regular file)
 *   floor overwrite FS OUT    the same, written over an existing image of the
 *                             same filesystem: no truncation, each run in
 *                             place (what replacing an image must at least do)
 *   floor qcow2 FS BYTES OUT  the same capture, then BYTES (the size of a -Q
 *                             image) written front to back into a new file
 *                             from one buffer: what -Q cannot do with less
 *   floor copy IN OUT         IN read and written once, front to back: what
 *                             a qcow2 -> raw conversion cannot do with less
 *
 * Prints one line on stderr: capture time, runs and captured bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>
#include "blockmap.h"
#include "capture.h"
#include "io_full.h"
#include "warn.h"

/* Sequential writes and the copy go through a buffer this large. */
#define SEQ_CHUNK (1u << 20)
/* A captured run longer than this (the journal, a flex group's inode
 * tables) is copied in pieces this large: a buffer the size of a 1 GiB
 * journal would cost a page fault per 4 KiB, timing the allocator instead
 * of the machine. */
#define RUN_CHUNK (8u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_warning(void *arg, const char *msg)
{
	fprintf(stderr, "floor: %s: warning: %s\n", (const char *)arg, msg);
}

/* Opens path as e2image does and captures its blocks into m (finished). */
static int capture(const char *path, ext2_filsys *fs, struct blockmap *m)
{
	struct capture_opts opts = { 0 };
	struct e2i_warnings w;
	struct capture c;
	double t0 = now();
	uint64_t bytes = 0;
	errcode_t err;
	size_t i;

	err = ext2fs_open2(path, NULL,
			   EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS,
			   0, 0, unix_io_manager, fs);
	if (err) {
		com_err("floor", err, "while opening %s", path);
		return 0;
	}
	warn_init(&w, 0, print_warning, (void *)path);
	blockmap_init(m, ext2fs_blocks_count((*fs)->super),
		      (*fs)->super->s_first_data_block,
		      (*fs)->cluster_ratio_bits);
	err = capture_init(&c, *fs, &opts, m, &w);
	if (!err)
		err = capture_tables(&c);
	if (!err)
		err = capture_inodes(&c);
	if (!err)
		err = capture_orphans(&c);
	if (err) {
		char what[512];

		capture_error_text(&c.err, path, what, sizeof(what));
		com_err("floor", err, "%s", what);
	}
	capture_free(&c);
	warn_destroy(&w);
	if (!err && (err = blockmap_finish(m)))
		com_err("floor", err, "while sorting the block map of %s", path);
	if (err)
		return 0;
	for (i = 0; i < m->nruns; i++)
		bytes += m->runs[i].len * (*fs)->blocksize;
	fprintf(stderr, "floor: capture %.3f s, %zu runs, %" PRIu64 " bytes\n",
		now() - t0, m->nruns, bytes);
	return 1;
}

/* A new file (an existing one kept with keep), or standard output for "-". */
static int open_out(const char *path, int keep)
{
	int fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT |
					  (keep ? 0 : O_TRUNC), 0644) : 1;

	if (fd < 0)
		fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
	return fd;
}

static int close_out(int fd, const char *path)
{
	if (fd != 1 && close(fd) < 0) {
		fprintf(stderr, "floor: closing %s: %s\n", path, strerror(errno));
		return 0;
	}
	return 1;
}

static int copy_runs(const char *src, ext2_filsys fs,
		     const struct blockmap *m, const char *out, int keep)
{
	uint64_t bs = fs->blocksize, size = ext2fs_blocks_count(fs->super) * bs;
	char *buf = malloc(RUN_CHUNK);
	int in, fd = -1, ok = 0, e = 0;
	size_t i;

	in = open(src, O_RDONLY);
	if (in < 0 || !buf) {
		fprintf(stderr, "floor: %s: %s\n", src, strerror(buf ? errno : ENOMEM));
		goto out;
	}
	fd = open_out(out, keep);
	if (fd < 0)
		goto out;
	if (ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "floor: sizing %s: %s\n", out, strerror(errno));
		goto out;
	}
	for (i = 0; i < m->nruns; i++) {
		uint64_t at = m->runs[i].start * bs;
		uint64_t end = at + m->runs[i].len * bs;

		while (at < end) {
			size_t len = end - at < RUN_CHUNK ? end - at : RUN_CHUNK;
			size_t got = 0;

			e = pread_full(in, buf, len, at, &got, NULL);
			if (!e && got != len)
				e = EIO; /* the fixtures are whole: a short source is wrong */
			if (e) {
				fprintf(stderr, "floor: reading %s at %" PRIu64 ": %s\n",
					src, at, strerror(e));
				goto out;
			}
			e = pwrite_full(fd, buf, len, at, NULL);
			if (e) {
				fprintf(stderr, "floor: writing %s: %s\n", out, strerror(e));
				goto out;
			}
			at += len;
		}
	}
	ok = close_out(fd, out);
	fd = -1;
out:
	if (fd >= 0)
		close_out(fd, out);
	if (in >= 0)
		close(in);
	free(buf);
	return ok;
}

/* bytes from one buffer, front to back, into a new file. */
static int write_seq(uint64_t bytes, const char *out)
{
	char *buf = calloc(1, SEQ_CHUNK);
	int fd = buf ? open_out(out, 0) : -1, e = 0;

	if (fd < 0) {
		free(buf);
		return 0;
	}
	while (bytes && !e) {
		size_t n = bytes < SEQ_CHUNK ? bytes : SEQ_CHUNK;

		e = write_full(fd, buf, n, NULL);
		bytes -= n;
	}
	free(buf);
	if (e)
		fprintf(stderr, "floor: writing %s: %s\n", out, strerror(e));
	return close_out(fd, out) && !e;
}

/* in's bytes read and written once, front to back. */
static int copy_file(const char *src, const char *out)
{
	char *buf = malloc(SEQ_CHUNK);
	int in = open(src, O_RDONLY), fd = -1, e = 0, ok = 0;
	uint64_t off = 0;

	if (!buf || in < 0) {
		fprintf(stderr, "floor: %s: %s\n", src, strerror(buf ? errno : ENOMEM));
		goto out;
	}
	fd = open_out(out, 0);
	if (fd < 0)
		goto out;
	for (;;) {
		size_t got = 0;

		e = pread_full(in, buf, SEQ_CHUNK, off, &got, NULL);
		if (e || !got)
			break;
		e = write_full(fd, buf, got, NULL);
		if (e)
			break;
		off += got;
	}
	if (e)
		fprintf(stderr, "floor: copying %s to %s: %s\n", src, out, strerror(e));
	ok = close_out(fd, out) && !e;
out:
	if (in >= 0)
		close(in);
	free(buf);
	return ok;
}

static int usage(void)
{
	fputs("usage: floor raw FS OUT|-\n"
	      "       floor overwrite FS OUT\n"
	      "       floor qcow2 FS BYTES OUT\n"
	      "       floor copy IN OUT\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	ext2_filsys fs = NULL;
	struct blockmap m;
	int ok;

	if (argc == 4 && !strcmp(argv[1], "copy"))
		return copy_file(argv[2], argv[3]) ? 0 : 1;
	if (!(argc == 4 && (!strcmp(argv[1], "raw") ||
			    !strcmp(argv[1], "overwrite"))) &&
	    !(argc == 5 && !strcmp(argv[1], "qcow2")))
		return usage();
	add_error_table(&et_ext2_error_table);
	memset(&m, 0, sizeof(m));
	ok = capture(argv[2], &fs, &m);
	if (ok && argc == 4)
		ok = copy_runs(argv[2], fs, &m, argv[3],
			       !strcmp(argv[1], "overwrite"));
	else if (ok)
		ok = write_seq(strtoull(argv[3], NULL, 10), argv[4]);
	blockmap_free(&m);
	if (fs)
		ext2fs_close_free(&fs);
	return ok ? 0 : 1;
}
