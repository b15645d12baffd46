#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "messages.h"
#include "nls.h"
#include "open_fs.h"
#include "plan.h"
#include "same_file.h"

/* Metadata found during the scan is requested at once, up to this much. */
#define EARLY_READAHEAD_BYTES (256ull << 20)
/* Blocks between two extents that still go in one readahead request. */
#define READAHEAD_GAP 8

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Requests the pending early readahead range from the kernel. */
static void flush_readahead(struct plan *p)
{
	if (p->ra_end > p->ra_start)
		source_willneed(&p->src, p->ra_start, p->ra_end - p->ra_start);
	p->ra_start = p->ra_end = 0;
}

/*
 * Metadata is requested as soon as the scan finds it, so the disk reads it
 * while the scan goes on (a cold cache is the common case on a real disk).
 * Extents close together go out as one request. (Every captured extent
 * passes here: -s notes the directory blocks too.)
 */
static void early_readahead(void *arg, uint64_t start, uint64_t len,
			    enum block_class c)
{
	struct plan *p = arg;
	uint64_t bytes = len * p->fs->blocksize;

	if (c == BC_DIRECTORY && p->scramble)
		scrambler_mark(p->scramble, start, len);
	if (c == BC_DATA || bytes > p->ra_budget)
		return;
	p->ra_budget -= bytes;
	if (p->ra_end && start >= p->ra_start && start <= p->ra_end + READAHEAD_GAP) {
		if (start + len > p->ra_end)
			p->ra_end = start + len;
		return;
	}
	flush_readahead(p);
	p->ra_start = start;
	p->ra_end = start + len;
}

/*
 * Early readahead pays on a cold cache only: on a warm one each request is
 * a system call that finds every page there already. The inode tables the
 * scan is about to read tell which it is: the first block of a sample of
 * them is probed (read only if cached).
 */
static int tables_cold(struct plan *p)
{
	ext2_filsys fs = p->fs;
	dgrp_t g, stride = fs->group_desc_count / 64 + 1;
	unsigned probed = 0, cached = 0;
	char *buf = malloc(fs->blocksize);
	int k = 0;

	for (g = 0; buf && g < fs->group_desc_count; g += stride) {
		blk64_t b = ext2fs_inode_table_loc(fs, g);

		if (!b || b >= p->src.end_blk)
			continue;
		k = source_cached(&p->src, b, buf);
		if (k < 0)
			break; /* cannot tell: ask anyway */
		probed++;
		cached += k;
	}
	free(buf);
	return !buf || k < 0 || cached * 10 < probed * 9;
}

static int open_anonymizer(struct plan *p)
{
	const struct options *o = p->o;
	errcode_t err = anon_init(&p->anonymizer, p->fs, o->device, o->anonymize == 2);

	if (err == EXT2_ET_UNIMPLEMENTED)
		msg_plain(_("--anonymize=uuid refused on %s: its group descriptors' checksums (uninit_bg without metadata_csum) cannot be set under a new UUID when it is opened through a backup superblock; --anonymize keeps the UUID and works"),
			  o->device);
	else if (err)
		msg_err(err, _("while allocating buffers for %s"), o->device);
	if (err)
		return 0;
	p->anon = &p->anonymizer;
	/* a dry run writes nothing, the map neither */
	return !o->anonymize_map || o->dry_run ||
	       anon_map_open(p->anon, o->anonymize_map, o->device, o->image);
}

static void init_map(struct plan *p, struct blockmap *m)
{
	blockmap_init(m, ext2fs_blocks_count(p->fs->super),
		      p->fs->super->s_first_data_block, p->fs->cluster_ratio_bits);
	m->on_add = early_readahead;
	m->on_add_arg = p;
}

static void print_warning(void *arg, const char *msg)
{
	progress_break(arg);  /* the warning on a line of its own */
	fprintf(stderr, _("%s: warning: %s\n"), PROGRAM, msg);
}

int plan_open(struct plan *p, const struct options *o,
	      e2i_stop *stop)
{
	struct sink_params sp = { 0 };
	errcode_t err = 0;

	memset(p, 0, sizeof(*p));
	p->t0 = now_seconds();
	warn_init(&p->warn, o->strict, print_warning, &p->prog);
	manifest_init(&p->man, &p->warn);
	p->o = o;
	p->stop = stop;
	p->src.fd = -1;
	progress_init(&p->prog, o->progress);
	if (!o->move && same_storage(o->device, o->image)) {
		msg_plain(_("the output %s is the source filesystem itself"), o->image);
		return 0;
	}
	if (!source_mount_ok(o) ||
	    (err = open_source_fs(o, &p->warn, &p->fs, &p->backup_sb))) {
		/* said already; kept for the report */
		e2i_seterr(&p->err, err ? err : EBUSY,
			   err ? _("while trying to open %s") :
			   _("%s is mounted read-write, or its mount state is unknown"),
			   o->device);
		return 0;
	}
	sp.path = o->image;
	sp.compare = o->check;
	sp.dest_offset = o->dest_offset;
	sp.move = o->move;
	sp.err = &p->err;
	if (sink_kind_for(&sp, &p->kind, &p->is_blockdev) ||
	    source_open(&p->src, o->device, o->src_offset, p->fs->blocksize,
			stop, &p->err)) {
		msg_err(p->err.code, "%s", p->err.what);
		return 0;
	}
	if (o->scramble) {
		err = scrambler_init(&p->scr, p->fs, o->device);
		if (err) {
			msg_err(err, _("while allocating buffers for %s"), o->device);
			return 0;
		}
		p->scramble = &p->scr;
	}
	if (o->anonymize && !open_anonymizer(p))
		return 0;
	init_map(p, &p->blocks);
	p->ra_budget = tables_cold(p) ? EARLY_READAHEAD_BYTES : 0;
	p->sum.blocksize = p->fs->blocksize;
	return 1;
}

