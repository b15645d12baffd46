#include <inttypes.h>
#include <stdio.h>
#include "nls.h"
#include "messages.h"
#include "open_fs.h"

static errcode_t try_open(const struct options *o, unsigned bs, ext2_filsys *fs)
{
	char io_opts[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS;

	snprintf(io_opts, sizeof(io_opts), "offset=%" PRIu64, o->src_offset);
	return ext2fs_open2(o->device, o->src_offset ? io_opts : NULL, flags,
			    (int)o->superblock, bs, unix_io_manager, fs);
}

errcode_t open_source_fs(const struct options *o, ext2_filsys *fs)
{
	errcode_t err;
	unsigned bs;

	if (o->superblock > INT32_MAX) {
		msg_plain(_("invalid superblock: %" PRIu64), o->superblock);
		return EXT2_ET_INVALID_ARGUMENT;
	}
	if (o->superblock && !o->blocksize) {
		/* A backup superblock needs a block size: try each, as e2fsck does. */
		for (bs = 1024; bs <= 65536; bs *= 2) {
			err = try_open(o, bs, fs);
			if (!err)
				return 0;
		}
	} else {
		err = try_open(o, o->blocksize, fs);
		if (!err)
			return 0;
	}
	msg_err(err, _("while trying to open %s"), o->device);
	return err;
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
