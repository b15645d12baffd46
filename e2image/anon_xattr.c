/*
 * Extended attributes under --anonymize, in the inode and in xattr blocks:
 * names after the namespace prefix get other letters of the same length
 * (user., trusted., security. and unknown namespaces), in increasing
 * order so a sorted block stays sorted; their values are zeroed. POSIX
 * ACLs and system.* keep their structure, except system.data (inline
 * data: a directory's names replaced, a symlink's target rewritten, a
 * file's bytes zeroed). Entry hashes are computed again (with the signed
 * or unsigned variant the entry had), a block's hash and checksum too. A
 * value held in an EA inode is not in a metadata image; its entry stays.
 */
#include <string.h>
#include "anon.h"
#include "zero.h"

#define NS_POSIX_ACL_ACCESS 2
#define NS_POSIX_ACL_DEFAULT 3
#define NS_SYSTEM 7


/*
 * The k-th new name of len letters: in a block from the second half of
 * the alphabet (n-z first), in an inode from the first (a-m), so an inode
 * never gets a name twice, from its body and from the block it shares.
 */
static int xattr_name(uint32_t k, unsigned len, int in_block, char *out)
{
	uint64_t half = 13;
	unsigned i;

	for (i = 1; i < len && half <= UINT32_MAX; i++)
		half *= 26;
	if (k >= half)
		return 0;
	return anon_name_k(k + (in_block ? half : 0), len, 1, 1, out);
}

static void one_entry(struct anonymizer *a, ext2_ino_t ino, struct anon_dir *d,
		      struct ext2_ext_attr_entry *e, unsigned char *value,
		      uint32_t *k, int in_block, int always_hash)
{
	unsigned char *name = (unsigned char *)(e + 1);
	unsigned nl = e->e_name_len;
	uint32_t old = ext2fs_le32_to_cpu(e->e_hash), hu, hs;
	int sign, hashed;
	char fresh[256];

	hu = ext2fs_ext_attr_hash_entry(e, value);
	hs = ext2fs_ext_attr_hash_entry_signed(e, value);
	hashed = old == hu || old == hs;
	sign = old == hs && old != hu;
	if (e->e_name_index == NS_SYSTEM && nl == 4 && !memcmp(name, "data", 4)) {
		uint32_t vs = ext2fs_le32_to_cpu(e->e_value_size);

		if (LINUX_S_ISDIR(d->mode))
			anon_entries(a, d, value, vs, 1);
		else if (LINUX_S_ISLNK(d->mode))
			anon_symlink_text(a, ino, value, vs);
		else
			memset(value, 0, vs);
	} else if (((e->e_name_index == NS_POSIX_ACL_ACCESS ||
		     e->e_name_index == NS_POSIX_ACL_DEFAULT) && !nl) ||
		   (e->e_name_index == NS_SYSTEM && nl == 7 &&
		    !memcmp(name, "richacl", 7))) {
		/* the filesystem's own structure (an ACL's name is empty):
		 * any other name in these namespaces is damage, and goes */
		return;
	} else {
		/* an empty name (damage outside the ACLs) holds nothing */
		if (nl && xattr_name(k[nl]++, nl, in_block, fresh)) {
			anon_map(a, "xattr", ino, name, fresh, nl);
			memcpy(name, fresh, nl);
		} else if (nl) {
			a->n.xattrs_kept++;
		}
		memset(value, 0, ext2fs_le32_to_cpu(e->e_value_size));
		a->n.xattrs++;
	}
	if (hashed && (old || always_hash))
		e->e_hash = ext2fs_cpu_to_le32(sign ? ext2fs_ext_attr_hash_entry_signed(e, value)
						    : ext2fs_ext_attr_hash_entry(e, value));
}

/* Marks [p, p + n) of the region [lo, end) as holding something. */
static void mark(unsigned char *used, const unsigned char *lo,
		 const unsigned char *end, const unsigned char *p, size_t n)
{
	if (p < lo)
		n = (size_t)(p + n > lo ? p + n - lo : 0), p = lo;
	if (p >= end)
		return;
	if (n > (size_t)(end - p))
		n = (size_t)(end - p);
	memset(used + (p - lo), 1, n);
}

/* Where the list of entries from first ends (after its 4 zero bytes, or
 * at the first entry that does not fit). */
static unsigned char *table_end(unsigned char *first, unsigned char *end)
{
	struct ext2_ext_attr_entry *e = (struct ext2_ext_attr_entry *)first;

	while ((unsigned char *)e + 4 <= end && *(uint32_t *)e) {
		if ((unsigned char *)e + sizeof(*e) > end ||
		    (unsigned char *)e + EXT2_EXT_ATTR_LEN(e->e_name_len) > end)
			return (unsigned char *)e;
		e = EXT2_EXT_ATTR_NEXT(e);
	}
	return (unsigned char *)e + 4 <= end ? (unsigned char *)e + 4 : end;
}

/*
 * Entries from first, in the region [lo, end); values at base +
 * e_value_offs. Afterwards every byte of the region that no entry and no
 * value holds is zeroed: stale names and values of removed attributes,
 * values no entry points at any more, and whatever follows a damaged
 * entry. Returns the entry that ends the list.
 */
