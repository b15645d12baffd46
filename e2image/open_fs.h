/* Opening the source filesystem read-only, as the options describe it. */
#ifndef E2I_OPEN_FS_H
#define E2I_OPEN_FS_H

#include <ext2fs/ext2fs.h>
#include "options.h"
#include "warn.h"

/*
 * Prints its own message; returns 0 or the error. A primary superblock
 * e2fsck would not use (bad magic, checksum, geometry) is passed over for
 * a backup, reported in w (not with --strict or -b); *backup is then the
 * backup's block, which the image must hold with its descriptors.
 */
errcode_t open_source_fs(const struct options *o, struct e2i_warnings *w,
			 ext2_filsys *fs, blk64_t *backup);
/* Refuses a source mounted read-write unless -f. */
int source_mount_ok(const struct options *o);

#endif
