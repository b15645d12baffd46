#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io_full.h"
#include "messages.h"
#include "nls.h"
#include "qcow2/reader.h"
#include "verify_view.h"

static int put(void *arg, uint64_t off, const void *data, size_t len)
{
	struct vview *v = arg;

	return pwrite_full(v->fd, data, len, off, NULL) ? 1 : 0;
}

static int unnamed_file(void)
{
	const char *dir = getenv("TMPDIR");
	int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 && dir && *dir)
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd;
}

static int expand_qcow2(struct vview *v, int in, const char *image,
			uint32_t ext_type, e2i_stop *stop)
{
	struct qcow2_reader *r = NULL;
	char err[512];
	unsigned char *ext = NULL;
	size_t len;
	int e;

	if (qcow2_reader_open(in, &r, stop, err, sizeof(err))) {
		msg_plain(_("verify: %s is not a valid qcow2 image: %s"), image, err);
		return 1;
	}
	e = qcow2_reader_ext(r, ext_type, &ext, &len, err, sizeof(err));
	if (e < 0) {
		msg_plain(_("verify: %s: %s"), image, err);
		goto fail;
	}
	if (e > 0 && (v->ext = malloc(len + 1))) {
		memcpy(v->ext, ext, len);
		v->ext[len] = 0;
	}
	free(ext);
	v->size = qcow2_reader_size(r);
	if ((v->fd = unnamed_file()) < 0 || ftruncate(v->fd, (off_t)v->size)) {
		msg_err(errno, _("while making a temporary file to read %s"), image);
		goto fail;
	}
	e = qcow2_reader_each(r, put, v, stop, err, sizeof(err));
	if (e) {
		if (e < 0 || e == QCOW2_STOPPED)
			msg_plain(_("verify: %s: %s"), image, err);
		else
			msg_err(errno, _("while writing a temporary file to read %s"), image);
		goto fail;
	}
	qcow2_reader_close(r);
	return 0;
fail:
	qcow2_reader_close(r);
	return 1;
}

int vview_open(struct vview *v, const char *image, uint32_t ext_type,
	       e2i_stop *stop)
{
	unsigned char magic[4];
	struct stat st;
	int in;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	in = open(image, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st)) {
		msg_err(errno, _("while opening %s"), image);
		if (in >= 0)
			close(in);
		return 1;
	}
	v->qcow2 = pread(in, magic, 4, 0) == 4 && qcow2_probe(magic, 4);
	if (v->qcow2) {
		int bad = expand_qcow2(v, in, image, ext_type, stop);

		close(in);
		if (bad)
			return 1;
	} else {
		v->fd = in;
		v->size = (uint64_t)st.st_size;
		if (S_ISBLK(st.st_mode)) {
			off_t end = lseek(in, 0, SEEK_END);

			v->size = end > 0 ? (uint64_t)end : 0;
		}
	}
	snprintf(v->path, sizeof(v->path), "/proc/self/fd/%d", v->fd);
	return 0;
}

void vview_close(struct vview *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	free(v->ext);
	v->ext = NULL;
}
