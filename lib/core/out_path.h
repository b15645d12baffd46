/*
 * Where an output path leads. Symlinks are followed, as e2fsprogs, cp and
 * dd do, but by us, one name at a time, each directory held open: the
 * target is known by its directory and its name there, so a temporary file
 * can be created beside it and renamed onto it, and what was checked is
 * what gets opened.
 *
 * A file or a symlink that another user owns in a sticky world-writable
 * directory (/tmp) is refused, whatever fs.protected_regular and
 * fs.protected_symlinks say: root writing through what someone else
 * planted there is how such directories are abused.
 */
#ifndef E2I_OUT_PATH_H
#define E2I_OUT_PATH_H

#include <sys/stat.h>
#include "error.h"

struct out_path {
	int dirfd;       /* the directory the target is in (O_PATH) */
	char *name;      /* the target's name in it */
	char *shown;     /* the target as a path, for messages */
	int exists;
	struct stat st;  /* the target (never a symlink), when it exists */
	/* name is a link in /proc to a pipe, socket or terminal, which has
	 * no path to follow: the kernel follows it. */
	int magic;
};

/* Follows path to its target; on error op holds nothing to release. */
errcode_t out_path_resolve(const char *path, struct out_path *op,
			   struct e2i_error *err);
/* Opens the existing target (never O_CREAT), refusing one that is no
 * longer the inode out_path_resolve found. */
errcode_t out_path_open(const struct out_path *op, const char *path,
			int flags, int *fd, struct e2i_error *err);
void out_path_release(struct out_path *op);

#endif
