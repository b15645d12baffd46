/*
 * Checksums of blocks changed in place, moved by the change instead of
 * verified and computed again. A metadata checksum is libext2fs' crc32c
 * (ext2fs_crc32c_le: no inversion before or after) of a seed and of the
 * bytes it covers, which is linear over GF(2): for streams of one length,
 * crc(seed, A) ^ crc(seed, B) == crc(0, A ^ B), and zero bytes at the
 * front of A ^ B leave crc(0, .) at zero. So the new checksum is the
 * stored one XOR the crc of the change, from its first changed byte to
 * the end of the covered stream: one pass over part of the block instead
 * of two over all of it (the verifying one, then the setting one), no
 * inode read for the seed, and a checksum that was wrong stays wrong by
 * the same bits (e2fsck must find on the image what it finds on the
 * source). Where the change moved what the checksum covers (damage that
 * the rewrite zeroed), libext2fs verifies and sets it as before.
 */
#include <stddef.h>
#include <string.h>
#include "anon.h"
#include "zero.h"

/* The offset of the first byte where a and b differ in their n bytes, or
 * n (eight bytes at a time). */
static size_t first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i = 0;
	uint64_t x, y;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* d = a ^ b over n bytes. */
static void xor_to(unsigned char *d, const unsigned char *a, const unsigned char *b,
		   size_t n)
{
	size_t i = 0;
	uint64_t x, y;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		x ^= y;
		memcpy(d + i, &x, 8);
	}
	for (; i < n; i++)
		d[i] = a[i] ^ b[i];
}

uint32_t anon_csum_moved(uint32_t stored, const unsigned char *before,
			 const unsigned char *after, const struct anon_span *s,
			 unsigned n, unsigned char *scratch)
{
	size_t len = 0, from = 0;
	unsigned i;

	/* the first span that changed, and where in it */
	for (i = 0; i < n; i++) {
		if (s[i].off != ANON_SPAN_ZERO) {
			from = first_diff(before + s[i].off, after + s[i].off, s[i].len);
			if (from < s[i].len)
				break;
		}
	}
	if (i == n)
		return stored;
	/* the change from there to the end of the stream */
	for (; i < n; i++, from = 0) {
		if (s[i].off == ANON_SPAN_ZERO)
			memset(scratch + len, 0, s[i].len);
		else
			xor_to(scratch + len, before + s[i].off + from,
			       after + s[i].off + from, s[i].len - from);
		len += s[i].len - from;
	}
	return stored ^ ext2fs_crc32c_le(0, scratch, len);
}

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* Where a directory block's checksum is (*at) and the stream it covers
 * (s, *n), as ext2fs_dir_block_csum_set finds them: a leaf whose entries'
 * record lengths (as stored) lead exactly to a tail entry 12 bytes before
 * the end (the checksum covers what precedes the tail), else an index
 * node (ext2fs_get_dx_countlimit: its used slots, then the tail's
 * reserved word and four zero bytes). 0: neither, or a node whose count
 * passes its limit (the covered bytes would hold the checksum). */
static int dir_layout(const struct anonymizer *a, const unsigned char *buf,
		      struct anon_span s[3], unsigned *n, unsigned *at)
{
	unsigned bs = a->blocksize, top = bs - 12, off = 0, count, limit, tail;
	struct ext2_dx_countlimit *cl;
	int coff;

	while (off < top) {
		unsigned rec_len = le16(buf + off + 4);

		if (rec_len < 8 || rec_len % 4)
			break;
		off += rec_len;
	}
	if (off == top && !le32(buf + top) && le16(buf + top + 4) == 12 &&
	    le16(buf + top + 6) == EXT2_DIR_NAME_LEN_CSUM) {
		s[0] = (struct anon_span){ 0, top };
		*n = 1;
		*at = top + 8;
		return 1;
	}
	if (ext2fs_get_dx_countlimit(a->fs, (struct ext2_dir_entry *)buf, &cl, &coff))
		return 0;
	count = le16((const unsigned char *)&cl->count);
	limit = le16((const unsigned char *)&cl->limit);
	tail = (unsigned)coff + limit * 8;
	if (count > limit || tail + 8 > bs)
		return 0;
	s[0] = (struct anon_span){ 0, (unsigned)coff + count * 8 };
	s[1] = (struct anon_span){ tail, 4 };
	s[2] = (struct anon_span){ ANON_SPAN_ZERO, 4 };
	*n = 3;
	*at = tail + 4;
	return 1;
}

void anon_dir_csum(struct anonymizer *a, ext2_ino_t ino,
		   const unsigned char *before, unsigned char *after)
{
	struct anon_span sb[3], sa[3];
	unsigned nb, na, ab, aa;
	uint32_t c;

	if (dir_layout(a, before, sb, &nb, &ab) && dir_layout(a, after, sa, &na, &aa) &&
	    nb == na && ab == aa && !memcmp(sb, sa, nb * sizeof(*sb))) {
		c = anon_csum_moved(le32(before + ab), before, after, sb, nb, a->delta);
		c = ext2fs_cpu_to_le32(c);
		memcpy(after + ab, &c, 4);
		return;
	}
	if (ext2fs_dir_block_csum_verify(a->fs, ino, (struct ext2_dir_entry *)before))
		(void)ext2fs_dir_block_csum_set(a->fs, ino, (struct ext2_dir_entry *)after);
}

/* The checksum bits an inode holds (ext2fs_inode_csum_set): i_checksum_lo,
 * and i_checksum_hi where the extra fields reach it. */
static int inode_hi(const unsigned char *inode, unsigned isize)
{
	return isize > EXT2_GOOD_OLD_INODE_SIZE &&
	       le16(inode + offsetof(struct ext2_inode_large, i_extra_isize)) >=
		       EXT4_INODE_CSUM_HI_EXTRA_END;
}

static uint32_t inode_stored(const unsigned char *inode, int hi)
{
	uint32_t c = le16(inode + offsetof(struct ext2_inode_large, i_checksum_lo));

	if (hi)
		c |= (uint32_t)le16(inode + offsetof(struct ext2_inode_large, i_checksum_hi)) << 16;
	return c;
}

/*
 * The whole inode is covered, its checksum fields taken as zeros: they are
 * the same before and after, so they add nothing to the change. Where the
 * rewrite touched them or the extra size, or where the base inode is all
 * zeros (which libext2fs' verify passes whatever its checksum), libext2fs
 * verifies and sets it as before.
 */
void anon_inode_csum(struct anonymizer *a, ext2_ino_t ino, const unsigned char *before,
		     unsigned char *after, unsigned isize)
{
	struct anon_span s = { 0, isize };
	int hi = inode_hi(before, isize);
	uint32_t c;

	if (hi == inode_hi(after, isize) && inode_stored(before, hi) == inode_stored(after, hi) &&
	    !is_zero(before, EXT2_GOOD_OLD_INODE_SIZE)) {
		c = anon_csum_moved(inode_stored(before, hi), before, after, &s, 1, a->delta);
		after[offsetof(struct ext2_inode_large, i_checksum_lo)] = c & 0xff;
		after[offsetof(struct ext2_inode_large, i_checksum_lo) + 1] = c >> 8 & 0xff;
		if (hi) {
			after[offsetof(struct ext2_inode_large, i_checksum_hi)] = c >> 16 & 0xff;
			after[offsetof(struct ext2_inode_large, i_checksum_hi) + 1] = c >> 24;
		}
		return;
	}
	if (ext2fs_inode_csum_verify(a->fs, ino, (struct ext2_inode_large *)before))
		(void)ext2fs_inode_csum_set(a->fs, ino, (struct ext2_inode_large *)after);
}
