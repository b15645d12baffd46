#include "capture.h"
#include "nls.h"
#include "nls.h"

static errcode_t add(struct capture *c, blk64_t b, blk64_t n,
		     enum block_class cl)
{
	return blockmap_add(c->map, b, n, cl);
}

/* A table of group g; one outside the filesystem is reported, not copied. */
static errcode_t add_table(struct capture *c, dgrp_t g, const char *what,
			   blk64_t b, blk64_t n, enum block_class cl)
{
	ext2_filsys fs = c->fs;

	if (n == 0)
		return 0;
	if (b < fs->super->s_first_data_block ||
	    b >= ext2fs_blocks_count(fs->super) ||
	    n > ext2fs_blocks_count(fs->super) - b) {
		if (warn(c->warn, WARN_GROUP, 1,
			 _("group %u: the %s at block %llu lies outside the filesystem"),
			 g, _(what), (unsigned long long)b))
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

static errcode_t add_group(struct capture *c, dgrp_t g)
{
	ext2_filsys fs = c->fs;
	blk64_t b;
	errcode_t err;

	b = ext2fs_inode_table_loc(fs, g);
	if (b && (c->opts.whole_itables ||
		  !ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))) {
		blk64_t n = fs->inode_blocks_per_group;

		/* With checksummed descriptors the unused tail is never read. */
		if (!c->opts.whole_itables && ext2fs_has_group_desc_csum(fs)) {
			blk64_t unused = ext2fs_bg_itable_unused(fs, g) /
					 EXT2_INODES_PER_BLOCK(fs->super);
			n = unused < n ? n - unused : 0;
		}
		err = add_table(c, g, N_("inode table"), b, n, BC_INODE_TABLE);
		if (err)
			return err;
	}
	b = ext2fs_block_bitmap_loc(fs, g);
	if (b && !ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT)) {
		err = add_table(c, g, N_("block bitmap"), b, 1, BC_BITMAP);
		if (err)
			return err;
	}
	b = ext2fs_inode_bitmap_loc(fs, g);
	if (b && !ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT)) {
		err = add_table(c, g, N_("inode bitmap"), b, 1, BC_BITMAP);
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

	c->err.doing = N_("while marking the fixed tables");
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
