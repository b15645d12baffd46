/*
 * powerloss.so: a disk cache that loses what was not flushed. LD_PRELOAD it
 * with E2I_POWERLOSS_PATHS=FILE[:FILE...]: writes to those files are held
 * in this process's memory (and read back from there) until fsync or
 * fdatasync on any descriptor of the same file writes them, in order. Kill
 * the process with SIGKILL and what it had not flushed is gone, as after a
 * power loss with a volatile write cache. Only pwrite/pwrite64 and pread/
 * pread64 (what e2image and libext2fs use on these files) are held.
 * E2I_POWERLOSS_SYNC_USEC=N makes every flush (of any file) take N
 * microseconds more, as
 * a slow disk does, so that a kill lands inside the run.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct held {
	dev_t dev;
	ino_t ino;
	off_t off;
	size_t len;
	struct held *next;
	unsigned char data[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *head, *tail;

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void init(void)
{
	if (real_pwrite)
		return;
	real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
	real_pread = dlsym(RTLD_NEXT, "pread64");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
}

/* Whether fd is one of the files whose writes are held. */
static int watched(int fd, struct stat *st)
{
	const char *paths = getenv("E2I_POWERLOSS_PATHS");
	char *copy, *p, *save = NULL;
	struct stat ps;
	int hit = 0;

	if (!paths || fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		return 0;
	copy = strdup(paths);
	for (p = strtok_r(copy, ":", &save); p && !hit; p = strtok_r(NULL, ":", &save))
		hit = stat(p, &ps) == 0 && ps.st_dev == st->st_dev && ps.st_ino == st->st_ino;
	free(copy);
	return hit;
}

static ssize_t hold(const struct stat *st, const void *buf, size_t n, off_t off)
{
	struct held *h = malloc(sizeof(*h) + n);

	if (!h) {
		errno = ENOMEM;
		return -1;
	}
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->off = off;
	h->len = n;
	h->next = NULL;
	memcpy(h->data, buf, n);
	pthread_mutex_lock(&lock);
	if (tail)
		tail->next = h;
	else
		head = h;
	tail = h;
	pthread_mutex_unlock(&lock);
	return (ssize_t)n;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	struct stat st;

	init();
	if (!watched(fd, &st))
		return real_pwrite(fd, buf, n, off);
	return hold(&st, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	struct stat st;
	struct held *h;
	ssize_t got;

	init();
	got = real_pread(fd, buf, n, off);
	if (got < 0 || !watched(fd, &st))
		return got;
	pthread_mutex_lock(&lock);
	for (h = head; h; h = h->next) {
		off_t a, b;

		if (h->dev != st.st_dev || h->ino != st.st_ino)
			continue;
		a = h->off > off ? h->off : off;
		b = h->off + (off_t)h->len < off + (off_t)n ? h->off + (off_t)h->len : off + (off_t)n;
		if (a >= b)
			continue;
		memcpy((char *)buf + (a - off), h->data + (a - h->off), (size_t)(b - a));
		if (b - off > got)
			got = b - off;
	}
	pthread_mutex_unlock(&lock);
	return got;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return pread64(fd, buf, n, off);
}

/* Writes what is held for fd's file, in order, then really syncs. */
static int flush(int fd, int (*real)(int))
{
	struct held *h, *prev = NULL, *next;
	struct stat st;

	const char *d = getenv("E2I_POWERLOSS_SYNC_USEC");

	init();
	if (d)
		usleep((useconds_t)atoi(d));
	if (watched(fd, &st)) {
		pthread_mutex_lock(&lock);
		for (h = head; h; h = next) {
			next = h->next;
			if (h->dev != st.st_dev || h->ino != st.st_ino) {
				prev = h;
				continue;
			}
			if (real_pwrite(fd, h->data, h->len, h->off) != (ssize_t)h->len) {
				pthread_mutex_unlock(&lock);
				return -1;
			}
			if (prev)
				prev->next = next;
			else
				head = next;
			if (tail == h)
				tail = prev;
			free(h);
		}
		pthread_mutex_unlock(&lock);
	}
	return real(fd);
}

int fsync(int fd)
{
	init();
	return flush(fd, real_fsync);
}

int fdatasync(int fd)
{
	init();
	return flush(fd, real_fdatasync);
}
