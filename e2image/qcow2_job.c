/*
 * The qcow2 job: the captured blocks that hold data, as the clusters of a
 * qcow2 file. To a file, in one pass, data first and tables last; to a
 * stream (stdout, a pipe), where nothing can be sought back to and the
 * tables must come first, in two (see one_pass and two_passes). Two passes
 * too where data first is not safe (qcow2_data_first_fits: clusters under
 * 2 KiB, or a file that could outgrow the virtual size). Compressed (-z),
 * always one pass: what a stream needs first is kept until it is known.
 * lib/qcow2's image writer does the layout; this file feeds it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compress.h"
#include "qcow2.h"
#include "copy.h"
#include "layout.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "qcow2_data.h"
#include "qcow2_job.h"
#include "runs.h"

struct qjob {
	struct plan p;
	struct blockmap nonzero;   /* two passes: the blocks that hold data */
	struct qcow2_runs runs;    /* two passes: their clusters */
	struct qcow2_image *img;
	struct sink *out;
	const char *name;
	unsigned cb;               /* cluster bits, once chosen */
	const char *man_stored;    /* in the header: "full", "compact", "none" */
};

/* Copies every captured block to s (zero blocks left out), with progress;
 * final: the bytes go to the image (-s applies). */
static errcode_t copy_pass(struct qjob *q, struct sink *s, int final,
			   int digest)
{
	struct plan *p = &q->p;
	struct copy_opts co = { 0 };

	if (digest)
		plan_digest_copy(p, &co);

	if (final)  /* names replaced once, where they are written */
		plan_transform_copy(p, &co);
	else if (p->anon)  /* what --anonymize will zero is no data */
		co.transform = anon_blank, co.transform_arg = p->anon;
	co.stop = p->stop;
	co.warn = &p->warn;
	co.progress = progress_update;
	co.progress_arg = &p->prog;
	progress_start(&p->prog, p->blocks.captured, p->fs->blocksize);
	return copy_runs(&p->blocks, &p->src, s, &co, &p->err);
}

static uint64_t fs_bytes(const struct qjob *q)
{
	return ext2fs_blocks_count(q->p.fs->super) * q->p.fs->blocksize;
}

/* At most this many clusters can hold captured data: a run of captured
 * blocks touches its clusters and one more at each end. */
static uint64_t max_data_clusters(const struct qjob *q, unsigned cb)
{
	const struct blockmap *m = &q->p.blocks;
	uint64_t bs = q->p.fs->blocksize, cs = (uint64_t)1 << cb;

	if (cs <= bs)
		return m->captured * (bs / cs);
	return m->captured / (cs / bs) + 2 * (uint64_t)m->nruns;
}

/* Compressed clusters of 64 KiB are what qemu makes: at the block size a
 * cluster has too little to compress (10.7 MB against 7.5 MB for the bench
 * fixture with zstd). But tables are not compressed: each L2 table is a
 * cluster, and covers cluster size * cluster size / 8 bytes of the
 * filesystem; ext4 spreads its metadata over every group, so on a large,
 * nearly empty filesystem the tables outweigh the data (1 TiB, 39 MB
 * captured: 512 L2 tables of 64 KiB, 34 MB of image for 0.2 MB of
 * compressed data; 5.5 MB at 8 KiB). So the size is the one with the least
 * tables + data, the data guessed at a 32nd of what was captured, more at
 * smaller clusters (as measured on the bench fixture). A file has at least
 * five clusters of header and tables too: the clusters are no larger than
 * a 1024th of what was captured. */
#define COMPRESSED_CLUSTER_BITS 16

/* Captured blocks that are mostly zeros, sorted: the unused end of each
 * group's inode table (inodes past the group's highest in use, or free
 * ones) and the journal (1 GiB of a new 1 TiB filesystem, all zeros but
 * its superblock; a used one holds old transactions). Zeros are neither
 * stored nor need an L2 table. The list may be short of some (no memory,
 * an unreadable journal inode): the estimate is then rougher, no more. */
struct itail {
	uint64_t start, end;
};

struct tails {
	struct itail *t;
	size_t n, cap;
	uint64_t journal;   /* blocks */
};