void sink_params_for(const struct options *o, unsigned blocksize,
		     uint64_t blocks, struct e2i_error *err, e2i_stop *stop,
		     struct sink_params *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->path = o->image;
	sp->blocksize = blocksize;
	sp->fs_blocks = blocks;
	sp->dest_offset = o->dest_offset;
	sp->compare = o->check;
	sp->dry_run = o->dry_run;
	sp->move = o->move;
	sp->err = err;
	sp->sync = o->sync;
	sp->stop = stop;
}

int plan_open_sink(struct plan *p, unsigned blocksize, uint64_t blocks,
		   struct sink **out)
{
	const struct options *o = p->o;
	struct sink_params sp;
	errcode_t err;

	sink_params_for(o, blocksize, blocks, &p->err, p->stop, &sp);
	err = sink_open(&sp, out);
	if (err)
		msg_err(err, "%s", p->err.what);
	return !err;
}

int plan_wants_manifest(const struct plan *p)
{
	const struct options *o = p->o;

	/* -p shows a raw image's manifest on stderr (it has nowhere else) */
	return !o->dry_run && !o->move && (o->manifest || o->progress || o->qcow2);
}

const char *plan_skips_digest(const struct plan *p)
{
	const struct options *o = p->o;

	/* A clone's manifest shown only for -p: hashing every data block
	 * would double a 1-core `-ra -p` (GParted's copy), measured 2.8-5.1 s
	 * against 7.9-12 s on the medium fixture. --manifest and --report
	 * ask for what the digest gives (the holes count comes from it). */
	if (o->all_data && !o->manifest && !o->qcow2 && !o->report)
		return "-a with -p alone: every data block would be hashed; --manifest=FILE takes the digest";
	return NULL;
}

int plan_wants_digest(const struct plan *p)
{
	/* a dry run's report has the digest of the image it would write */
	return (plan_wants_manifest(p) || (p->o->report && !p->o->move)) &&
	       !plan_skips_digest(p);
}

void plan_digest_copy(struct plan *p, struct copy_opts *co)
{
	digest_init(&p->man.digest, p->fs->blocksize);
	p->man.digest_used = 1;
	co->digest = &p->man.digest;
	/* on a thread of its own where there is a core for it; on one, a
	 * thread would only add hand-offs */
	co->digest_thread = options_threads(p->o) > 1;
}

errcode_t plan_make_manifest(struct plan *p, const char *format, int compact)
{
	free(p->man_text);
	p->man_text = manifest_text(&p->man, p, format, compact);
	if (!p->man_text)
		return e2i_seterr(&p->err, ENOMEM, _("while writing the manifest of %s"),
				  p->o->image);
	return 0;
}

errcode_t plan_copy_done(struct plan *p)
{
	int e;

	if (p->anon && (e = anon_map_commit(p->anon, &p->err)))
		return e;
	/* the manifest before the image: a failure leaves no image */
	if (p->o->manifest && p->man_text &&
	    (e = manifest_write_file(p->o->manifest, p->man_text)))
		return e2i_seterr(&p->err, e, _("while writing the manifest %s"),
				  p->o->manifest);
	p->man_placed = p->o->manifest && p->man_text;
	return 0;
}

void plan_transform_copy(const struct plan *p, struct copy_opts *co)
{
	if (p->scramble) {
		co->transform = scrambler_apply;
		co->transform_arg = p->scramble;
	} else if (p->anon) {
		co->transform = anon_apply;
		co->transform_arg = p->anon;
	}
}

static int capture_failed(struct plan *p, const struct capture *c,
			  errcode_t err)
{
	char what[512];

	/* recorded for the report, as every failure the run ends on */
	capture_error_text(&c->err, p->o->device, what, sizeof(what));
	e2i_seterr(&p->err, err, "%s", what);
	msg_err(err, "%s", p->err.what);
	return 0;
}

static int finish_map(struct plan *p, struct blockmap *m)
{
	errcode_t err = blockmap_finish(m);

	if (err)
		msg_err(err, _("while sorting the block map of %s"), p->o->device);
	return !err;
}

/*
 * Captured blocks the source does not have: the filesystem claims more
 * blocks than the file or device holds (a truncated image, a shrunk
 * partition). They read as zeros in the copy; here they are reported, as
 * one range.
 */
