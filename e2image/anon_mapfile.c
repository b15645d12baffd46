/*
 * The --anonymize-map file. It holds every old name, so it is made with
 * the care of an image: under a temporary name beside it (mode 0600,
 * created, never opened through a symlink), renamed into place only once
 * it is whole and before the image is made final, removed when the run
 * fails (after the rename too: a stream can fail in its last bytes). A path that exists must be a regular file (it is replaced, not
 * written through), and never the source, the image, or the file
 * standard output goes to when the image does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "anon.h"
#include "error.h"
#include "messages.h"
#include "nls.h"
#include "same_file.h"

static int stdout_is(const char *path)
{
	struct stat a, b;

	return fstat(STDOUT_FILENO, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int anon_map_open(struct anonymizer *a, const char *path, const char *device,
		  const char *image)
{
	struct stat st;
	int fd;

	if (same_path(path, device) || same_path(path, image) ||
	    (strcmp(image, "-") == 0 && stdout_is(path))) {
		msg_plain(_("--anonymize-map %s is the source or the image"), path);
		return 0;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		msg_plain(_("--anonymize-map %s is a symbolic link (never written through)"), path);
		return 0;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		msg_plain(_("--anonymize-map %s exists and is not a regular file"), path);
		return 0;
	}
	if (asprintf(&a->map_tmp, "%s.XXXXXX", path) < 0) {
		a->map_tmp = NULL;
		msg_err(ENOMEM, _("while creating %s"), path);
		return 0;
	}
	fd = mkstemp(a->map_tmp);  /* O_EXCL, mode 0600 */
	if (fd < 0 || !(a->map = fdopen(fd, "w"))) {
		msg_err(errno, _("while creating %s"), path);
		if (fd >= 0) {
			close(fd);
			unlink(a->map_tmp);
		}
		free(a->map_tmp);
		a->map_tmp = NULL;
		return 0;
	}
	a->map_path = path;
	return 1;
}

errcode_t anon_map_commit(struct anonymizer *a, struct e2i_error *err)
{
	int bad;

	if (!a->map)
		return 0;
	errno = 0;
	bad = fflush(a->map) != 0 || ferror(a->map);
	bad |= fclose(a->map) != 0;
	a->map = NULL;
	if (!bad && rename(a->map_tmp, a->map_path) == 0) {
		free(a->map_tmp);
		a->map_tmp = NULL;
		a->map_placed = 1;
		return 0;
	}
	return e2i_seterr(err, errno ? errno : EIO, _("while writing %s"), a->map_path);
}

void anon_map_discard(struct anonymizer *a)
{
	if (a->map)
		fclose(a->map);
	a->map = NULL;
	if (a->map_tmp)
		unlink(a->map_tmp);
	free(a->map_tmp);
	a->map_tmp = NULL;
}

void anon_map_failed(struct anonymizer *a)
{
	anon_map_discard(a);
	if (a->map_placed && unlink(a->map_path) == 0)
		msg_plain(_("the run failed: --anonymize-map %s removed"), a->map_path);
	a->map_placed = 0;
}
