/*
 * Whether two paths name the same storage, so that writing one destroys
 * the other: the same file (through any link), the same block device, or a
 * loop device and the file behind it (e2image FILE /dev/loopN, where the
 * loop device is backed by FILE).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "same_file.h"

/* Whether block device dev is a loop device backed by the file f. */
static int loop_backed_by(const char *dev, const struct stat *f)
{
	struct loop_info64 li;
	int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r;

	if (fd < 0)
		return 0;
	r = ioctl(fd, LOOP_GET_STATUS64, &li);
	close(fd);
	return r == 0 && li.lo_device == f->st_dev && li.lo_inode == f->st_ino;
}

int same_storage(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0 ||
	    stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	if (S_ISBLK(sa.st_mode) && S_ISREG(sb.st_mode))
		return loop_backed_by(a, &sb);
	if (S_ISREG(sa.st_mode) && S_ISBLK(sb.st_mode))
		return loop_backed_by(b, &sa);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A path made absolute, for a file that may not exist yet: its directory
 * resolved, its last component as given. */
static char *resolved(const char *path)
{
	char *dup = strdup(path), *slash, *dir, *out = NULL;
	const char *base;

	if (!dup)
		return NULL;
	slash = strrchr(dup, '/');
	if (slash) {
		*slash = 0;
		base = slash + 1;
		dir = realpath(slash == dup ? "/" : dup, NULL);
	} else {
		base = dup;
		dir = realpath(".", NULL);
	}
	if (dir && asprintf(&out, "%s/%s", dir, base) < 0)
		out = NULL;
	free(dir);
	free(dup);
	return out;
}

/* 1 when a and b are one file, existing or not. */
int same_path(const char *a, const char *b)
{
	char *ra, *rb;
	int same;

	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
		return 0;
	if (same_storage(a, b))
		return 1;
	ra = resolved(a);
	rb = resolved(b);
	same = ra && rb && strcmp(ra, rb) == 0;
	free(ra);
	free(rb);
	return same;
}

