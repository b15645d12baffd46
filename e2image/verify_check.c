#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#include "blockclass.h"
#include "capture.h"
#include "io_full.h"
#include "messages.h"
#include "nls.h"
#include "open_fs.h"
#include "source.h"
#include "verify_check.h"
#include "zero.h"

void verify_bad(struct verify *v, uint64_t blk, int cls, const char *what)
{
	v->nbad++;
	if (blk >= v->first_blk)
		return;
	v->first_blk = blk;
	v->first_class = cls;
	v->first_what = what;
}

const char *verify_class_name(struct verify *v)
{
	size_t i;

	if (v->first_class >= 0)
		return _(block_class_name(v->first_class));
	for (i = 0; i < v->next; i++)
		if (v->first_blk >= v->ext[i].start &&
		    v->first_blk - v->ext[i].start < v->ext[i].len)
			return _(block_class_name(v->ext[i].c));
	return _("not captured");
}

static void note_extent(void *arg, uint64_t start, uint64_t len,
			enum block_class c)
{
	struct verify *v = arg;

	if (v->next == v->capext) {
		size_t cap = v->capext ? v->capext * 2 : 1024;
		struct vext *n = realloc(v->ext, cap * sizeof(*n));

		if (!n)
			return;   /* the names of classes are a courtesy */
		v->ext = n;
		v->capext = cap;
	}
	v->ext[v->next++] = (struct vext){ start, len, c };
}

/* The blocks a filesystem's metadata names, as a capture finds them, with
 * their classes noted; damage met on the way is not reported (it is the
 * manifest's). Returns 0 or the error, with a message printed. */
static errcode_t capture_image(struct verify *v, ext2_filsys fs, int all_data,
			     struct blockmap *m, const char *name)
{
	struct capture_opts co = { all_data, 0, 0 };
	struct e2i_warnings w;
	struct capture c;
	errcode_t err;

	warn_init(&w, 0, NULL, NULL);
	progress_phase(&v->prog, _("Scanning inodes..."));
	blockmap_init(m, ext2fs_blocks_count(fs->super),
		      fs->super->s_first_data_block, fs->cluster_ratio_bits);
	m->on_add = note_extent;
	m->on_add_arg = v;
	err = capture_init(&c, fs, &co, m, &w);
	if (!err) {
		c.stop = v->stop;
		err = capture_all(&c);
		if (!err)
			err = blockmap_finish(m);
		if (err && c.err.ino) {
			char what[512];

			capture_error_text(&c.err, name, what, sizeof(what));
			msg_err(err, "%s", what);
		} else if (err)
			msg_err(err, _("while finding the metadata blocks of %s"), name);
		capture_free(&c);
	}
	warn_destroy(&w);
	return err;
}

/* 1 when the view's block blk is all zeros (a hole reads so). */
static int view_zero(struct verify *v, uint64_t blk, char *buf)
{
	size_t bs = v->man.blocksize, got = 0;

	if (pread_full(v->view.fd, buf, bs, v->base + blk * bs, &got, NULL))
		got = 0;
	memset(buf + got, 0, bs - got);
	return is_zero(buf, bs);
}

static int never_zero(int c)
{
	return c == BC_SUPERBLOCK || c == BC_DESCRIPTOR || c == BC_DIRECTORY ||
	       c == BC_EXTENT || c == BC_SYMLINK || c == BC_XATTR;
}

static void check_named_blocks(struct verify *v, ext2_filsys fs, char *buf)
{
	size_t i;
	uint64_t b;

	/* bigalloc captures whole clusters: one block of each holds the
	 * metadata, the others may be zeros */
	uint64_t per = 1ull << fs->cluster_ratio_bits, end = ext2fs_blocks_count(fs->super);

	for (i = 0; i < v->next; i++) {
		struct vext *x = &v->ext[i];

		if (!never_zero(x->c))
			continue;
		for (b = x->start; b < x->start + x->len && b < end; b += per) {
			uint64_t k, n = per - b % per;
			int zero = 1;

			for (k = b; zero && k < b + n && k < end; k++)
				zero = view_zero(v, k, buf);
			if (zero)
				verify_bad(v, b, x->c, _("missing: a hole or zeros"));
			b -= b % per;
		}
	}
}