static int report_past_end(struct plan *p)
{
	uint64_t end = p->src.end_blk, n = 0, first = UINT64_MAX, last = 0;
	struct bm_cursor c;
	struct bm_run r;

	blockmap_cursor(&c, &p->blocks, 0);
	while (blockmap_next(&c, &r)) {
		uint64_t s = r.start > end ? r.start : end;

		if (r.start + r.len <= end)
			continue;
		n += r.start + r.len - s;
		if (s < first)
			first = s;
		last = r.start + r.len - 1;
	}
	if (!n)
		return 1;
	if (!warn_n(&p->warn, WARN_BLOCK, n, 1,
		    ngettext("%s ends at block %llu (%llu bytes): %llu captured block between %llu and %llu lies past its end and is zero-filled in the image",
			     "%s ends at block %llu (%llu bytes): %llu captured blocks between %llu and %llu lie past its end and are zero-filled in the image",
			     n),
		    p->o->device, (unsigned long long)end,
		    (unsigned long long)p->src.size, (unsigned long long)n,
		    (unsigned long long)first, (unsigned long long)last))
		return 1;
	msg_plain(ngettext("%s ends at block %llu: %llu captured block between %llu and %llu lies past its end",
			   "%s ends at block %llu: %llu captured blocks between %llu and %llu lie past its end",
			   n),
		  p->o->device, (unsigned long long)end, (unsigned long long)n,
		  (unsigned long long)first, (unsigned long long)last);
	return 0;
}

int plan_capture(struct plan *p)
{
	/* A device gets whole inode tables: stale bytes there are not zeros. */
	struct capture_opts co = { p->o->all_data,
				   p->is_blockdev && !p->o->dry_run,
				   p->o->superblock ? p->o->superblock : p->backup_sb };
	double t0 = now_seconds();
	struct capture c;
	errcode_t err;
	int ok = 0;

	err = capture_init(&c, p->fs, &co, &p->blocks, &p->warn);
	if (err) {
		msg_err(err, _("while allocating buffers for %s"), p->o->device);
		return 0;
	}
	c.stop = p->stop;
	if (p->anon) {
		c.on_owned = anon_owned;
		c.on_owned_arg = p->anon;
	}
	err = capture_tables(&c);
	if (err) {
		capture_failed(p, &c, err);
		goto out;
	}
	progress_phase(&p->prog, _("Scanning inodes..."));
	err = capture_rest(&c);
	if (err) {
		capture_failed(p, &c, err);
		goto out;
	}
	ok = finish_map(p, c.map) && report_past_end(p);
	if (ok && p->anon) {
		progress_phase(&p->prog, _("Choosing the new names..."));
		err = anon_prepare(p->anon);
		if (err) {
			msg_err(err, _("while choosing new names for %s"), p->o->device);
			ok = 0;
		}
	}
	p->sum.inodes_scanned = c.stats.inodes_scanned;
	p->sum.orphans = c.stats.orphans;
	if (ok)
		summary_add(&p->sum, &p->blocks);
out:
	flush_readahead(p);
	capture_free(&c);
	p->sum.t_capture = now_seconds() - t0;
	return ok;
}

int plan_status(struct plan *p, int ok)
{
	struct e2i_warnings *w = &p->warn;

	if (p->anon && !ok)
		anon_map_failed(p->anon);  /* a failed run leaves no map */
	if (!ok && p->man_placed && unlink(p->o->manifest) == 0)
		msg_plain(_("the run failed: the manifest %s removed"), p->o->manifest);
	if (!ok)
		return 1;
	if (p->anon)
		anon_report(p->anon);
	if (!warn_total(w))
		return 0;
	msg_plain(_("warning: the image of %s is incomplete: %llu damaged inodes, "
		    "%llu damaged groups, %llu unreadable or missing blocks (zero-filled), "
		    "%llu other problems; see the warnings above"),
		  p->o->device, (unsigned long long)w->count[WARN_INODE],
		  (unsigned long long)w->count[WARN_GROUP],
		  (unsigned long long)w->count[WARN_BLOCK],
		  (unsigned long long)w->count[WARN_OTHER]);
	return 2;
}

int plan_report(struct plan *p, struct report_run *r, int status)
{
	r->o = p->o;
	r->p = p;
	if (p->fs && !r->block_size)
		r->block_size = p->fs->blocksize;
	if (p->fs && !r->image_bytes)
		r->image_bytes = ext2fs_blocks_count(p->fs->super) * p->fs->blocksize;
	/* the digest's count is the image's when the copy ended */
	r->data_blocks = p->man.digest_used && status != 1 ?
			 (int64_t)p->man.digest.nonzero : -1;
	return report_write(r, status);
}

void plan_close(struct plan *p)
{
	scrambler_free(&p->scr);
	if (p->anon)
		anon_map_discard(p->anon);  /* a job that failed early */
	anon_free(&p->anonymizer);
	manifest_free(&p->man);
	free(p->man_text);
	p->man_text = NULL;
	warn_destroy(&p->warn);
	source_close(&p->src);
	blockmap_free(&p->blocks);
	if (p->fs)
		ext2fs_close_free(&p->fs);
}
