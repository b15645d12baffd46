/*
 * --anonymize: the tables the copy needs (which inode owns each content
 * block, each directory's name counters), and the transform that sends
 * each block to the part that rewrites it. What each part does is said in
 * its file (anon_dir.c, anon_inode.c, anon_xattr.c, anon_fs.c,
 * anon_htree.c) and in the man page's ANONYMIZED IMAGES.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "anon.h"

errcode_t anon_init(struct anonymizer *a, ext2_filsys fs, const char *device,
		    int uuid)
{
	errcode_t err;

	memset(a, 0, sizeof(*a));
	a->fs = fs;
	a->blocksize = fs->blocksize;
	a->device = device;
	a->scratch = malloc(fs->blocksize);
	a->before = malloc(fs->blocksize);
	a->delta = malloc(fs->blocksize);
	if (!a->scratch || !a->before || !a->delta)
		return EXT2_ET_NO_MEMORY;
	err = anon_itables_init(a);
	if (!err && uuid)
		err = anon_uuid_init(a);
	return err;
}

void anon_free(struct anonymizer *a)
{
	free(a->blks);
	free(a->enodes);
	free(a->dirs);
	free(a->leaves);
	free(a->names);
	free(a->itables);
	free(a->scratch);
	free(a->before);
	free(a->delta);
	anon_uuid_free(a);
	anon_map_discard(a);
	memset(a, 0, sizeof(*a));
}

int anon_grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (n < *cap)
		return 1;
	while (c <= n) {
		if (c > SIZE_MAX / 2 / size)
			return 0;
		c *= 2;
	}
	q = realloc(*p, c * size);
	if (!q)
		return 0;
	*p = q;
	*cap = c;
	return 1;
}

static void note_dir(struct anonymizer *a, ext2_ino_t ino,
		     const struct ext2_inode *inode)
{
	struct anon_dir *d;

	/* Blocks of one inode come together: the last one is the usual hit. */
	if (a->ndirs && a->dirs[a->ndirs - 1].ino == ino)
		return;
	if (!anon_grow((void **)&a->dirs, &a->capdirs, a->ndirs, sizeof(*a->dirs))) {
		a->err = EXT2_ET_NO_MEMORY;
		return;
	}
	d = &a->dirs[a->ndirs++];
	memset(d, 0, sizeof(*d));
	d->ino = ino;
	d->flags = inode->i_flags;
	d->mode = inode->i_mode;
}

void anon_owned(void *arg, ext2_ino_t ino, const struct ext2_inode *inode,
		enum block_class c, e2_blkcnt_t lblk, uint64_t pblk, uint64_t n)
{
	struct anonymizer *a = arg;
	struct anon_blk *b;

	if (c == BC_EXTENT) {
		if (!anon_grow((void **)&a->enodes, &a->capenodes, a->nenodes,
			       sizeof(*a->enodes)))
			a->err = EXT2_ET_NO_MEMORY;
		else
			a->enodes[a->nenodes++] = pblk;
		return;
	}
	/* quota and orphan-file blocks: only for anon_meta_trim, which
	 * keeps other inodes' claims off them */
	if (c != BC_DIRECTORY && c != BC_SYMLINK && c != BC_XATTR &&
	    c != BC_JOURNAL && c != BC_QUOTA && c != BC_ORPHAN_FILE)
		return;
	if (c == BC_JOURNAL && lblk == 0 && ino == a->fs->super->s_journal_inum)
		a->journal_sb = pblk;
	if (c == BC_DIRECTORY)
		note_dir(a, ino, inode);
	while (n) {
		uint32_t k = n > 0x7fffffff ? 0x7fffffff : (uint32_t)n;

		if (!anon_grow((void **)&a->blks, &a->capblks, a->nblks, sizeof(*a->blks))) {
			a->err = EXT2_ET_NO_MEMORY;
			return;
		}
		b = &a->blks[a->nblks++];
		b->pblk = pblk;
		b->n = k;
		b->ino = ino;
		b->lblk = lblk < 0 ? 0xffffffffu : (uint32_t)lblk;
		b->cls = (uint8_t)c;
		b->flags = inode->i_flags;
		pblk += k;
		n -= k;
		if (lblk >= 0)
			lblk += k;
	}
}

