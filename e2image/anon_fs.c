/*
 * The rest of --anonymize: symlink targets, the superblock's label and
 * last-mounted path, the MMP block's node and device names, and the
 * journal. Journal blocks can hold any metadata block of the past (names,
 * inline data, xattrs), so all but the journal's superblock are zeroed
 * and the journal is marked empty; when it needed recovery, the image's
 * filesystem no longer says so, and a warning tells.
 */
#include <stdio.h>
#include <string.h>
#include "anon.h"
#include "nls.h"

#define PROGRAM "e2image"
/* jbd2's superblock (big-endian), the fields used here */
#define JSB_MAGIC_OFF 0
#define JSB_START_OFF 28
#define JSB_INCOMPAT_OFF 40
#define JSB_UUID_OFF 48
#define JSB_CHECKSUM_OFF 0xfc
#define JSB_SIZE 1024
#define JBD2_MAGIC 0xc03b3998u
#define JBD2_CSUM_V2V3 (0x8u | 0x10u)

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* Same length, printable; '/' and "." and ".." components stay, so the
 * target's shape (absolute, relative, depth) survives. */
void anon_symlink_text(struct anonymizer *a, ext2_ino_t ino, unsigned char *p,
		       size_t len)
{
	unsigned char fresh[EXT2_MAX_BLOCK_SIZE];
	size_t i, n = 0, comp = 0;

	while (n < len && n < sizeof(fresh) && p[n])
		n++;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		/* the component [comp, i) */
		if (!((i - comp == 1 && p[comp] == '.') ||
		      (i - comp == 2 && p[comp] == '.' && p[comp + 1] == '.'))) {
			size_t j;

			for (j = comp; j < i; j++)
				fresh[j] = (unsigned char)('a' + (ino + j) % 26);
		} else {
			memcpy(fresh + comp, p + comp, i - comp);
		}
		if (i < n)
			fresh[i] = '/';
		comp = i + 1;
	}
	anon_map(a, "symlink", ino, p, fresh, n);
	memcpy(p, fresh, n);
	a->n.symlinks++;
}

void anon_symlink_block(struct anonymizer *a, const struct anon_blk *b,
			unsigned char *buf)
{
	size_t n = 0;

	if (anon_encrypted(a, b->flags)) {
		a->n.encrypted_symlinks++;
		return;
	}
	while (n < a->blocksize && buf[n])
		n++;
	anon_symlink_text(a, b->ino, buf, n);
	memset(buf + n, 0, a->blocksize - n);
}

/* A NUL-padded text field: its bytes before the first NUL. */
static int field(struct anonymizer *a, const char *what, unsigned bit,
		 unsigned char *p, size_t size)
{
	unsigned char fresh[64];
	size_t n = 0, i;

	while (n < size && p[n])
		n++;
	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		fresh[i] = (unsigned char)('a' + i % 26);
	/* the backup superblocks say it again: mapped once */
	if (!(a->mapped & bit)) {
		a->mapped |= bit;
		anon_map(a, what, 0, p, fresh, n);
	}
	memcpy(p, fresh, n);
	memset(p + n, 0, size - n);
	return 1;
}

void anon_super(struct anonymizer *a, unsigned char *p)
{
	struct ext2_super_block *sb = (struct ext2_super_block *)p;
	int ok = ext2fs_has_feature_metadata_csum(a->fs->super) &&
		 ext2fs_superblock_csum_verify(a->fs, sb);

	a->n.label |= field(a, "label", 1, (unsigned char *)sb->s_volume_name,
			    sizeof(sb->s_volume_name));
	a->n.last_mounted |= field(a, "last_mounted", 2, (unsigned char *)sb->s_last_mounted,
				   sizeof(sb->s_last_mounted));
	if (a->journal_dirty)
		sb->s_feature_incompat &= ext2fs_cpu_to_le32(~EXT3_FEATURE_INCOMPAT_RECOVER);
	if (a->uuid)
		anon_uuid_super(a, sb);
	if (ok)
		(void)ext2fs_superblock_csum_set(a->fs, sb);
}

void anon_mmp(struct anonymizer *a, unsigned char *p)
{
	struct mmp_struct *m = (struct mmp_struct *)p;
	int ok;

	if (ext2fs_le32_to_cpu(m->mmp_magic) != EXT4_MMP_MAGIC)
		return;
	ok = ext2fs_has_feature_metadata_csum(a->fs->super) &&
	     ext2fs_mmp_csum_verify(a->fs, m);
	a->n.mmp |= field(a, "mmp_nodename", 4, (unsigned char *)m->mmp_nodename,
			  sizeof(m->mmp_nodename));
	a->n.mmp |= field(a, "mmp_bdevname", 8, (unsigned char *)m->mmp_bdevname,
			  sizeof(m->mmp_bdevname));
	if (ok)
		(void)ext2fs_mmp_csum_set(a->fs, m);
}

/* Before the copy: does the journal need recovery? (The superblock goes
 * out before the journal's blocks, and must agree with them.) */
void anon_journal_prepare(struct anonymizer *a)
{
	unsigned char buf[EXT2_MAX_BLOCK_SIZE];

	if (!a->journal_sb)
		return;
	if (io_channel_read_blk64(a->fs->io, a->journal_sb, 1, buf) ||
	    be32(buf + JSB_MAGIC_OFF) != JBD2_MAGIC)
		return;
	a->journal_dirty = be32(buf + JSB_START_OFF) != 0 ||
			   ext2fs_has_feature_journal_needs_recovery(a->fs->super);
	if (a->journal_dirty)
		fprintf(stderr, _("%s: warning: the journal of %s needs recovery; "
				  "its transactions may hold names and data, so the "
				  "anonymized image has an empty journal and its "
				  "filesystem is marked as not needing recovery "
				  "(e2fsck on the image will not replay what it "
				  "replays on %s)\n"),
			PROGRAM, a->device, a->device);
}

int anon_journal_zeroes(const struct anonymizer *a, uint64_t blk,
			const unsigned char *buf)
{
	return blk != a->journal_sb || be32(buf + JSB_MAGIC_OFF) != JBD2_MAGIC;
}

void anon_journal(struct anonymizer *a, uint64_t blk, unsigned char *buf)
{
	if (anon_journal_zeroes(a, blk, buf)) {
		memset(buf, 0, a->blocksize);
		a->n.journal_blocks++;
		return;
	}
	/* the journal's UUID, when it is the filesystem's, follows it */
	if (a->uuid && !memcmp(buf + JSB_UUID_OFF, a->old_uuid, 16))
		memcpy(buf + JSB_UUID_OFF, a->new_uuid, 16);
	else if (!be32(buf + JSB_START_OFF))
		return;
	put_be32(buf + JSB_START_OFF, 0);
	if (be32(buf + JSB_INCOMPAT_OFF) & JBD2_CSUM_V2V3) {
		put_be32(buf + JSB_CHECKSUM_OFF, 0);
		put_be32(buf + JSB_CHECKSUM_OFF,
			 ext2fs_crc32c_le(~0u, buf, JSB_SIZE));
	}
}
