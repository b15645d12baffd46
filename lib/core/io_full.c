/*
 * Whole reads and writes: short transfers are continued, and EINTR is
 * retried, unless a stop was requested: then EINTR is the answer, so a
 * blocked pipe cannot keep a stopped job alive. (A signal that interrupts
 * a transfer after some bytes makes it return short, not fail: the stop
 * is checked before every call.)
 */
#include <errno.h>
#include <unistd.h>
#include "io_full.h"

/* Whether to go on after r: 1 to retry (EINTR, no stop), 0 otherwise. */
static int retry(ssize_t r, e2i_stop *stop)
{
	return r < 0 && errno == EINTR && !stopped(stop);
}

int write_full(int fd, const void *buf, size_t len, e2i_stop *stop)
{
	const char *p = buf;

	while (len) {
		ssize_t w = stopped(stop) ? (errno = EINTR, -1) : write(fd, p, len);

		if (retry(w, stop))
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return ENOSPC;
		p += w;
		len -= w;
	}
	return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off,
		e2i_stop *stop)
{
	const char *p = buf;

	while (len) {
		ssize_t w = stopped(stop) ? (errno = EINTR, -1) :
			    pwrite(fd, p, len, (off_t)off);

		if (retry(w, stop))
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return ENOSPC;
		p += w;
		len -= w;
		off += w;
	}
	return 0;
}

int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got,
	       e2i_stop *stop)
{
	char *p = buf;

	*got = 0;
	while (len) {
		ssize_t r = stopped(stop) ? (errno = EINTR, -1) :
			    pread(fd, p, len, (off_t)off);

		if (retry(r, stop))
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			break; /* end of file: the caller sees *got short */
		p += r;
		len -= r;
		off += r;
		*got += r;
	}
	return 0;
}