/* Each inode table block that holds an inode in use must hold something. */
static void check_inode_tables(struct verify *v, ext2_filsys fs, char *buf)
{
	unsigned ipb = fs->blocksize / EXT2_INODE_SIZE(fs->super);
	unsigned ipg = fs->super->s_inodes_per_group;
	dgrp_t g;
	errcode_t err = ext2fs_read_inode_bitmap(fs);

	if (err) {
		printf(_("%s: INCOMPLETE: its inode bitmaps cannot be read (%s)\n"),
		       v->o->image, error_message(err));
		verify_bad(v, ext2fs_inode_bitmap_loc(fs, 0), BC_BITMAP, _("unreadable"));
		return;
	}
	for (g = 0; g < fs->group_desc_count; g++) {
		blk64_t table = ext2fs_inode_table_loc(fs, g);
		unsigned b, nb = (ipg + ipb - 1) / ipb;

		if (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) || !table)
			continue;
		for (b = 0; b < nb; b++) {
			ext2_ino_t first = g * ipg + b * ipb + 1, last = first + ipb - 1, found;

			if (last > (g + 1) * ipg)
				last = (g + 1) * ipg;
			if (table + b >= ext2fs_blocks_count(fs->super) ||
			    ext2fs_find_first_set_inode_bitmap2(fs->inode_map, first,
								last, &found))
				continue;
			if (view_zero(v, table + b, buf))
				verify_bad(v, table + b, BC_INODE_TABLE,
					   _("missing: a hole or zeros where inodes in use are"));
		}
	}
}

