/*
 * The inode scan: one pass over the used part of every inode table. A
 * group whose table cannot be read is reported and skipped; the scan goes
 * on with the next group.
 */
#include <et/com_err.h>
#include "capture.h"
#include "nls.h"

struct scan_pos {
	dgrp_t group;    /* the group being scanned */
};

static errcode_t next_group(ext2_filsys fs, ext2_inode_scan scan,
			    dgrp_t group, void *priv)
{
	struct scan_pos *pos = priv;

	(void)fs; (void)scan;
	pos->group = group + 1;
	return 0;
}

static int io_error(errcode_t err)
{
	return err == EIO || err == EXT2_ET_SHORT_READ || err == EXT2_ET_NEXT_INODE_READ ||
	       err == EXT2_ET_LLSEEK_FAILED;
}

/*
 * The scan reads a group's table in large chunks, and one bad block fails
 * a whole chunk: read the rest of the group inode by inode instead, so only
 * the inodes of the unreadable blocks are lost, one warning a block.
 */
static errcode_t salvage_group(struct capture *c, dgrp_t g, ext2_ino_t done)
{
	ext2_filsys fs = c->fs;
	ext2_ino_t ipg = fs->super->s_inodes_per_group;
	ext2_ino_t first = g * ipg + 1, end = first + ipg, ino;
	unsigned ipb = EXT2_INODES_PER_BLOCK(fs->super);
	blk64_t last_bad = 0;
	errcode_t err;

	if (ext2fs_has_group_desc_csum(fs) &&
	    ext2fs_bg_itable_unused(fs, g) < ipg)
		end -= ext2fs_bg_itable_unused(fs, g);
	for (ino = done >= first && done < end ? done + 1 : first; ino < end; ino++) {
		struct ext2_inode inode;
		blk64_t b = ext2fs_inode_table_loc(fs, g) + (ino - first) / ipb;

		if (b == last_bad)
			continue;
		if (stopped(c->stop))
			return EINTR;
		err = ext2fs_read_inode(fs, ino, &inode);
		if (err && stopped(c->stop))
			return EINTR;
		if (err) {
			ext2_ino_t lo = first + (ino - first) / ipb * ipb;

			last_bad = b;
			if (warn_about(c->warn, WARN_BLOCK, b, 1,
				 _("block %llu: %s while reading the inode table of group %u; inodes %u-%u skipped"),
				 (unsigned long long)b, error_message(err), g,
				 lo, lo + ipb - 1))
				return err;
			continue;
		}
		c->stats.inodes_scanned++;
		if (!inode.i_links_count && !capture_even_unlinked(fs, ino))
			continue;
		err = capture_inode_or_warn(c, ino, &inode);
		if (err)
			return err;
	}
	return 0;
}

errcode_t capture_inodes(struct capture *c)
{
	ext2_filsys fs = c->fs;
	ext2_inode_scan scan;
	struct ext2_inode inode;
	struct scan_pos pos = { 0 };
	ext2_ino_t ino, last = 0;
	errcode_t err;
	/* Large reads: the scan is sequential over each inode table. */
	int buf_blocks = (1 << 20) / fs->blocksize;

	if (buf_blocks > (int)fs->inode_blocks_per_group)
		buf_blocks = fs->inode_blocks_per_group;
	err = ext2fs_open_inode_scan(fs, buf_blocks, &scan);
	if (err) {
		c->err = (struct capture_error){ err, N_("while opening inode scan of %s"), 0 };
		return err;
	}
	/* A group without an inode table has no inodes to give. Inodes in
	 * blocks the bad blocks list names are read all the same: e2fsck
	 * reads them once it finds the list wrong (a list naming the inode
	 * table that holds it), and a block that really is bad fails its read
	 * and is reported. */
	ext2fs_inode_scan_flags(scan, EXT2_SF_SKIP_MISSING_ITABLE,
				EXT2_SF_CHK_BADBLOCKS);
	ext2fs_set_inode_callback(scan, next_group, &pos);
	for (;;) {
		if (stopped(c->stop)) {
			err = EINTR;
			c->err = (struct capture_error){ err, N_("while scanning the inodes of %s"), 0 };
			break;
		}
		err = ext2fs_get_next_inode(scan, &ino, &inode);
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (err && stopped(c->stop))
			continue; /* a read ended by the stop signal: not damage */
		if (err) {
			dgrp_t g = pos.group;

			if (c->warn && io_error(err) && g < fs->group_desc_count) {
				err = salvage_group(c, g, last);
				if (err) {
					c->err = (struct capture_error){ err, N_("while reading the inode table of %s"), 0 };
					break;
				}
			} else if (!c->warn ||
			    (!capture_group_warned(c, g) &&
			     warn_about(c->warn, WARN_GROUP, g, 1,
				  _("group %u: %s while reading its inode table; its inodes are skipped"),
				  g, error_message(err)))) {
				c->err = (struct capture_error){ err, N_("while getting next inode %u of %s"), ino };
				break;
			}
			err = 0;
			if (g + 1 >= fs->group_desc_count ||
			    ext2fs_inode_scan_goto_blockgroup(scan, g + 1))
				break;
			pos.group = g + 1;
			continue;
		}
		if (ino == 0)
			break;
		last = ino;
		c->stats.inodes_scanned++;
		/* Unlinked inodes that still matter are found by capture_orphans. */
		if (!inode.i_links_count && !capture_even_unlinked(fs, ino))
			continue;
		err = capture_inode_or_warn(c, ino, &inode);
		if (err) {
			c->err = (struct capture_error){ err, N_("while iterating over inode %u of %s"), ino };
			break;
		}
	}
	ext2fs_close_inode_scan(scan);
	return err;
}

errcode_t capture_rest(struct capture *c)
{
	errcode_t err = capture_inodes(c);

	if (!err)
		err = capture_journal_backup(c);
	if (!err)
		err = capture_orphans(c);
	return err;
}

errcode_t capture_all(struct capture *c)
{
	errcode_t err = capture_tables(c);

	return err ? err : capture_rest(c);
}
