#include "capture.h"
#include "nls.h"

static errcode_t add(struct capture *c, blk64_t b, blk64_t n,
		     enum block_class cl)
{
	return blockmap_add(c->map, b, n, cl);
}

/* A table of group g; one outside the filesystem is reported, not copied,
 * with outside (N_()): "group %u: the TABLE at block %llu lies outside...". */
static errcode_t add_table(struct capture *c, dgrp_t g, const char *outside,
			   blk64_t b, blk64_t n, enum block_class cl)
{
	ext2_filsys fs = c->fs;

	if (n == 0)
		return 0;
	if (b < fs->super->s_first_data_block ||
	    b >= ext2fs_blocks_count(fs->super) ||
	    n > ext2fs_blocks_count(fs->super) - b) {
		/* The scan then passes over the group instead of failing on
		 * it (group 0 fails the scan's open). Only the in-memory copy
		 * changes: the filesystem is open read-only, and the image
		 * holds the descriptors as the source has them. */
		if (cl == BC_INODE_TABLE)
			ext2fs_inode_table_loc_set(fs, g, 0);
		if (capture_group_warned(c, g))
			return 0;
		if (warn_about(c->warn, WARN_GROUP, g, 1,
			       _(outside), g, (unsigned long long)b))
			return EXT2_ET_GDESC_BAD_INODE_TABLE;
		return 0;
	}
	return add(c, b, n, cl);
}

static errcode_t add_descriptors(struct capture *c, blk64_t sb)
{
	ext2_filsys fs = c->fs;
	errcode_t err;
	dgrp_t j;

	for (j = 0; j < fs->desc_blocks; j++) {
		err = add(c, ext2fs_descriptor_block_loc2(fs, sb, j), 1,
			  BC_DESCRIPTOR);
		if (err)
			return err;
	}
	return 0;
}

/*
 * ext2fs_check_desc's checks, the ones that send e2fsck to the backup
 * superblock and its descriptors, as far as they can be made without a
 * bitmap of the whole filesystem (it allocates one: 128 MiB for 4 TiB):
 * bitmaps and inode tables inside the filesystem (inside their group
 * without flex_bg). Overlaps between tables are not looked for.
 */
int capture_desc_damaged(ext2_filsys fs, dgrp_t *group)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t last = ext2fs_blocks_count(fs->super) - 1;
	unsigned dsz = EXT2_DESC_SIZE(fs->super);
	dgrp_t g;

	*group = 0;
	if (dsz & (dsz - 1))
		return 1;
	for (g = 0; g < fs->group_desc_count; g++) {
		blk64_t bb = ext2fs_block_bitmap_loc(fs, g);
		blk64_t ib = ext2fs_inode_bitmap_loc(fs, g);
		blk64_t it = ext2fs_inode_table_loc(fs, g);

		if (!ext2fs_has_feature_flex_bg(fs->super)) {
			first = ext2fs_group_first_block2(fs, g);
			last = ext2fs_group_last_block2(fs, g);
		}
		*group = g;
		if (bb < first || bb > last || ib < first || ib > last ||
		    it < first || it > last ||
		    fs->inode_blocks_per_group - 1 > last - it)
			return 1;
	}
	return 0;
}

/*
 * A descriptor e2fsck -y repairs before it reads the group: a checksum
 * that fails, or an unused-inode count larger than the free count or the
 * group (e2fsck/super.c). It then drops the count and the uninit flags
 * and reads the whole inode table and both bitmaps.
 */
static int desc_repaired(ext2_filsys fs, dgrp_t g)
{
	__u32 unused = ext2fs_bg_itable_unused(fs, g);

	return ext2fs_has_group_desc_csum(fs) &&
	       (!ext2fs_group_desc_csum_verify(fs, g) ||
		unused > ext2fs_bg_free_inodes_count(fs, g) ||
		unused > fs->super->s_inodes_per_group);
}

/*
 * Inodes in use (by the inode bitmap) inside the tail the descriptor calls
 * unused: a count that shrank by damage. A directory entry naming one
 * makes e2fsck drop the count and start again, reading the whole table.
 */
