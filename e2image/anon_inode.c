/*
 * Inode tables under --anonymize. In every inode, in use or deleted (a
 * deleted inode keeps its old bytes): a fast or inline symlink's target
 * gets other letters, an inline directory's names are replaced as in a
 * directory block, an inline file's data is zeroed (its size kept), and
 * the xattrs in the inode are rewritten (anon_xattr.c). The inode's
 * checksum follows the change (anon_csum.c).
 */
#include <stdlib.h>
#include <string.h>
#include "anon.h"
#include "zero.h"

#define IBLOCK (EXT2_N_BLOCKS * 4) /* i_block's bytes */

static int by_start(const void *x, const void *y)
{
	const struct anon_itable *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

errcode_t anon_itables_init(struct anonymizer *a)
{
	ext2_filsys fs = a->fs;
	dgrp_t g;

	a->itables = calloc(fs->group_desc_count ? fs->group_desc_count : 1,
			    sizeof(*a->itables));
	if (!a->itables)
		return EXT2_ET_NO_MEMORY;
	for (g = 0; g < fs->group_desc_count; g++) {
		blk64_t b = ext2fs_inode_table_loc(fs, g);

		if (b)
			a->itables[a->nitables++] = (struct anon_itable){ b, g };
	}
	if (a->nitables)
		qsort(a->itables, a->nitables, sizeof(*a->itables), by_start);
	return 0;
}

/*
 * A directory or file in use whose i_block is a block map (neither an
 * extent tree nor inline data) naming blocks outside the filesystem:
 * damage, often inline data left after the inline-data flag was cleared,
 * names or file bytes read as block numbers. They stay: e2fsck prints
 * them ("Illegal block #2 (1263681869)"), and the image must make it say
 * what it says on the source; the report counts them as not scrubbed.
 */
static int foreign_block_map(const struct anonymizer *a, const struct ext2_inode *in,
			     uint16_t mode, uint32_t flags)
{
	uint64_t first = a->fs->super->s_first_data_block;
	uint64_t end = ext2fs_blocks_count(a->fs->super);
	unsigned i;

	if ((!LINUX_S_ISDIR(mode) && !LINUX_S_ISREG(mode)) || !in->i_links_count ||
	    (flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)))
		return 0;
	for (i = 0; i < EXT2_N_BLOCKS; i++) {
		uint32_t b = ext2fs_le32_to_cpu(in->i_block[i]);

		if (b && (b < first || b >= end))
			return 1;
	}
	return 0;
}

static void anon_inode(struct anonymizer *a, ext2_ino_t ino, unsigned char *p,
		       unsigned isize)
{
	struct ext2_inode *in = (struct ext2_inode *)p;
	uint16_t mode = ext2fs_le16_to_cpu(in->i_mode);
	uint32_t flags = ext2fs_le32_to_cpu(in->i_flags);
	uint32_t size = ext2fs_le32_to_cpu(in->i_size);
	struct anon_dir tmp = { .ino = ino, .flags = flags, .mode = mode };
	unsigned char *blk = (unsigned char *)in->i_block;
	unsigned char orig[EXT2_MAX_BLOCK_SIZE];
	int inl = ext2fs_has_feature_inline_data(a->fs->super) &&
		      (flags & EXT4_INLINE_DATA_FL);
	int has_ibody = isize > EXT2_GOOD_OLD_INODE_SIZE;

	/* Most inodes of a table are unused and all zeros. */
	if (!mode && !in->i_links_count && !flags && is_zero(p, isize))
		return;
	if (foreign_block_map(a, in, mode, flags))
		a->n.bad_block_maps++;
	/* a file or directory without inline data and with nothing in its
	 * body (most inodes): nothing to change, nothing to copy */
	if (!LINUX_S_ISLNK(mode) && !inl &&
	    (!has_ibody || anon_ibody_untouched(p, isize)))
		return;
	/* the checksum follows what changed, from the bytes before: most
	 * inodes (files without inline data or xattrs) never pay for a
	 * crc32c */
	memcpy(orig, p, isize);
	if (LINUX_S_ISLNK(mode) && anon_encrypted(a, flags)) {
		a->n.encrypted_symlinks++;
	} else if (LINUX_S_ISLNK(mode) && inl) {
		anon_symlink_text(a, ino, blk, IBLOCK);
	} else if (LINUX_S_ISLNK(mode) && !(flags & EXT4_EXTENTS_FL) &&
		   (ext2fs_is_fast_symlink(in) || !ext2fs_inode_data_blocks2(a->fs, in))) {
		/* a target in i_block, whatever i_size says (a damaged or an
		 * old kernel's inode): the text up to its first NUL, and
		 * nothing after it (e2fsck reads no further) */
		size_t n = strnlen((const char *)blk, IBLOCK);

		anon_symlink_text(a, ino, blk, IBLOCK);
		memset(blk + n, 0, IBLOCK - n);
	} else if (LINUX_S_ISDIR(mode) && inl && !anon_encrypted(a, flags)) {
		a->n.inline_dirs++;
		anon_entries(a, &tmp, blk + 4, IBLOCK - 4, 1);
	} else if (inl && !LINUX_S_ISDIR(mode)) {
		a->n.inline_files += size != 0;
		memset(blk, 0, IBLOCK);
	}
	if (has_ibody)
		anon_xattr_ibody(a, ino, &tmp, p, isize);
	if (!ext2fs_has_feature_metadata_csum(a->fs->super) || !memcmp(orig, p, isize))
		return;
	anon_inode_csum(a, ino, orig, p, isize);
}

/* The inode table blk is in, or NULL. */
static const struct anon_itable *itable_of(const struct anonymizer *a, uint64_t blk)
{
	size_t lo = 0, hi = a->nitables;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->itables[mid].start <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || blk >= a->itables[lo - 1].start + a->fs->inode_blocks_per_group)
		return NULL;
	return &a->itables[lo - 1];
}

int anon_inode_table_block(const struct anonymizer *a, uint64_t blk)
{
	return itable_of(a, blk) != NULL;
}

int anon_inode_table(struct anonymizer *a, uint64_t blk, unsigned char *buf)
{
	ext2_filsys fs = a->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super), per = a->blocksize / isize, j;
	const struct anon_itable *t = itable_of(a, blk);
	ext2_ino_t ino;

	if (!t)
		return 0;
	ino = (ext2_ino_t)(t->group * fs->super->s_inodes_per_group +
			   (blk - t->start) * per + 1);
	for (j = 0; j < per; j++, ino++) {
		if (ino > fs->super->s_inodes_count)
			break;
		anon_inode(a, ino, buf + j * isize, isize);
	}
	return 1;
}