static int by_pblk(const void *x, const void *y)
{
	const struct anon_blk *a = x, *b = y;

	if (a->pblk != b->pblk)
		return a->pblk < b->pblk ? -1 : 1;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

static int by_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int by_ino(const void *x, const void *y)
{
	const struct anon_dir *a = x, *b = y;

	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

const struct anon_blk *anon_blk_at(const struct anonymizer *a, uint64_t pblk)
{
	size_t lo = 0, hi = a->nblks;

	/* the last run starting at or before pblk */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->blks[mid].pblk <= pblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pblk >= a->blks[lo - 1].pblk + a->blks[lo - 1].n)
		return NULL;
	return &a->blks[lo - 1];
}

struct anon_dir *anon_dir_of(struct anonymizer *a, ext2_ino_t ino)
{
	struct anon_dir key = { .ino = ino };

	return a->ndirs ? bsearch(&key, a->dirs, a->ndirs, sizeof(*a->dirs), by_ino) : NULL;
}

/*
 * Runs that overlap (a damaged filesystem: two inodes claim a block) are
 * cut so that each block has one owner, the run that starts first: a
 * lookup then finds every block of every run (a short run inside a long
 * one would otherwise hide the long one's blocks after it).
 */
static void disjoint(struct anonymizer *a)
{
	uint64_t end = 0;
	size_t i, j;

	for (i = j = 0; i < a->nblks; i++) {
		struct anon_blk *b = &a->blks[i];
		uint64_t cut = end > b->pblk ? end - b->pblk : 0;

		if (cut >= b->n)
			continue;
		b->pblk += cut;
		b->n -= (uint32_t)cut;
		if (b->lblk != 0xffffffffu)
			b->lblk += (uint32_t)cut;
		end = b->pblk + b->n;
		a->blks[j++] = *b;
	}
	a->nblks = j;
}

errcode_t anon_prepare(struct anonymizer *a)
{
	const struct anon_blk *jsb;
	errcode_t err;
	size_t i, j;

	if (a->err)
		return a->err;
	err = anon_meta_trim(a);
	if (err)
		return err;
	if (a->nblks)  /* (qsort wants an array, even of none) */
		qsort(a->blks, a->nblks, sizeof(*a->blks), by_pblk);
	disjoint(a);
	/* a journal whose first block is another table's is not read */
	jsb = a->journal_sb ? anon_blk_at(a, a->journal_sb) : NULL;
	if (!jsb || jsb->cls != BC_JOURNAL || jsb->ino != a->fs->super->s_journal_inum)
		a->journal_sb = 0;
	if (a->nenodes)
		qsort(a->enodes, a->nenodes, sizeof(*a->enodes), by_u64);
	if (a->ndirs)
		qsort(a->dirs, a->ndirs, sizeof(*a->dirs), by_ino);
	/* an inode walked twice (the orphan pass) is one directory */
	for (i = j = 0; i < a->ndirs; i++)
		if (!j || a->dirs[j - 1].ino != a->dirs[i].ino)
			a->dirs[j++] = a->dirs[i];
	a->ndirs = j;
	anon_journal_prepare(a);
	return anon_htree(a);
}

/* The group whose superblock copy starts block blk, and the byte it
 * starts at; -1 when none does. */
static int super_at(const struct anonymizer *a, uint64_t blk, unsigned *off)
{
	const struct ext2_super_block *sb = a->fs->super;
	uint64_t first = sb->s_first_data_block, bpg = sb->s_blocks_per_group;
	dgrp_t g;

	/* the primary is at byte 1024, whatever the block size and the
	 * first data block (0 on bigalloc with 1 KiB blocks) */
	if (blk == SUPERBLOCK_OFFSET / a->blocksize) {
		*off = SUPERBLOCK_OFFSET % a->blocksize;
		return 0;
	}
	if (blk < first || (blk - first) % bpg)
		return -1;
	g = (dgrp_t)((blk - first) / bpg);
	if (!g)
		return -1;
	if (g >= a->fs->group_desc_count || !ext2fs_bg_has_super(a->fs, g))
		return -1;
	*off = 0;
	return (int)g;
}

/*
 * A content block that another inode's extent tree names as a node, and
 * that holds a valid node header: left as it is (a node holds block
 * numbers, no names), for rewriting it as a directory or an attribute
 * block would break that tree in the image and not on the source.
 */
static int extent_node(const struct anonymizer *a, uint64_t blk,
		       const unsigned char *p)
{
	return a->nenodes &&
	       bsearch(&blk, a->enodes, a->nenodes, sizeof(*a->enodes), by_u64) &&
	       !ext2fs_extent_header_verify((void *)p, a->blocksize);
}

enum kind { K_NONE, K_SUPER, K_MMP, K_DESC, K_ITABLE, K_CONTENT };

/* What block blk (its bytes at p) is to the anonymizer; *off: where a
 * superblock copy starts in it; *b: a content block's owner. */
static enum kind classify(const struct anonymizer *a, uint64_t blk,
			  const unsigned char *p, unsigned *off,
			  const struct anon_blk **b)
{
	struct ext2_super_block *sb = a->fs->super;

	if (super_at(a, blk, off) >= 0 &&
	    ext2fs_le16_to_cpu(((const struct ext2_super_block *)(p + *off))->s_magic) ==
		    EXT2_SUPER_MAGIC)
		return K_SUPER;
	if (ext2fs_has_feature_mmp(sb) && blk == sb->s_mmp_block)
		return K_MMP;
	if (anon_desc_at(a, blk))
		return K_DESC;
	if (anon_inode_table_block(a, blk))
		return K_ITABLE;
	*b = anon_blk_at(a, blk);
	return *b && !extent_node(a, blk, p) ? K_CONTENT : K_NONE;
}

void anon_apply(void *arg, uint64_t blk, uint64_t n, char *buf)
{
	struct anonymizer *a = arg;
	uint64_t i;

	for (i = 0; i < n; i++, blk++) {
		unsigned char *p = (unsigned char *)buf + i * a->blocksize;
		const struct anon_blk *b = NULL;
		unsigned off = 0;

		/* the boot sector, before the superblock: nothing the
		 * filesystem reads, anything a previous user left */
		if (blk * a->blocksize < SUPERBLOCK_OFFSET)
			memset(p, 0, SUPERBLOCK_OFFSET - blk * a->blocksize < a->blocksize ?
				     SUPERBLOCK_OFFSET - blk * a->blocksize : a->blocksize);
		switch (classify(a, blk, p, &off, &b)) {
		case K_SUPER:
			anon_super(a, p + off);
			break;
		case K_MMP:
			anon_mmp(a, p);
			break;
		case K_DESC:
			anon_uuid_descs(a, anon_desc_at(a, blk), p);
			break;
		case K_ITABLE:
			anon_inode_table(a, blk, p);
			break;
		case K_CONTENT:
			if (b->cls == BC_DIRECTORY)
				anon_dir_block(a, blk, b, p);
			else if (b->cls == BC_SYMLINK)
				anon_symlink_block(a, b, p);
			else if (b->cls == BC_XATTR)
				anon_xattr_block(a, blk, b, p);
			else if (b->cls == BC_JOURNAL)
				anon_journal(a, blk, p);
			break;
		case K_NONE:
			break;
		}
	}
}

/* What anon_apply zeroes whole (the journal's blocks but its superblock:
 * anon_journal_zeroes), told by the same rules without changing any
 * state, so a first pass (a qcow2 stream's) learns which clusters will
 * hold data. */
void anon_blank(void *arg, uint64_t blk, uint64_t n, char *buf)
{
	struct anonymizer *a = arg;
	uint64_t i;

	for (i = 0; i < n; i++, blk++) {
		unsigned char *p = (unsigned char *)buf + i * a->blocksize;
		const struct anon_blk *b = NULL;
		unsigned off = 0;

		if (classify(a, blk, p, &off, &b) == K_CONTENT &&
		    b->cls == BC_JOURNAL && anon_journal_zeroes(a, blk, p))
			memset(p, 0, a->blocksize);
	}
}
