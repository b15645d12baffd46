/*
 * --anonymize=uuid: a new random UUID in every superblock copy (and in
 * the journal's superblock where it holds the filesystem's). Checksums
 * seeded by the UUID must stay right without rewriting every block:
 *  - metadata_csum: the old seed is kept in the superblock (the csum_seed
 *    feature, as tune2fs -U does on a mounted filesystem), so no other
 *    checksum changes;
 *  - gdt_csum (uninit_bg without metadata_csum): each group descriptor's
 *    crc16 covers the UUID, so every descriptor copy gets its checksum set
 *    again, by libext2fs' ext2fs_group_desc_csum on a duplicate handle
 *    holding the new UUID, where it was right under the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "anon.h"

static int by_blk(const void *x, const void *y)
{
	const struct anon_desc *a = x, *b = y;

	return a->blk < b->blk ? -1 : a->blk > b->blk;
}

static int add_desc(struct anonymizer *a, uint64_t blk, dgrp_t first, size_t *cap)
{
	if (a->ndescs == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct anon_desc *d = realloc(a->descs, c * sizeof(*d));

		if (!d)
			return 0;
		a->descs = d;
		*cap = c;
	}
	a->descs[a->ndescs++] = (struct anon_desc){ blk, first };
	return 1;
}

/* Every copy of the descriptor table, block by block, with the first group
 * each block describes. */
static errcode_t list_descs(struct anonymizer *a)
{
	ext2_filsys fs = a->fs;
	unsigned per = EXT2_DESC_PER_BLOCK(fs->super);
	blk64_t super, old_desc, new_desc;
	blk_t used;
	dgrp_t g, i, old_blocks = fs->desc_blocks;
	size_t cap = 0;

	if (ext2fs_has_feature_meta_bg(fs->super) && fs->super->s_first_meta_bg < old_blocks)
		old_blocks = fs->super->s_first_meta_bg;
	for (g = 0; g < fs->group_desc_count; g++) {
		if (ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used))
			continue;
		for (i = 0; old_desc && i < old_blocks; i++)
			if (!add_desc(a, old_desc + i, i * per, &cap))
				return EXT2_ET_NO_MEMORY;
		if (new_desc && !add_desc(a, new_desc, g / per * per, &cap))
			return EXT2_ET_NO_MEMORY;
	}
	if (a->ndescs)
		qsort(a->descs, a->ndescs, sizeof(*a->descs), by_blk);
	return 0;
}

errcode_t anon_uuid_init(struct anonymizer *a)
{
	ext2_filsys fs = a->fs;
	errcode_t err;

	memcpy(a->old_uuid, fs->super->s_uuid, 16);
	do {
		if (getrandom(a->new_uuid, 16, 0) != 16)
			return EXT2_ET_NO_MEMORY;
		a->new_uuid[6] = (a->new_uuid[6] & 0x0f) | 0x40;  /* version 4 */
		a->new_uuid[8] = (a->new_uuid[8] & 0x3f) | 0x80;  /* RFC 4122 */
	} while (!memcmp(a->new_uuid, a->old_uuid, 16));
	a->uuid = 1;
	if (!ext2fs_has_group_desc_csum(fs) || ext2fs_has_feature_metadata_csum(fs->super))
		return 0;
	/* opened through a backup superblock, libext2fs keeps no original
	 * to duplicate the handle from */
	if (!fs->orig_super)
		return EXT2_ET_UNIMPLEMENTED;
	err = ext2fs_dup_handle(fs, &a->dup);
	return err ? err : list_descs(a);
}

void anon_uuid_free(struct anonymizer *a)
{
	if (a->dup)
		ext2fs_free(a->dup);
	a->dup = NULL;
	free(a->descs);
	a->descs = NULL;
}

static void uuid_text(const unsigned char *u, char *out)
{
	int i;

	for (i = 0; i < 16; i++)
		out += sprintf(out, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
}

void anon_uuid_super(struct anonymizer *a, struct ext2_super_block *sb)
{
	if (memcmp(sb->s_uuid, a->old_uuid, 16))
		return;
	if (!a->uuid_mapped) {
		uuid_text(a->old_uuid, a->old_text);
		uuid_text(a->new_uuid, a->new_text);
		anon_map(a, "uuid", 0, a->old_text, a->new_text, strlen(a->old_text));
		a->uuid_mapped = 1;
	}
	if (ext2fs_has_feature_metadata_csum(a->fs->super) &&
	    !(sb->s_feature_incompat & ext2fs_cpu_to_le32(EXT4_FEATURE_INCOMPAT_CSUM_SEED))) {
		sb->s_feature_incompat |= ext2fs_cpu_to_le32(EXT4_FEATURE_INCOMPAT_CSUM_SEED);
		sb->s_checksum_seed = ext2fs_cpu_to_le32(a->fs->csum_seed);
	}
	memcpy(sb->s_uuid, a->new_uuid, 16);
}

const struct anon_desc *anon_desc_at(const struct anonymizer *a, uint64_t blk)
{
	struct anon_desc key = { blk, 0 };

	return a->ndescs ? bsearch(&key, a->descs, a->ndescs, sizeof(key), by_blk) : NULL;
}

/* One block of descriptors: each checksum set again under the new UUID,
 * where it was right under the old one. */
void anon_uuid_descs(struct anonymizer *a, const struct anon_desc *d,
		     unsigned char *buf)
{
	ext2_filsys dup = a->dup;
	unsigned size = EXT2_DESC_SIZE(dup->super), per = a->blocksize / size, i;

	for (i = 0; i < per && d->first + i < dup->group_desc_count; i++) {
		dgrp_t g = d->first + i;
		struct ext2_group_desc *mine = ext2fs_group_desc(dup, dup->group_desc, g);
		unsigned char *p = buf + i * size;
		__u16 stored = ext2fs_le16_to_cpu(((struct ext2_group_desc *)p)->bg_checksum);

		memcpy(mine, p, size);
		memcpy(dup->super->s_uuid, a->old_uuid, 16);
		if (ext2fs_group_desc_csum(dup, g) != stored)
			continue;
		memcpy(dup->super->s_uuid, a->new_uuid, 16);
		((struct ext2_group_desc *)p)->bg_checksum =
			ext2fs_cpu_to_le16(ext2fs_group_desc_csum(dup, g));
	}
}
