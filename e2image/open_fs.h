/* Opening the source filesystem read-only, as the options describe it. */
#ifndef E2I_OPEN_FS_H
#define E2I_OPEN_FS_H

#include <ext2fs/ext2fs.h>
#include "options.h"

/* Prints its own message; returns 0 or the error. */
errcode_t open_source_fs(const struct options *o, ext2_filsys *fs);
/* Refuses a source mounted read-write unless -f. */
int source_mount_ok(const struct options *o);

#endif
