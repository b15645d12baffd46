#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store.h"

struct qcow2_store {
	size_t chunk, mem_bound;
	unsigned char **mem;   /* chunks of `chunk` bytes, all full but the last */
	size_t nmem, capmem;
	uint64_t in_mem;       /* bytes in them */
	int fd;                /* the spill, -1 until needed */
	uint64_t spilled;
	char *dir;
};

int qcow2_store_new(size_t mem_bound, size_t chunk, const char *tmpdir,
		    struct qcow2_store **out)
{
	struct qcow2_store *s = calloc(1, sizeof(*s));
	const char *d = tmpdir;

	if (!d || !*d)
		d = getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	if (!s || !(s->dir = strdup(d))) {
		free(s);
		return ENOMEM;
	}
	s->chunk = chunk;
	s->mem_bound = mem_bound;
	s->fd = -1;
	*out = s;
	return 0;
}

static int spill(struct qcow2_store *s, const unsigned char *buf, size_t len)
{
#ifdef O_TMPFILE
	/* a file with no name at all: nothing to remove, whatever ends us */
	if (s->fd < 0)
		s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
#endif
	/* where the filesystem has no unnamed files: named, and the name
	 * removed at once */
	if (s->fd < 0) {
		size_t n = strlen(s->dir) + sizeof("/e2image-spill-XXXXXX");
		char *path = malloc(n);

		if (!path)
			return ENOMEM;
		snprintf(path, n, "%s/e2image-spill-XXXXXX", s->dir);
		s->fd = mkostemp(path, O_CLOEXEC);
		if (s->fd < 0) {
			int e = errno;

			free(path);
			return e;
		}
		unlink(path);
		free(path);
	}
	while (len) {
		ssize_t n = write(s->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		buf += n;
		len -= (size_t)n;
		s->spilled += (uint64_t)n;
	}
	return 0;
}

int qcow2_store_put(struct qcow2_store *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* Memory takes whole chunks only, so that replay hands out whole
	 * clusters (a chunk is a whole number of them). */
	while (len && !s->spilled &&
	       (s->in_mem % s->chunk || s->in_mem + s->chunk <= s->mem_bound)) {
		size_t at = (size_t)(s->in_mem % s->chunk), n;

		if (at == 0) {
			if (s->nmem == s->capmem) {
				size_t cap = s->capmem ? s->capmem * 2 : 16;
				unsigned char **m = realloc(s->mem, cap * sizeof(*m));

				if (!m)
					return ENOMEM;
				s->mem = m;
				s->capmem = cap;
			}
			if (!(s->mem[s->nmem] = malloc(s->chunk)))
				return ENOMEM;
			s->nmem++;
		}
		n = s->chunk - at;
		if (n > len)
			n = len;
		memcpy(s->mem[s->nmem - 1] + at, p, n);
		s->in_mem += n;
		p += n;
		len -= n;
	}
	return len ? spill(s, p, len) : 0;
}

int qcow2_store_replay(struct qcow2_store *s,
		       int (*fn)(void *arg, const void *buf, size_t len),
		       void *arg)
{
	uint64_t left = s->in_mem, off = 0;
	unsigned char *buf;
	size_t i;
	int e = 0;

	for (i = 0; i < s->nmem && !e; i++) {
		size_t n = left < s->chunk ? (size_t)left : s->chunk;

		e = fn(arg, s->mem[i], n);
		left -= n;
	}
	if (e || !s->spilled)
		return e;
	buf = malloc(s->chunk);
	if (!buf)
		return ENOMEM;
	while (!e && off < s->spilled) {
		size_t want = s->spilled - off < s->chunk ? (size_t)(s->spilled - off) : s->chunk;
		size_t got = 0;

		while (got < want) {
			ssize_t n = pread(s->fd, buf + got, want - got, (off_t)(off + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Our own file, written whole: EOF is damage. */
				e = n < 0 ? errno : EIO;
				break;
			}
			got += (size_t)n;
		}
		if (!e)
			e = fn(arg, buf, want);
		off += want;
	}
	free(buf);
	return e;
}

uint64_t qcow2_store_spilled(const struct qcow2_store *s)
{
	return s->spilled;
}

const char *qcow2_store_dir(const struct qcow2_store *s)
{
	return s->dir;
}

void qcow2_store_free(struct qcow2_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nmem; i++)
		free(s->mem[i]);
	free(s->mem);
	if (s->fd >= 0)
		close(s->fd);
	free(s->dir);
	free(s);
}