static struct ext2_ext_attr_entry *
entries(struct anonymizer *a, ext2_ino_t ino, struct anon_dir *d,
	unsigned char *first, unsigned char *lo, unsigned char *end,
	unsigned char *base, int is_block)
{
	struct ext2_ext_attr_entry *e = (struct ext2_ext_attr_entry *)first;
	unsigned char *used = a->scratch;
	uint32_t k[256] = { 0 };  /* the next name, by length: each its own */
	size_t i;

	unsigned char *table = table_end(first, end);

	memset(used, 0, (size_t)(end - lo));
	mark(used, lo, end, lo, (size_t)(first - lo));
	while ((unsigned char *)e + 4 <= end && *(uint32_t *)e) {
		unsigned char *v;
		uint32_t vs;

		if ((unsigned char *)e + sizeof(*e) > end ||
		    (unsigned char *)e + EXT2_EXT_ATTR_LEN(e->e_name_len) > end) {
			a->n.xattr_bad++;
			break;
		}
		mark(used, lo, end, (unsigned char *)e, EXT2_EXT_ATTR_LEN(e->e_name_len));
		v = base + ext2fs_le16_to_cpu(e->e_value_offs);
		vs = ext2fs_le32_to_cpu(e->e_value_size);
		/* a value in an EA inode only with the feature; without, the
		 * number is damage, and the name goes as below */
		if (e->e_value_inum && ext2fs_has_feature_ea_inode(a->fs->super)) {
			a->n.ea_inode_values++;
		} else if (e->e_value_inum || (vs && (v < table || v > end ||
						     vs > (size_t)(end - v)))) {
			/* the name goes; the value is nowhere to be read, or
			 * lies on the entries (zeroing it would spoil them;
			 * its bytes there are entries, rewritten as such) */
			struct ext2_ext_attr_entry copy = *e;

			a->n.xattr_bad++;
			e->e_value_size = 0;
			one_entry(a, ino, d, e, lo, k, is_block, 0);
			e->e_value_size = copy.e_value_size;
			e->e_hash = copy.e_hash;
		} else {
			/* an empty value (the kernel writes offset 0) is no
			 * damage: the name goes, the hash follows */
			one_entry(a, ino, d, e, vs ? v : lo, k, is_block, is_block);
			if (vs)
				mark(used, lo, end, v, EXT2_EXT_ATTR_SIZE(vs));
		}
		e = EXT2_EXT_ATTR_NEXT(e);
	}
	mark(used, lo, end, (unsigned char *)e, 4);  /* the list's end */
	for (i = 0; i < (size_t)(end - lo); i++)
		if (!used[i])
			lo[i] = 0;
	return e;
}

/* Where the attributes of an inode's body start (a bad size: where
 * e2fsck -y puts them back, after the standard extra fields); NULL when
 * there is no room for them. */
static unsigned char *ibody_start(unsigned char *inode, unsigned isize)
{
	struct ext2_inode_large *in = (struct ext2_inode_large *)inode;
	unsigned extra = ext2fs_le16_to_cpu(in->i_extra_isize);

	if (extra % 4 || EXT2_GOOD_OLD_INODE_SIZE + extra + 4 > isize)
		extra = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	if (EXT2_GOOD_OLD_INODE_SIZE + extra + 4 > isize)
		return NULL;
	return inode + EXT2_GOOD_OLD_INODE_SIZE + extra;
}

/* Where the bytes no field is known for start: past the last field of
 * struct ext2_inode_large, when i_extra_isize reaches beyond it (a newer
 * kernel's fields, or anything written there); else the attributes' start. */
static unsigned char *unknown_start(unsigned char *inode, unsigned char *start)
{
	unsigned char *known = inode + sizeof(struct ext2_inode_large);

	return start > known ? known : start;
}

int anon_ibody_untouched(unsigned char *inode, unsigned isize)
{
	unsigned char *start = ibody_start(inode, isize);

	if (!start)
		return 1;
	start = unknown_start(inode, start);
	return is_zero(start, (size_t)(inode + isize - start));
}

void anon_xattr_ibody(struct anonymizer *a, ext2_ino_t ino, struct anon_dir *d,
		      unsigned char *inode, unsigned isize)
{
	unsigned char *start = ibody_start(inode, isize), *end = inode + isize;

	if (!start)
		return;
	/* e2fsck reads nothing there, but it is the inode's: zeroed (the
	 * inode's checksum is set again by the caller) */
	memset(unknown_start(inode, start), 0, (size_t)(start - unknown_start(inode, start)));
	/* no attributes: whatever lies there is left from removed ones */
	if (ext2fs_le32_to_cpu(*(uint32_t *)start) != EXT2_EXT_ATTR_MAGIC) {
		memset(start, 0, (size_t)(end - start));
		return;
	}
	entries(a, ino, d, start + 4, start + 4, end, start + 4, 0);
}

void anon_xattr_block(struct anonymizer *a, uint64_t blk, const struct anon_blk *b,
		      unsigned char *buf)
{
	struct ext2_ext_attr_header *h = (struct ext2_ext_attr_header *)buf;
	struct anon_dir d = { .ino = b->ino, .flags = b->flags };
	struct ext2_ext_attr_entry *end;
	int ok;

	/* a bad header: e2fsck -n reads the entries all the same, so they
	 * are rewritten all the same */
	if (ext2fs_le32_to_cpu(h->h_magic) != EXT2_EXT_ATTR_MAGIC &&
	    ext2fs_le32_to_cpu(h->h_magic) != EXT2_EXT_ATTR_MAGIC_v1)
		a->n.xattr_bad++;
	ok = ext2fs_has_feature_metadata_csum(a->fs->super) &&
	     ext2fs_ext_attr_block_csum_verify(a->fs, b->ino, blk, h);
	end = entries(a, b->ino, &d, buf + sizeof(*h), buf + sizeof(*h),
		      buf + a->blocksize, buf, 1);
	if ((unsigned char *)end + 4 <= buf + a->blocksize)
		ext2fs_ext_attr_block_rehash(h, end);
	if (ok)
		(void)ext2fs_ext_attr_block_csum_set(a->fs, b->ino, blk, h);
}
