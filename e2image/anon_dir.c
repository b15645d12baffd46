/*
 * Directory blocks and inline directories under --anonymize: each live
 * name is replaced (anon_names.c), the name of a deleted entry and the
 * slack after every name are zeroed, and the block's checksum follows the
 * change (anon_csum.c: right if it was right, wrong if it was wrong).
 * Index nodes of hash trees keep their hashes (the new names were chosen
 * to fall in the same leaves, anon_htree.c); only their unused entry
 * slots are zeroed. Encrypted directories stay as they are.
 * A damaged entry ends the walk of its block and what follows its header
 * is zeroed: nothing unparsed goes out.
 */
#include <string.h>
#include "anon.h"

static const struct anon_leaf *leaf_at(const struct anonymizer *a, uint64_t pblk)
{
	size_t lo = 0, hi = a->nleaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->leaves[mid].pblk == pblk)
			return &a->leaves[mid];
		if (a->leaves[mid].pblk < pblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void anon_entries(struct anonymizer *a, struct anon_dir *d, unsigned char *p,
		  unsigned len, int inline_dir)
{
	unsigned off = 0, rec_len, name_len;

	while (off + 8 <= len) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(p + off);
		unsigned char *name = p + off + 8;

		if (inline_dir)
			rec_len = ext2fs_le16_to_cpu(de->rec_len);
		else
			(void)ext2fs_get_rec_len(a->fs, de, &rec_len);
		name_len = ext2fs_dirent_name_len(de);
		/* damage ends the walk: what follows is zeroed, and with a
		 * bad record length the header too (it may be text) */
		if (rec_len < 8 || rec_len % 4 || rec_len > len - off) {
			memset(p + off, 0, len - off);
			a->n.bad_dir_blocks++;
			return;
		}
		if (name_len + 8 > rec_len) {
			memset(name, 0, len - off - 8);
			a->n.bad_dir_blocks++;
			return;
		}
		if (!de->inode) {
			if (name_len)
				a->n.deleted_entries++;
			memset(name, 0, name_len);
		} else if (!anon_keeps(d, name, name_len)) {
			anon_rename(a, d, name, name_len);
		}
		memset(name + name_len, 0, rec_len - 8 - name_len);
		off += rec_len;
	}
	if (off < len)
		memset(p + off, 0, len - off);
}

/*
 * An index node (root: its entries after the root info, found as e2fsck
 * finds them, at 24 + info_length): the slots past the count, and
 * whatever lies past the slots and the checksum tail, are zeroed; the
 * hashes and block numbers stay.
 */
static void dx_node(struct anonymizer *a, unsigned char *buf, int root)
{
	unsigned bs = a->blocksize, off = root ? 24u + buf[24 + 5] : 8u;
	unsigned tail = ext2fs_has_feature_metadata_csum(a->fs->super) ? 8 : 0;
	unsigned count, room;
	struct ext2_dx_countlimit cl;

	if (off + 4 > bs) {
		a->n.bad_dir_blocks++;
		memset(buf + 32, 0, bs - 32);
		return;
	}
	/* a longer root info: e2fsck and the kernel read its first 8 bytes
	 * only, and the rest may hold anything */
	if (root && off > 32)
		memset(buf + 32, 0, off - 32);
	/* (copied: after an odd info_length the slots are not aligned) */
	memcpy(&cl, buf + off, sizeof(cl));
	/* the slots the block has room for, as e2fsck counts them (a
	 * damaged limit is not believed) */
	room = (bs - off - (off + tail < bs ? tail : 0)) / 8;
	count = ext2fs_le16_to_cpu(cl.count);
	if (count > room)
		count = room;
	if (!count)
		count = 1;  /* the count/limit slot itself */
	memset(buf + off + count * 8u, 0, (room - count) * 8u);
	if (off + room * 8u + tail < bs)
		memset(buf + off + room * 8u + tail, 0, bs - off - room * 8u - tail);
}

static int csum_tail(const struct anonymizer *a, const unsigned char *buf)
{
	const struct ext2_dir_entry_tail *t = (const void *)(buf + a->blocksize - 12);

	return !t->det_reserved_zero1 && ext2fs_le16_to_cpu(t->det_rec_len) == 12 &&
	       ext2fs_le16_to_cpu(t->det_reserved_name_len) == EXT2_DIR_NAME_LEN_CSUM;
}

/*
 * A directory whose tree was not read before the copy (anon_htree.c could
 * not parse it): its index nodes are told by their shape, as e2fsck sees
 * them: the first block when ".." spans the rest of it, another when it
 * starts with an empty entry that spans it and has no name.
 */
static int shaped_dx(const struct anonymizer *a, const struct anon_dir *d,
		     uint32_t lblk, const unsigned char *buf, int *root)
{
	const struct ext2_dir_entry *de = (const void *)(lblk ? buf : buf + 12);
	unsigned rec_len;

	/* without the dir_index feature too: e2fsck -n reads the tree */
	if (!(d->flags & EXT2_INDEX_FL))
		return 0;
	(void)ext2fs_get_rec_len(a->fs, (struct ext2_dir_entry *)de, &rec_len);
	*root = !lblk;
	if (!lblk)
		return rec_len == a->blocksize - 12 && ext2fs_dirent_name_len(de) == 2;
	return !de->inode && !ext2fs_dirent_name_len(de) && rec_len == a->blocksize;
}

int anon_encrypted(const struct anonymizer *a, uint32_t flags)
{
	return (flags & EXT4_ENCRYPT_FL) && ext2fs_has_feature_encrypt(a->fs->super);
}

void anon_dir_block(struct anonymizer *a, uint64_t blk, const struct anon_blk *b,
		    unsigned char *buf)
{
	struct anon_dir tmp = { .ino = b->ino, .flags = b->flags };
	struct anon_dir *d = anon_dir_of(a, b->ino);
	const struct anon_leaf *leaf = leaf_at(a, blk);
	int csum = ext2fs_has_feature_metadata_csum(a->fs->super), root = 0;
	uint32_t lblk = b->lblk + (uint32_t)(blk - b->pblk);
	unsigned len = a->blocksize;

	if (!d)
		d = &tmp;
	if (anon_encrypted(a, d->flags)) {
		a->n.encrypted_dirs_blocks++;
		return;
	}
	if (csum)
		memcpy(a->before, buf, a->blocksize);
	if (leaf && leaf->off == ANON_NODE) {
		dx_node(a, buf, lblk == 0);
	} else if (!leaf && !d->htree && shaped_dx(a, d, lblk, buf, &root)) {
		dx_node(a, buf, root);
	} else {
		if (csum && csum_tail(a, buf))
			len -= 12;
		if (leaf) {
			a->cur = a->names + leaf->off;
			a->cur_end = a->cur + leaf->len;
		}
		anon_entries(a, d, buf, len, 0);
		a->cur = a->cur_end = NULL;
	}
	if (csum)
		anon_dir_csum(a, b->ino, a->before, buf);
}
