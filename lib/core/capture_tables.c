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
		if (capture_group_warned(c, g))
			return 0;
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

/*
 * The checks that send e2fsck to the backup descriptors, as far as they can
 * be made without a bitmap of the whole filesystem (ext2fs_check_desc
 * allocates one: 128 MiB for 4 TiB): a bad checksum, a table outside the
 * filesystem.
 */
static int descriptors_damaged(ext2_filsys fs)
{
	blk64_t first = fs->super->s_first_data_block;
	blk64_t count = ext2fs_blocks_count(fs->super);
	dgrp_t g;

	for (g = 0; g < fs->group_desc_count; g++) {
		blk64_t bb = ext2fs_block_bitmap_loc(fs, g);
		blk64_t ib = ext2fs_inode_bitmap_loc(fs, g);
		blk64_t it = ext2fs_inode_table_loc(fs, g);

		if (ext2fs_has_group_desc_csum(fs) &&
		    !ext2fs_group_desc_csum_verify(fs, g))
			return 1;
		if (bb < first || bb >= count || ib < first || ib >= count ||
		    it < first || it >= count ||
		    fs->inode_blocks_per_group > count - it)
			return 1;
	}
	return 0;
}

/*
 * The bitmaps and inode tables the backup descriptors name: e2fsck reads
 * them when it falls back to the backup. Read from the source as they are,
 * without trusting them: what lies outside the filesystem is dropped.
 */
static errcode_t add_backup_tables(struct capture *c, blk64_t sb)
{
	ext2_filsys fs = c->fs;
	unsigned dsz = EXT2_DESC_SIZE(fs->super);
	unsigned per = fs->blocksize / dsz;
	char *buf;
	dgrp_t g = 0;
	blk64_t j;
	errcode_t err;

	err = ext2fs_get_mem(fs->blocksize, &buf);
	if (err)
		return err;
	for (j = 0; j < fs->desc_blocks && g < fs->group_desc_count; j++) {
		unsigned i;

		if (io_channel_read_blk64(fs->io, ext2fs_descriptor_block_loc2(fs, sb, j),
					  1, buf))
			break; /* the backup is unreadable too: nothing to add */
		for (i = 0; i < per && g < fs->group_desc_count; i++, g++) {
			struct ext4_group_desc *d = (struct ext4_group_desc *)(buf + i * dsz);
			int wide = dsz >= EXT2_MIN_DESC_SIZE_64BIT;
			blk64_t bb = ext2fs_le32_to_cpu(d->bg_block_bitmap) |
				     (wide ? (blk64_t)ext2fs_le32_to_cpu(d->bg_block_bitmap_hi) << 32 : 0);
			blk64_t ib = ext2fs_le32_to_cpu(d->bg_inode_bitmap) |
				     (wide ? (blk64_t)ext2fs_le32_to_cpu(d->bg_inode_bitmap_hi) << 32 : 0);
			blk64_t it = ext2fs_le32_to_cpu(d->bg_inode_table) |
				     (wide ? (blk64_t)ext2fs_le32_to_cpu(d->bg_inode_table_hi) << 32 : 0);

			err = add(c, bb, 1, BC_BITMAP);
			if (!err)
				err = add(c, ib, 1, BC_BITMAP);
			if (!err)
				err = add(c, it, fs->inode_blocks_per_group, BC_INODE_TABLE);
			if (err)
				goto out;
		}
	}
out:
	ext2fs_free_mem(&buf);
	return err;
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
	/* Descriptors that fail e2fsck's checks send it to the first backup
	 * superblock and its descriptors: they must be in the image too. */
	if (!err && !c->opts.backup_sb && fs->group_desc_count > 1 &&
	    ext2fs_bg_has_super(fs, 1) && descriptors_damaged(fs)) {
		blk64_t sb = ext2fs_group_first_block2(fs, 1);

		err = add(c, sb, 1, BC_SUPERBLOCK);
		if (!err)
			err = add_descriptors(c, sb);
		if (!err)
			err = add_backup_tables(c, sb);
	}
	if (!err && ext2fs_has_feature_mmp(fs->super))
		err = add(c, fs->super->s_mmp_block, 1, BC_MMP);
	for (g = 0; !err && g < fs->group_desc_count; g++)
		err = add_group(c, g);
	c->err.code = err;
	return err;
}
