/*
 * Blocks that are the filesystem's own metadata are never rewritten as an
 * inode's content. A damaged inode can claim any block: a directory whose
 * inline-data flag was cleared reads its inline entries as block numbers
 * (the parent's inode number, 2, names the group descriptors), a bogus
 * extent or xattr block number can name a bitmap. e2fsck reports the
 * claim and reads the block as the metadata it is; rewriting it as a
 * directory, symlink or xattr block would corrupt the image where the
 * source is only reported. Before the copy, the content runs lose:
 *  - the fixed tables (superblock copies, group descriptors and reserved
 *    GDT blocks as ext2fs_reserve_super_and_bgd marks them, the resize
 *    inode's block, bitmaps, inode tables, the MMP block) and the quota
 *    and orphan-file inodes' blocks: taken from every run, the journal's
 *    too (it would zero them);
 *  - then the journal's blocks: taken from directory, symlink and xattr
 *    runs, so each is zeroed as a journal block and its superblock kept.
 * The set is a sub-cluster rbtree bitmap: its memory goes with its runs,
 * not with the filesystem's size.
 */
#include <stdlib.h>
#include "anon.h"

/* Marks [b, b + n), clipped to the filesystem (a damaged descriptor can
 * put a table anywhere; the bitmap warns about blocks outside it). */
static void mark(ext2_filsys fs, ext2fs_block_bitmap bm, uint64_t b, uint64_t n)
{
	uint64_t first = fs->super->s_first_data_block;
	uint64_t end = ext2fs_blocks_count(fs->super);

	if (b < first) {
		if (b + n <= first)
			return;
		n -= first - b;
		b = first;
	}
	if (!n || b >= end)
		return;
	if (n > end - b)
		n = end - b;
	ext2fs_mark_block_bitmap_range2(bm, b, (unsigned)n);
}

static void mark_fixed(struct anonymizer *a, ext2fs_block_bitmap bm)
{
	ext2_filsys fs = a->fs;
	struct ext2_inode resize;
	dgrp_t g;

	for (g = 0; g < fs->group_desc_count; g++) {
		(void)ext2fs_reserve_super_and_bgd(fs, g, bm);
		mark(fs, bm, ext2fs_block_bitmap_loc(fs, g), 1);
		mark(fs, bm, ext2fs_inode_bitmap_loc(fs, g), 1);
		if (ext2fs_inode_table_loc(fs, g))
			mark(fs, bm, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group);
	}
	if (ext2fs_has_feature_mmp(fs->super))
		mark(fs, bm, fs->super->s_mmp_block, 1);
	/* its double-indirect block: the reserved GDT blocks are marked */
	if (ext2fs_has_feature_resize_inode(fs->super) &&
	    !ext2fs_read_inode(fs, EXT2_RESIZE_INO, &resize) &&
	    resize.i_block[EXT2_DIND_BLOCK])
		mark(fs, bm, resize.i_block[EXT2_DIND_BLOCK], 1);
}

static int is_system(uint8_t cls)
{
	return cls == BC_QUOTA || cls == BC_ORPHAN_FILE;
}

/* The runs whose class is in mask lose the blocks set in bm (a run is cut
 * in pieces where needed); system inodes' runs are dropped once marked
 * (nothing rewrites them). 0: no memory. */
static int trim(struct anonymizer *a, ext2fs_block_bitmap bm, unsigned mask)
{
	uint64_t lo = a->fs->super->s_first_data_block;
	uint64_t hi = ext2fs_blocks_count(a->fs->super) - 1;
	struct anon_blk *out = NULL;
	size_t n = 0, cap = 0, i;

	for (i = 0; i < a->nblks; i++) {
		struct anon_blk b = a->blks[i];
		uint64_t pos = b.pblk, end = b.pblk + b.n;

		if (is_system(b.cls))
			continue;
		while (pos < end) {
			blk64_t s = end, z = end;

			if ((mask & 1u << b.cls) && pos <= hi && end > lo) {
				uint64_t q0 = pos < lo ? lo : pos, q1 = end - 1 > hi ? hi : end - 1;

				if (ext2fs_find_first_set_block_bitmap2(bm, q0, q1, &s))
					s = end;
				else if (ext2fs_find_first_zero_block_bitmap2(bm, s, q1, &z))
					z = q1 + 1;
			}
			if (s > pos) {
				if (!anon_grow((void **)&out, &cap, n, sizeof(*out))) {
					free(out);
					return 0;
				}
				out[n] = b;
				out[n].pblk = pos;
				out[n].n = (uint32_t)(s - pos);
				if (b.lblk != 0xffffffffu)
					out[n].lblk = b.lblk + (uint32_t)(pos - b.pblk);
				n++;
			}
			if (s < end)
				a->n.meta_claimed += z - s;
			pos = s < end ? z : end;
		}
	}
	free(a->blks);
	a->blks = out;
	a->nblks = n;
	a->capblks = cap;
	return 1;
}

errcode_t anon_meta_trim(struct anonymizer *a)
{
	ext2_filsys fs = a->fs;
	ext2fs_block_bitmap bm;
	int type = fs->default_bitmap_type, ok;
	unsigned content = 1u << BC_DIRECTORY | 1u << BC_SYMLINK | 1u << BC_XATTR;
	errcode_t err;
	size_t i;

	fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
	err = ext2fs_allocate_subcluster_bitmap(fs, "anonymizer: metadata", &bm);
	fs->default_bitmap_type = type;
	if (err)
		return err;
	mark_fixed(a, bm);
	for (i = 0; i < a->nblks; i++)
		if (is_system(a->blks[i].cls))
			mark(fs, bm, a->blks[i].pblk, a->blks[i].n);
	ok = trim(a, bm, content | 1u << BC_JOURNAL);
	for (i = 0; ok && i < a->nblks; i++)
		if (a->blks[i].cls == BC_JOURNAL)
			mark(fs, bm, a->blks[i].pblk, a->blks[i].n);
	ok = ok && trim(a, bm, content);
	ext2fs_free_block_bitmap(bm);
	return ok ? 0 : EXT2_ET_NO_MEMORY;
}
