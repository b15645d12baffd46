#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <et/com_err.h>
#include "nls.h"
#include "messages.h"
#include "open_fs.h"
#include "capture.h"

static errcode_t try_open_flags(const struct options *o, blk64_t sb,
				unsigned bs, int more, ext2_filsys *fs)
{
	char io_opts[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS | more;

	snprintf(io_opts, sizeof(io_opts), "offset=%" PRIu64, o->src_offset);
	return ext2fs_open2(o->device, o->src_offset ? io_opts : NULL, flags,
			    (int)sb, bs, unix_io_manager, fs);
}

static errcode_t try_open(const struct options *o, blk64_t sb, unsigned bs,
			  ext2_filsys *fs)
{
	return try_open_flags(o, sb, bs, 0, fs);
}

/* The primary superblock errors that send e2fsck to a backup, and the
 * geometry libext2fs refuses that a backup can still have right. */
static int primary_damaged(errcode_t err)
{
	return err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SB_CSUM_INVALID ||
	       err == EXT2_ET_CORRUPT_SUPERBLOCK || err == EXT2_ET_BAD_DESC_SIZE ||
	       err == EXT2_ET_UNEXPECTED_BLOCK_SIZE;
}

/* What ext2fs_open2 says when there is no superblock where it read: not
 * one (bad magic), nothing (past the end), or one read with another block
 * size than its own. */
static int no_superblock(errcode_t err)
{
	return err == EXT2_ET_BAD_MAGIC || err == EXT2_ET_SHORT_READ ||
	       err == EXT2_ET_UNEXPECTED_BLOCK_SIZE;
}

/* -b N found nothing: where the backups are depends on the block size
 * (8193 with 1 KiB blocks, 32768 with 4 KiB), so say where to look. */
static void no_backup_at(const struct options *o)
{
	if (o->blocksize)
		msg_plain(_("no superblock found at block %llu of %s with block size %u"),
			  (unsigned long long)o->superblock, o->device, o->blocksize);
	else
		msg_plain(_("no superblock found at block %llu of %s for any block size (1024 to 65536)"),
			  (unsigned long long)o->superblock, o->device);
	fprintf(stderr, _("The backup superblocks are listed by \"dumpe2fs %s | grep -i superblock\",\n"
			  "or by \"mke2fs -n %s\" (which writes nothing) if dumpe2fs cannot read it.\n"),
		o->device, o->device);
}

/* A backup at sb of group g, bpg blocks a group: opened only if it says
 * it is that group's copy (not a superblock inside some file's data). */
static int try_backup(const struct options *o, unsigned g, blk64_t bpg,
		      unsigned bs, ext2_filsys *fs, blk64_t *sb)
{
	*sb = g * bpg + (bs == 1024);
	if (*sb > INT32_MAX || try_open(o, *sb, bs, fs))
		return 0;
	if ((*fs)->super->s_blocks_per_group == bpg &&
	    ((*fs)->super->s_block_group_nr == g ||
	     !(*fs)->super->s_block_group_nr))
		return 1;
	ext2fs_close_free(fs);
	return 0;
}

/*
 * A backup superblock. First the one e2fsck opens by itself: group 1 with
 * 8 * block size blocks a group (mke2fs's default), for each block size.
 * Then, so that an image exists even where e2fsck needs -b, the sparse
 * groups with smaller groups (mke2fs -g) too.
 */
static blk64_t open_backup(const struct options *o, ext2_filsys *fs,
			   int *e2fsck_finds)
{
	static const unsigned groups[] = { 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343 };
	unsigned i, bs;
	blk64_t bpg, sb;

	*e2fsck_finds = 1;
	for (bs = EXT2_MIN_BLOCK_SIZE; bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
		if (try_backup(o, 1, 8 * bs, bs, fs, &sb))
			return sb;
	*e2fsck_finds = 0;
	for (bs = EXT2_MIN_BLOCK_SIZE; bs <= EXT2_MAX_BLOCK_SIZE; bs *= 2)
		for (bpg = 8 * bs; bpg >= 256; bpg /= 2)
			for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
				if ((bpg != 8 * bs || i) &&
				    try_backup(o, groups[i], bpg, bs, fs, &sb))
					return sb;
	return 0;
}

/*
 * Descriptors that fail e2fsck's checks send it to the backup superblock
 * of group 1 and its descriptors, and all it reads then follows them: so
 * does the capture. The image holds the primary's blocks as they are too.
 */
static errcode_t descriptors_checked(const struct options *o,
				     struct e2i_warnings *w, ext2_filsys *fs,
				     blk64_t *backup)
{
	blk64_t sb = (*fs)->super->s_blocks_per_group +
		     (*fs)->super->s_first_data_block;
	unsigned bs = (*fs)->blocksize;
	dgrp_t g;

	if ((*fs)->group_desc_count < 2 || !capture_desc_damaged(*fs, &g))
		return 0;
	ext2fs_close_free(fs);
	if (sb > INT32_MAX || try_open(o, sb, bs, fs))
		/* no backup: e2fsck goes on with the primary, and so do we */
		return try_open(o, 0, o->blocksize, fs);
	*backup = sb;
	if (warn_about(w, WARN_GROUP, g, 1,
		 _("group %u: its descriptor fails e2fsck's checks; imaged through the backup superblock at block %llu and its descriptors, which e2fsck uses"),
		 g, (unsigned long long)sb)) {
		ext2fs_close_free(fs);
		return EXT2_ET_GDESC_READ;
	}
	return 0;
}

/*
 * Whether libext2fs can load the primary with EXT2_FLAG_IGNORE_SB_ERRORS
 * without crashing: that flag also lets a 64-bit descriptor size of 0
 * through, which it then divides by (e2fsck dies of SIGFPE there).
 */
static int ignoring_is_safe(const struct options *o)
{
	struct ext2_super_block sb;
	int fd = open(o->device, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned dsz;

	if (fd < 0)
		return 0;
	n = pread(fd, &sb, sizeof(sb), (off_t)(o->src_offset + SUPERBLOCK_OFFSET));
	close(fd);
	if (n != (ssize_t)sizeof(sb) ||
	    ext2fs_le16_to_cpu(sb.s_magic) != EXT2_SUPER_MAGIC)
		return 0;
	dsz = ext2fs_le16_to_cpu(sb.s_desc_size);
	return !(ext2fs_le32_to_cpu(sb.s_feature_incompat) & EXT4_FEATURE_INCOMPAT_64BIT) ||
	       (dsz >= EXT2_MIN_DESC_SIZE && dsz <= EXT2_MAX_DESC_SIZE);
}

errcode_t open_source_fs(const struct options *o, struct e2i_warnings *w,
			 ext2_filsys *fs, blk64_t *backup)
{
	errcode_t err, e;
	unsigned bs;
	blk64_t sb;
	int found;

	*backup = 0;
	if (o->superblock > INT32_MAX) {
		msg_plain(_("invalid superblock: %" PRIu64), o->superblock);
		return EXT2_ET_INVALID_ARGUMENT;
	}
	if (o->superblock && !o->blocksize) {
		/* A backup superblock needs a block size: try each, as e2fsck
		 * does; a superblock found with another problem is the one
		 * to report. */
		err = EXT2_ET_BAD_MAGIC;
		for (bs = 1024; bs <= 65536; bs *= 2) {
			e = try_open(o, o->superblock, bs, fs);
			if (!e)
				return 0;
			if (no_superblock(err))
				err = e;
		}
	} else {
		err = try_open(o, o->superblock, o->blocksize, fs);
		if (!err && (o->superblock || o->strict))
			return 0;
		if (!err && (!ext2fs_has_feature_metadata_csum((*fs)->super) ||
			     ext2fs_superblock_csum_verify(*fs, (*fs)->super)))
			return descriptors_checked(o, w, fs, backup);
		/* A primary that fails its checksum opens here, but not for
		 * e2fsck: it takes the backup, so the image must hold it. */
		if (!err) {
			ext2fs_close_free(fs);
			err = EXT2_ET_SB_CSUM_INVALID;
			if (!(sb = open_backup(o, fs, &found)))
				return try_open(o, 0, o->blocksize, fs);
			goto backup;
		}
	}
	/* --strict: e2fsprogs' behaviour, no image without -b. */
	if (!o->superblock && !o->strict && primary_damaged(err)) {
		if ((sb = open_backup(o, fs, &found)))
			goto backup;
		/* No backup opens: e2fsck then loads the primary despite
		 * its errors, and reads the filesystem through it. */
		if (ignoring_is_safe(o) &&
		    !try_open_flags(o, 0, o->blocksize, EXT2_FLAG_IGNORE_SB_ERRORS, fs)) {
			if (!warn(w, WARN_OTHER, 1,
				  _("%s: the primary superblock is damaged (%s) and no backup opens; imaged through it despite the errors, as e2fsck does"),
				  o->device, error_message(err)))
				return 0;
			ext2fs_close_free(fs);
		}
	}
	if (o->superblock && no_superblock(err))
		no_backup_at(o);
	else
		msg_err(err, _("while trying to open %s"), o->device);
	return err;
backup:
	*backup = sb;
	if (warn(w, WARN_OTHER, 1, found ?
		 _("%s: the primary superblock is unusable (%s); imaged through the backup superblock at block %llu (block size %u), which e2fsck uses") :
		 _("%s: the primary superblock is unusable (%s); imaged through the backup superblock at block %llu (block size %u), which e2fsck uses only when given -b and -B"),
		 o->device, error_message(err), (unsigned long long)sb,
		 (*fs)->blocksize)) {
		ext2fs_close_free(fs);
		return err;
	}
	return 0;
}

int source_mount_ok(const struct options *o)
{
	int mflags = 0;
	errcode_t err = ext2fs_check_if_mounted(o->device, &mflags);

	if (err) {
		msg_err(err, _("while checking whether %s is mounted"), o->device);
		return 0;
	}
	if ((mflags & EXT2_MF_MOUNTED) && !(mflags & EXT2_MF_READONLY) &&
	    !o->force) {
		fputs(_("\nRunning e2image on a R/W mounted filesystem can result in an\n"
			"inconsistent image which will not be useful for debugging purposes.\n"
			"Use -f option if you really want to do that.\n"), stderr);
		return 0;
	}
	return 1;
}