static int by_tail(const void *x, const void *y)
{
	const struct itail *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

static void add_tail(struct tails *t, uint64_t start, uint64_t end)
{
	struct itail *v;

	if (t->n && t->t[t->n - 1].end == start) {
		t->t[t->n - 1].end = end;
		return;
	}
	if (t->n == t->cap) {
		v = realloc(t->t, (t->cap = t->cap ? 2 * t->cap : 1024) * sizeof(*v));
		if (!v)
			return;
		t->t = v;
	}
	t->t[t->n++] = (struct itail){ start, end };
}

static int journal_block(ext2_filsys fs, blk64_t *b, e2_blkcnt_t n, blk64_t ref,
			 int off, void *arg)
{
	struct tails *t = arg;

	(void)fs, (void)n, (void)ref, (void)off;
	add_tail(t, *b, *b + 1);
	t->journal++;
	return 0;
}

static void zero_tails(ext2_filsys fs, struct tails *t)
{
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	uint64_t ipb = fs->blocksize / isize, used, loc;
	dgrp_t g;

	for (g = 0; ipb && g < fs->group_desc_count; g++) {
		loc = ext2fs_inode_table_loc(fs, g);
		used = fs->super->s_inodes_per_group;
		if (ext2fs_has_group_desc_csum(fs) &&
		    ext2fs_bg_itable_unused(fs, g) <= used)
			used -= ext2fs_bg_itable_unused(fs, g);
		else if (ext2fs_bg_free_inodes_count(fs, g) <= used)
			used -= ext2fs_bg_free_inodes_count(fs, g);
		used = (used + ipb - 1) / ipb;
		if (loc && used < fs->inode_blocks_per_group)
			add_tail(t, loc + used, loc + fs->inode_blocks_per_group);
	}
	if (ext2fs_has_feature_journal(fs->super) && fs->super->s_journal_inum)
		(void)ext2fs_block_iterate3(fs, fs->super->s_journal_inum,
					    BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
					    NULL, journal_block, t);
	if (t->n)
		qsort(t->t, t->n, sizeof(*t->t), by_tail);
}

/* L2 tables at clusters of 1 << cb, and the blocks likely to hold data
 * (in *data): the spans of the filesystem one table covers that hold
 * captured blocks, the mostly-zero ones left out. */
static uint64_t l2_tables(const struct qjob *q, unsigned cb, const struct tails *tl,
			  uint64_t *data)
{
	unsigned span_bits = 2 * cb - 3, bb = qcow2_log2(q->p.fs->blocksize);
	uint64_t n = 0, last = UINT64_MAX, a, z, cur, end;
	const struct itail *t = tl->t;
	size_t i = 0, nt = tl->n;
	struct bm_cursor c;
	struct bm_run r;

	*data = 0;
	blockmap_cursor(&c, &q->p.blocks, 0);
	while (blockmap_next(&c, &r)) {
		for (cur = r.start; cur < r.start + r.len; cur = end) {
			while (i < nt && t[i].end <= cur)
				i++;
			if (i < nt && t[i].start <= cur) {
				end = t[i].end < r.start + r.len ? t[i].end : r.start + r.len;
				continue;
			}
			end = i < nt && t[i].start < r.start + r.len ? t[i].start
								       : r.start + r.len;
			*data += end - cur;
			a = (cur << bb) >> span_bits;
			z = ((end << bb) - 1) >> span_bits;
			n += z - a + 1 - (a == last);
			last = z;
		}
	}
	return n;
}

static unsigned compressed_min_bits(const struct qjob *q, unsigned block_bits)
{
	/* data at each size, in 64ths of a 32nd of the blocks likely to
	 * hold some (4 KiB: 10.7 MB against 7.5 at 64 KiB) */
	static const unsigned grow[] = { 92, 81, 73, 68, 64 };  /* 4K .. 64K */
	unsigned bb = qcow2_log2(q->p.fs->blocksize);
	uint64_t captured = q->p.blocks.captured << bb;
	uint64_t budget = captured / 1024, cost, best_cost = UINT64_MAX, l2, data;
	unsigned cb = COMPRESSED_CLUSTER_BITS, best = block_bits;
	struct tails t = { 0 };

	while (cb > block_bits && ((uint64_t)1 << cb) > budget)
		cb--;
	zero_tails(q->p.fs, &t);
	for (; cb >= block_bits && cb >= 9; cb--) {
		unsigned g = grow[cb >= 12 ? cb - 12 : 0];

		l2 = l2_tables(q, cb, &t, &data);
		/* a journal's old transactions: an eighth of it, guessed */
		data += t.journal / 8;
		cost = l2 * ((uint64_t)1 << cb) + (data << bb) / 32 / 64 * g;
		if (cost < best_cost)
			best_cost = cost, best = cb;
		if (cb == 12 || cb == block_bits)
			break;
	}
	free(t.t);
	return best;
}

/* The cluster size: asked for, or the block size (compressed: see above)
 * raised as qemu needs. */
static unsigned cluster_bits(struct qjob *q)
{
	const struct options *o = q->p.o;
	unsigned min = qcow2_log2(q->p.fs->blocksize);
	unsigned cb;

	if (o->compress >= 0 && min < COMPRESSED_CLUSTER_BITS)
		min = compressed_min_bits(q, min);
	cb = o->cluster_size ? qcow2_log2(o->cluster_size) :
	     qcow2_pick_cluster_bits(fs_bytes(q), min);
	if (!cb)
		msg_plain(_("%s is too large for a qcow2 image qemu can open"), o->device);
	return cb;
}

static int emit(void *arg, uint64_t at, const void *buf, uint64_t n)
{
	struct qjob *q = arg;
	errcode_t err = stopped(q->p.stop) ? EINTR :
			q->out->ops->write(q->out, at, n, buf);

	return err ? (int)err : 0;
}

/*
 * Threads where they pay, measured on a 2-core VM (bench fixture, 64 KiB
 * clusters): deflate at level 6 took 0.85 s on one and 0.48 s on two; zstd
 * at level 6, 0.47 s and 0.33 s; but zstd at level 3 took 0.14 s on one
 * and 0.21 s on two, the clusters' trip between cores costing more than
 * compressing them. --threads=N is obeyed as given.
 */
static unsigned compress_threads(const struct options *o)
{
	if (!o->threads && o->compress == QCOW2_COMPRESS_ZSTD && o->compress_level <= 3)
		return 1;
	return options_threads(o);
}

static int new_image(struct qjob *q, unsigned cb, int data_first)
{
	const struct options *o = q->p.o;
	struct qcow2_image_params prm;
	char why[256];
	int e;

	memset(&prm, 0, sizeof(prm));
	prm.size = fs_bytes(q);
	prm.cluster_bits = cb;
	prm.version = o->qcow2_version;
	prm.compress = o->compress >= 0 ? o->compress : QCOW2_NO_COMPRESSION;
	prm.level = o->compress_level;
	prm.threads = compress_threads(o);
	prm.data_first = data_first;
	prm.runs = q->runs.v;
	prm.nruns = q->runs.n;
	prm.mem_bound = o->compress_buffer > SIZE_MAX ? SIZE_MAX : (size_t)o->compress_buffer;
	prm.emit = emit;
	prm.arg = q;
	why[0] = 0;
	e = qcow2_image_new(&prm, &q->img, why, sizeof(why));
	if (e == EINVAL && why[0])
		msg_plain(_("cannot write %s: %s"), o->image, why);
	else if (e)
		msg_err(e, _("while preparing the qcow2 image %s"), o->image);
	return !e;
}

static int open_out(struct qjob *q, unsigned cb, uint64_t clusters)
{
	return plan_open_sink(&q->p, (unsigned)1 << cb, clusters, &q->out);
}

/* "qcow2 v2, 4096-byte clusters[, zstd level 3]" */
static void format_name(const struct qjob *q, unsigned cb, char *buf,
			size_t len)
{
	const struct options *o = q->p.o;
	int n = snprintf(buf, len, "qcow2 v%u, %llu-byte clusters", o->qcow2_version,
			 1ull << cb);

	if (o->compress >= 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %s level %d",
			 qcow2_codec_name(o->compress), o->compress_level);
}

/*
 * The manifest, made now, goes into the header as an extension of its own
 * type; whole if it fits in the header cluster, else in its compact form
 * (what --verify needs), which -v mentions. --manifest=FILE gets it whole.
 */
static errcode_t put_manifest(struct qjob *q, unsigned cb)
{
	struct plan *p = &q->p;
	char fmt[96], *compact = NULL;
	errcode_t err;
	int e;

	format_name(q, cb, fmt, sizeof(fmt));
	if ((err = plan_make_manifest(p, fmt, 0)))
		return err;
	e = qcow2_image_set_ext(q->img, MANIFEST_QCOW2_EXT, p->man_text,
				strlen(p->man_text));
	q->man_stored = "full";
	if (e == EFBIG) {
		q->man_stored = "compact";
		compact = manifest_text(&p->man, p, fmt, 1);
		e = compact ? qcow2_image_set_ext(q->img, MANIFEST_QCOW2_EXT, compact,
						  strlen(compact)) : ENOMEM;
		if (!e && p->o->verbose)
			fprintf(stderr, _("  the manifest (%zu bytes) does not fit in the %llu-byte header cluster: its compact form is stored\n"),
				strlen(p->man_text), 1ull << cb);
		free(compact);
	}
	if (e == EFBIG) {
		fprintf(stderr, _("%s: warning: the header cluster of %s (%llu bytes) cannot hold even the compact manifest: the image has none\n"),
			PROGRAM, q->name, 1ull << cb);
		q->man_stored = "none";
		e = 0;
	}
	if (e)
		return e2i_seterr(&p->err, e, _("while writing the manifest of %s"), q->name);
	return 0;
}

/* The blocks of pass `final` go into the image, which is then finished. */
static errcode_t into_image(struct qjob *q, int two, unsigned cb)
{
	struct plan *p = &q->p;
	struct sink *s = NULL;
	errcode_t err;
	int e;

	err = image_sink_new(q->img, p->fs->blocksize, q->name, &p->err, &s);
	if (!err && !two) {
		err = copy_pass(q, s, 1, 1);
		if (!err)  /* the header is written last */
			err = put_manifest(q, cb);
	} else if (!err) {
		struct copy_opts co = { 0 };

		co.stop = p->stop;
		co.warn = &p->warn;
		plan_transform_copy(p, &co);
		err = copy_runs(&q->nonzero, &p->src, s, &co, &p->err);
	}
	if (s)
		s->ops->destroy(s);
	if (!err && (e = qcow2_image_finish(q->img)))
		err = image_error(e, q->img, q->name, &p->err);
	/* The file's length, known now: a stream ends there, not earlier
	 * or later (it pads up to the sink's size). */
	if (!err)
		q->out->fs_blocks = qcow2_image_layout(q->img)->total;
	return err;
}

/*
 * One pass: a file gets each cluster with data right behind the header as
 * it is read, and the tables, which depend on which clusters turned out to
 * hold data, after them; compressed clusters bound for a stream (or a file
 * where data first is not safe) are kept until their sizes are known.
 */
static errcode_t one_pass(struct qjob *q, unsigned cb, int data_first)
{
	if (!open_out(q, cb, 0) || !new_image(q, cb, data_first))
		return EXT2_ET_INVALID_ARGUMENT;
	return into_image(q, 0, cb);
}

/*
 * An uncompressed stream: two passes, since nothing can be sought back to
 * and the tables come first. The first learns which captured blocks hold
 * data; the second, from the page cache, writes them behind the tables.
 */
static errcode_t two_passes(struct qjob *q, unsigned cb)
{
	struct plan *p = &q->p;
	struct sink *s = NULL;
	struct bm_cursor c;
	struct bm_run r;
	errcode_t err;
	int e = 0;

	err = probe_sink_new(&q->nonzero, p->fs->blocksize, &p->err, &s);
	/* The header goes out before the second pass: the digest is taken
	 * in the first, whose bytes are the image's unless a transform
	 * rewrites them in the second (it must run once: -s counts names). */
	if (p->scramble || p->anon)
		p->man.no_digest = "qcow2 written tables first with -s or --anonymize: the header precedes the rewritten blocks";
	if (!err)
		err = copy_pass(q, s, 0, !p->scramble && !p->anon);
	if (s)
		s->ops->destroy(s);
	if (!err)
		err = blockmap_finish(&q->nonzero);
	if (err) {
		if (!p->err.code)
			e2i_seterr(&p->err, err, _("while planning the qcow2 layout of %s"), q->name);
		return err;
	}
	blockmap_cursor(&c, &q->nonzero, 0);
	while (!e && blockmap_next(&c, &r))
		e = qcow2_runs_add_bytes(&q->runs, cb, r.start * p->fs->blocksize,
					 r.len * p->fs->blocksize);
	if (e)
		return e2i_seterr(&p->err, e, _("while planning the qcow2 layout of %s"), q->name);
	if (!new_image(q, cb, 0) ||
	    !open_out(q, cb, qcow2_image_layout(q->img)->total))
		return EXT2_ET_INVALID_ARGUMENT;
	if ((err = put_manifest(q, cb)))
		return err;
	return into_image(q, 1, cb);
}

static int write_image(struct qjob *q)
{
	struct plan *p = &q->p;
	unsigned cb = cluster_bits(q);
	int data_first;
	errcode_t err;

	if (!cb)
		return 0;
	q->cb = cb;
	blockmap_init(&q->nonzero, ext2fs_blocks_count(p->fs->super), 0, 0);
	data_first = p->kind != SINK_STREAM &&
		     qcow2_data_first_fits(fs_bytes(q), cb, max_data_clusters(q, cb));
	if (data_first || p->o->compress >= 0)
		err = one_pass(q, cb, data_first);
	else
		err = two_passes(q, cb);
	if (!err)
		err = plan_copy_done(p);
	if (!err && q->out)
		err = q->out->ops->finish(q->out);
	if (err)
		progress_break(&p->prog);
	if (err && p->err.code)
		msg_err(err, "%s", p->err.what);
	if (err && q->out) {
		q->out->ops->abort(q->out);
		if (p->kind == SINK_NEW_FILE)
			msg_plain(_("no image was written to %s"), p->o->image);
		else
			msg_plain(_("%s is incomplete: the qcow2 image was cut short"), q->name);
	}
	if (err)
		return 0;
	progress_note(&p->prog, p->man_text);
	progress_done(&p->prog, p->blocks.captured);
	return 1;
}

static void print_layout(const struct qjob *q)
{
	const struct qcow2_plan *l = qcow2_image_layout(q->img);
	struct qcow2_image_stats st;

	qcow2_image_stats(q->img, &st);
	fprintf(stderr, _("  qcow2 v%u, %llu-byte clusters: %llu data clusters, %llu L2 tables, %llu clusters in all\n"),
		l->version, (unsigned long long)l->cluster_size,
		(unsigned long long)st.guest_clusters,
		(unsigned long long)l->n_l2, (unsigned long long)l->total);
	if (q->p.o->compress >= 0)
		fprintf(stderr, _("  %s level %d: %llu of them compressed, %llu bytes of data in all; %llu bytes went through %s\n"),
			qcow2_codec_name(q->p.o->compress), q->p.o->compress_level,
			(unsigned long long)st.compressed,
			(unsigned long long)st.data_bytes,
			(unsigned long long)st.spilled,
			st.spilled ? qcow2_image_spill_dir(q->img) : _("no temporary file"));
}

static int report(struct qjob *q, int status)
{
	struct report_run r = { .mode = "qcow2", .sink = q->out,
				.manifest_in_image = q->man_stored };
	char fmt[96];

	if (q->cb) {
		format_name(q, q->cb, fmt, sizeof(fmt));
		r.format = fmt;
	}
	if (q->img && status != 1)
		r.file_bytes = qcow2_image_layout(q->img)->total << q->cb;
	return plan_report(&q->p, &r, status);
}

int run_qcow2(const struct options *o, e2i_stop *stop)
{
	struct qjob q;
	double t0;
	int ok;

	memset(&q, 0, sizeof(q));
	q.name = strcmp(o->image, "-") == 0 ? "stdout" : o->image;
	ok = plan_open(&q.p, o, stop) && plan_capture(&q.p);
	t0 = now_seconds();
	ok = ok && write_image(&q);
	q.p.sum.t_copy = now_seconds() - t0;
	if (ok && o->verbose) {
		print_summary(&q.p.sum, o->device, o->image);
		print_layout(&q);
	}
	ok = plan_status(&q.p, ok);
	if (o->report)
		ok = report(&q, ok);
	if (q.out)
		q.out->ops->destroy(q.out);
	qcow2_image_free(q.img);
	qcow2_runs_free(&q.runs);
	blockmap_free(&q.nonzero);
	plan_close(&q.p);
	return ok;
}