static errcode_t open_view(struct verify *v, ext2_filsys *fs)
{
	char io_opts[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS;
	errcode_t err;

	snprintf(io_opts, sizeof(io_opts), "offset=%llu", (unsigned long long)v->base);
	err = ext2fs_open2(v->view.path, v->base ? io_opts : NULL, flags, 0, 0,
			   unix_io_manager, fs);
	/* a source opened through a backup gave an image whose primary is
	 * as damaged: the same backup is in it */
	if (err && v->man.superblock)
		err = ext2fs_open2(v->view.path, v->base ? io_opts : NULL, flags,
				   (int)v->man.superblock, v->man.blocksize,
				   unix_io_manager, fs);
	return err;
}

void verify_structure(struct verify *v)
{
	ext2_filsys fs = NULL;
	struct blockmap m;
	char *buf;
	errcode_t err = open_view(v, &fs);

	memset(&m, 0, sizeof(m));
	if (err) {
		printf(_("%s: INCOMPLETE: it does not open as a filesystem (%s)\n"),
		       v->o->image, error_message(err));
		verify_bad(v, v->man.blocksize == 1024 ? 1 : 0, BC_SUPERBLOCK,
			   _("unreadable"));
		return;
	}
	if (fs->blocksize != v->man.blocksize ||
	    ext2fs_blocks_count(fs->super) != v->man.blocks) {
		printf(_("%s: ALTERED: it holds a filesystem of %llu blocks of %u bytes, the manifest says %llu of %u\n"),
		       v->o->image, (unsigned long long)ext2fs_blocks_count(fs->super),
		       fs->blocksize, (unsigned long long)v->man.blocks, v->man.blocksize);
		verify_bad(v, fs->super->s_first_data_block, BC_SUPERBLOCK, _("altered"));
		ext2fs_close_free(&fs);
		return;
	}
	buf = malloc(fs->blocksize);
	if (!buf || capture_image(v, fs, v->man.all_data, &m, v->o->image)) {
		v->failed = 1;
	} else {
		uint64_t before = v->nbad;

		check_named_blocks(v, fs, buf);
		check_inode_tables(v, fs, buf);
		v->nstruct = v->nbad - before;
		if (v->nbad == before)
			printf(ngettext("%s: structure: ok: it opens, and the %llu block its metadata names is there\n",
					"%s: structure: ok: it opens, and the %llu blocks its metadata names are there\n",
					m.captured),
			       v->o->image, (unsigned long long)m.captured);
	}
	blockmap_free(&m);
	free(buf);
	ext2fs_close_free(&fs);
}

/* Compares the source's runs with the image's blocks. */
static errcode_t compare_runs(struct verify *v, struct source *src,
			      const struct blockmap *m, uint64_t *differ)
{
	size_t bs = v->man.blocksize;
	char *a = malloc(bs), *b = malloc(bs);
	struct bm_cursor c;
	struct bm_run r;
	uint64_t done = 0;
	errcode_t err = a && b ? 0 : ENOMEM;

	progress_start(&v->prog, m->captured, (unsigned)bs);
	blockmap_cursor(&c, m, 0);
	while (!err && blockmap_next(&c, &r)) {
		uint64_t k;

		for (k = r.start; !err && k < r.start + r.len; k++) {
			if (k >= src->end_blk)
				memset(a, 0, bs);
			else if ((err = source_try_read(src, k, 1, a)) == EXT2_ET_SHORT_READ)
				err = 0;
			if (err)
				break;
			view_zero(v, k, b);
			if (memcmp(a, b, bs)) {
				(*differ)++;
				verify_bad(v, k, -1, _("differs from the source"));
			}
			progress_update(&v->prog, ++done);
			if (stopped(v->stop))
				err = EINTR;
		}
	}
	if (err)
		progress_break(&v->prog);
	else
		progress_done(&v->prog, done);
	free(a);
	free(b);
	return err;
}

void verify_source(struct verify *v)
{
	const struct options *o = v->o;
	struct options so;
	struct e2i_warnings w;
	struct e2i_error e = { 0 };
	struct source src = { .fd = -1 };
	ext2_filsys fs = NULL;
	blk64_t backup = 0;
	struct blockmap m;
	uint64_t differ = 0;
	errcode_t err;

	if (!v->man.names_kept) {
		printf(_("%s: source: not compared: the image's names were rewritten (-s or --anonymize)\n"),
		       o->image);
		return;
	}
	memset(&so, 0, sizeof(so));
	so.raw = 1;
	so.force = 1;
	so.device = o->source;
	so.src_offset = v->man.src_offset;
	so.superblock = v->man.superblock;
	so.blocksize = v->man.superblock ? v->man.blocksize : 0;
	warn_init(&w, 0, NULL, NULL);
	memset(&m, 0, sizeof(m));
	if (open_source_fs(&so, &w, &fs, &backup)) {
		v->failed = 1;
		goto out;
	}
	/* the source's own map: what it holds now that the image lacks
	 * shows too */
	v->next = 0;
	if (capture_image(v, fs, v->man.all_data, &m, o->source) ||
	    source_open(&src, o->source, v->man.src_offset, fs->blocksize,
			v->stop, &e)) {
		if (e.code)
			msg_err(e.code, "%s", e.what);
		v->failed = 1;
		goto out;
	}
	if ((err = compare_runs(v, &src, &m, &differ))) {
		msg_err(err, _("while comparing %s with %s"), o->image, o->source);
		v->failed = 1;
	} else if (differ) {
		printf(_("%s: ALTERED: %llu of the %llu blocks captured from %s differ from it\n"),
		       o->image, (unsigned long long)differ,
		       (unsigned long long)m.captured, o->source);
	} else {
		printf(ngettext("%s: source: ok: the %llu block captured from %s is the same\n",
				"%s: source: ok: the %llu blocks captured from %s are the same\n",
				m.captured),
		       o->image, (unsigned long long)m.captured, o->source);
	}
out:
	source_close(&src);
	blockmap_free(&m);
	if (fs)
		ext2fs_close_free(&fs);
	warn_destroy(&w);
}

void verify_check_free(struct verify *v)
{
	free(v->ext);
	v->ext = NULL;
	v->next = v->capext = 0;
}
