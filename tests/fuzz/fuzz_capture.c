/*
 * libFuzzer target: the capture on an untrusted filesystem image. The input
 * bytes are the image (a memfd, opened through /proc/self/fd/N with
 * unix_io_manager, as e2image opens a device). The capture runs as the
 * command runs it (tables, inodes, orphans, with warnings: best effort),
 * then the block map goes out twice: through the copy engine to a raw
 * stream sink on /dev/null, and as a qcow2 layout whose metadata is
 * emitted into a callback that checks and discards it. Everything is freed:
 * libFuzzer runs with -detect_leaks=1.
 *
 * Not fuzzed: images that claim more than FUZZ_MAX_GROUPS groups or
 * FUZZ_MAX_INODES inodes. They are valid, only slow (libext2fs scans every
 * inode table), and would make every run time out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ext2fs/ext2fs.h>
#include "blockmap.h"
#include "capture.h"
#include "copy.h"
#include "layout.h"
#include "runs.h"
#include "sink.h"
#include "source.h"
#include "warn.h"
#include "writer.h"

#define FUZZ_MAX_GROUPS 1024
#define FUZZ_MAX_INODES (1u << 16)
/* The raw stream writes the gaps as zeros: keep that quick. */
#define FUZZ_MAX_RAW_BYTES (1ull << 30)

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

struct emitted {
	const struct qcow2_plan *p;
	uint64_t next;
};

static int discard(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct emitted *e = arg;
	const unsigned char *b = buf;

	/* Front to back, whole clusters, never past the data area. */
	if (at != e->next || n == 0 || at + n > e->p->data_at)
		__builtin_trap();
	e->next = at + n;
	(void)b[0];
	(void)b[n * e->p->cluster_size - 1];
	return 0;
}

/* The captured runs as qcow2 clusters, then the metadata of that layout. */
static void qcow2_out(ext2_filsys fs, const struct blockmap *m)
{
	uint64_t bs = fs->blocksize;
	uint64_t size = ext2fs_blocks_count(fs->super) * bs;
	unsigned cb = qcow2_pick_cluster_bits(size, qcow2_log2(bs));
	struct qcow2_runs runs = { 0 };
	struct qcow2_plan plan;
	struct emitted em;
	struct bm_cursor c;
	struct bm_run r;
	int e = 0;

	if (!cb)
		return;
	blockmap_cursor(&c, m, 0);
	while (!e && blockmap_next(&c, &r))
		e = qcow2_runs_add_bytes(&runs, cb, r.start * bs, r.len * bs);
	if (!e && qcow2_plan_make(&plan, size, cb, 3, runs.v, runs.n) == QCOW2_PLAN_OK) {
		em.p = &plan;
		em.next = 0;
		if (qcow2_write_metadata(&plan, runs.v, runs.n, discard, &em) == 0 &&
		    em.next != plan.data_at)
			__builtin_trap();
	}
	qcow2_runs_free(&runs);
}

/* The captured runs copied to a stream sink on /dev/null. */
static void raw_out(const char *path, ext2_filsys fs, const struct blockmap *m,
		    struct e2i_warnings *w)
{
	struct sink_params sp = { 0 };
	struct copy_opts co = { 0 };
	struct e2i_error err = { 0 };
	struct source src;
	struct sink *s = NULL;

	if (ext2fs_blocks_count(fs->super) * fs->blocksize > FUZZ_MAX_RAW_BYTES)
		return;
	memset(&src, 0, sizeof(src));
	src.fd = -1;
	if (source_open(&src, path, 0, fs->blocksize, NULL, &err))
		return;
	sp.path = "/dev/null";
	sp.blocksize = fs->blocksize;
	sp.fs_blocks = ext2fs_blocks_count(fs->super);
	sp.err = &err;
	if (sink_stream(&sp, &s) == 0) {
		co.warn = w;
		if (copy_runs(m, &src, s, &co, &err) == 0)
			s->ops->finish(s);
		else
			s->ops->abort(s);
		s->ops->destroy(s);
	}
	source_close(&src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_opts opts = { 0 };
	struct e2i_warnings w;
	struct blockmap m;
	struct capture c;
	ext2_filsys fs = NULL;
	char path[64];
	size_t done = 0;
	errcode_t err;
	int fd;

	if (size < 2048)
		return 0; /* no superblock */
	fd = memfd_create("fuzz-fs", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			close(fd);
			return 0;
		}
		done += n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = ext2fs_open2(path, NULL,
			   EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS,
			   0, 0, unix_io_manager, &fs);
	if (err) {
		if (fs)
			ext2fs_free(fs);
		close(fd);
		return 0;
	}
	if (fs->group_desc_count > FUZZ_MAX_GROUPS ||
	    fs->super->s_inodes_count > FUZZ_MAX_INODES)
		goto close_fs;

	/* Every other input: -a or not, whole inode tables or not. */
	opts.all_data = data[size - 1] & 1;
	opts.whole_itables = (data[size - 1] >> 1) & 1;
	warn_init(&w, 0, quiet, NULL);
	blockmap_init(&m, ext2fs_blocks_count(fs->super),
		      fs->super->s_first_data_block, fs->cluster_ratio_bits);
	err = capture_init(&c, fs, &opts, &m, &w);
	if (!err) {
		err = capture_all(&c);
		capture_free(&c);
	}
	if (!err && blockmap_finish(&m) == 0) {
		raw_out(path, fs, &m, &w);
		qcow2_out(fs, &m);
	}
	blockmap_free(&m);
	warn_destroy(&w);
close_fs:
	ext2fs_close_free(&fs);
	close(fd);
	return 0;
}