static int tail_in_use(struct capture *c, dgrp_t g, __u32 unused)
{
	ext2_filsys fs = c->fs;
	__u32 ipg = fs->super->s_inodes_per_group, i;
	const unsigned char *bits = (const unsigned char *)c->block_buf;
	blk64_t b = ext2fs_inode_bitmap_loc(fs, g);

	if (!unused || unused > ipg || ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) ||
	    b < fs->super->s_first_data_block || b >= ext2fs_blocks_count(fs->super) ||
	    io_channel_read_blk64(fs->io, b, 1, c->block_buf))
		return 0;
	for (i = ipg - unused; i < ipg && i % 8; i++)
		if (bits[i / 8] & (1u << (i % 8)))
			return 1;
	for (; i + 8 <= ipg; i += 8)
		if (bits[i / 8])
			return 1;
	for (; i < ipg; i++)
		if (bits[i / 8] & (1u << (i % 8)))
			return 1;
	return 0;
}

/*
 * The group as e2fsck -y leaves it before it reads it: the unused count and
 * the inode uninit flag dropped (the block one too, for a checksum that
 * fails). Only the
 * in-memory copy changes (the filesystem is open read-only, and the image
 * holds the descriptors as the source has them); the inode scan then
 * reads the inodes e2fsck will read.
 */
static void repair_desc(ext2_filsys fs, dgrp_t g)
{
	if (!ext2fs_group_desc_csum_verify(fs, g))
		ext2fs_bg_flags_clear(fs, g, EXT2_BG_BLOCK_UNINIT);
	ext2fs_bg_flags_clear(fs, g, EXT2_BG_INODE_UNINIT);
	ext2fs_bg_itable_unused_set(fs, g, 0);
	ext2fs_group_desc_csum_set(fs, g);
}

/*
 * A group flagged as having no initialized inodes that counts some in use
 * (group 0 always holds the reserved ones): e2fsck reads them all the same
 * (the journal, the root; a directory entry that names one makes it drop
 * the flag and start again).
 */
static int uninit_but_used(ext2_filsys fs, dgrp_t g)
{
	return ext2fs_has_group_desc_csum(fs) &&
	       ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) &&
	       (g == 0 || ext2fs_bg_used_dirs_count(fs, g) ||
		ext2fs_bg_free_inodes_count(fs, g) < fs->super->s_inodes_per_group);
}

static errcode_t add_group(struct capture *c, dgrp_t g)
{
	ext2_filsys fs = c->fs;
	int whole;
	blk64_t b;
	errcode_t err;

	if (desc_repaired(fs, g) || uninit_but_used(fs, g) ||
	    (ext2fs_has_group_desc_csum(fs) &&
	     tail_in_use(c, g, ext2fs_bg_itable_unused(fs, g))))
		repair_desc(fs, g);
	whole = c->opts.whole_itables;
	b = ext2fs_inode_table_loc(fs, g);
	if (b && (whole || !ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))) {
		blk64_t n = fs->inode_blocks_per_group;

		/* With checksummed descriptors the unused tail is never read. */
		if (!whole && ext2fs_has_group_desc_csum(fs)) {
			blk64_t ub = ext2fs_bg_itable_unused(fs, g) /
				     EXT2_INODES_PER_BLOCK(fs->super);

			n = ub < n ? n - ub : 0;
		}
		err = add_table(c, g, N_("group %u: the inode table at block %llu lies outside the filesystem"), b, n, BC_INODE_TABLE);
		if (err)
			return err;
	}
	b = ext2fs_block_bitmap_loc(fs, g);
	if (b && !ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT)) {
		err = add_table(c, g, N_("group %u: the block bitmap at block %llu lies outside the filesystem"), b, 1, BC_BITMAP);
		if (err)
			return err;
	}
	b = ext2fs_inode_bitmap_loc(fs, g);
	if (b && !ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT)) {
		err = add_table(c, g, N_("group %u: the inode bitmap at block %llu lies outside the filesystem"), b, 1, BC_BITMAP);
		if (err)
			return err;
	}
	return 0;
}

errcode_t capture_tables(struct capture *c)
{
	ext2_filsys fs = c->fs;
	blk64_t first = fs->super->s_first_data_block;
	errcode_t err;
	dgrp_t g;

	c->err.doing = N_("while marking the fixed tables of %s");
	err = add(c, first, 1, BC_SUPERBLOCK);
	if (!err)
		err = add_descriptors(c, first);
	if (!err && c->opts.backup_sb) {
		err = add(c, c->opts.backup_sb, 1, BC_SUPERBLOCK);
		if (!err)
			err = add_descriptors(c, c->opts.backup_sb);
	}
	if (!err && ext2fs_has_feature_mmp(fs->super))
		err = add(c, fs->super->s_mmp_block, 1, BC_MMP);
	for (g = 0; !err && g < fs->group_desc_count; g++)
		err = add_group(c, g);
	c->err.code = err;
	return err;
}
