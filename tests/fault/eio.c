/*
 * libeio.so -- an LD_PRELOAD library that makes reads of one file fail with
 * EIO at chosen byte ranges, as a disk with unreadable sectors does.
 *
 *   E2I_FAULT_PATH=FILE            the file whose reads fail. Matched by
 *                                  realpath() when it is opened (open,
 *                                  open64, openat, openat64 and their
 *                                  _FORTIFY_SOURCE variants); the fds are
 *                                  remembered (dup, dup2, dup3 too) and
 *                                  forgotten on close.
 *   E2I_FAULT_RANGES="S:L,S:L"     bad byte ranges [S, S+L) of that file
 *                                  (decimal, or 0x hex).
 *   E2I_FAULT_MODE=short|eio       short (the default), as a real disk: a
 *                                  read that starts on good bytes and runs
 *                                  into a bad range returns the good bytes
 *                                  before it (a short read); a read that
 *                                  starts on a bad byte fails with EIO.
 *                                  So a caller that loops over short reads
 *                                  gets the good bytes, then EIO.
 *                                  eio: any read overlapping a bad range
 *                                  fails with EIO, nothing is returned.
 *                                  hang: as short, but a read that starts
 *                                  on a bad byte blocks until a signal
 *                                  handler runs in its thread, then fails
 *                                  with EINTR, as a hung network disk or
 *                                  FUSE source does.
 *   E2I_FAULT_CLOSE=1              close() of the file's fds closes them,
 *                                  then fails with EIO, as a network
 *                                  filesystem reports a write it could not
 *                                  complete.
 *   E2I_FAULT_VERBOSE=1            report each injected failure on stderr.
 *
 * Intercepted reads: read, pread, pread64, readv, preadv, preadv64,
 * preadv2, preadv64v2 (read and readv at the fd's current offset, which is
 * advanced by the good bytes only), and the fortified __read_chk,
 * __pread_chk, __pread64_chk. copy_file_range, sendfile and splice from a
 * matching fd fail with EINVAL, so tools such as cat fall back to read.
 * mmap/mmap64 of a matching fd fail with ENODEV, so a program that maps
 * its input falls back to reading it. Writes are untouched, and so is
 * close unless E2I_FAULT_CLOSE is set.
 *
 * Build: cc -shared -fPIC -o libeio.so eio.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_RANGES 64

struct range {
	uint64_t start, end;   /* [start, end) */
};

static struct range ranges[MAX_RANGES];
static int nranges;
static int mode_eio;
static int mode_hang;
static int fail_close;
static int verbose;
static char *target;                       /* realpath of E2I_FAULT_PATH */
static unsigned char watched[MAX_FDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void init(void)
{
	const char *p = getenv("E2I_FAULT_PATH");
	const char *r = getenv("E2I_FAULT_RANGES");
	const char *m = getenv("E2I_FAULT_MODE");
	const char *v = getenv("E2I_FAULT_VERBOSE");
	const char *c = getenv("E2I_FAULT_CLOSE");

	verbose = v && *v && strcmp(v, "0") != 0;
	mode_eio = m && strcmp(m, "eio") == 0;
	mode_hang = m && strcmp(m, "hang") == 0;
	fail_close = c && *c && strcmp(c, "0") != 0;
	if (p && *p)
		target = realpath(p, NULL);
	while (r && *r && nranges < MAX_RANGES) {
		char *end;
		unsigned long long s = strtoull(r, &end, 0), l;

		if (*end != ':')
			break;
		l = strtoull(end + 1, &end, 0);
		if (l) {
			ranges[nranges].start = s;
			ranges[nranges].end = s + l;
			nranges++;
		}
		if (*end != ',')
			break;
		r = end + 1;
	}
	if (verbose)
		fprintf(stderr, "eio: %s, %d bad ranges (%s mode)\n",
			target ? target : "(no file)", nranges,
			mode_eio ? "eio" : mode_hang ? "hang" : "short");
}

static void setup(void)
{
	pthread_once(&once, init);
}

static int is_watched(int fd)
{
	return fd >= 0 && fd < MAX_FDS && __atomic_load_n(&watched[fd], __ATOMIC_RELAXED);
}

static void set_watched(int fd, int on)
{
	if (fd >= 0 && fd < MAX_FDS)
		__atomic_store_n(&watched[fd], (unsigned char)on, __ATOMIC_RELAXED);
}

/* After a successful open of path as fd: watch fd when path is the file. */
static int opened(int dirfd, const char *path, int fd)
{
	char *rp, *full = NULL;
	int saved = errno;

	setup();
	set_watched(fd, 0);
	if (fd < 0 || !target) {
		errno = saved; /* a failed open's reason, not setup()'s */
		return fd;
	}
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		char link[64], dir[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, dir, sizeof(dir) - 1);
		if (n > 0) {
			dir[n] = 0;
			if (asprintf(&full, "%s/%s", dir, path) < 0)
				full = NULL;
		}
	}
	rp = realpath(full ? full : path, NULL);
	if (rp && strcmp(rp, target) == 0) {
		set_watched(fd, 1);
		if (verbose)
			fprintf(stderr, "eio: watching fd %d (%s)\n", fd, path);
	}
	free(rp);
	free(full);
	errno = saved;
	return fd;
}

/*
 * How many of len bytes at off may be read: len when no bad byte is in
 * [off, off + len); else the good bytes before the first bad one (short
 * mode), or 0 -- and 0 means fail with EIO.
 */
static size_t allowed(int fd, uint64_t off, size_t len, const char *fn)
{
	uint64_t first_bad = UINT64_MAX;
	int i;

	if (!is_watched(fd) || len == 0)
		return len;
	for (i = 0; i < nranges; i++) {
		uint64_t s = ranges[i].start, e = ranges[i].end;

		if (s < off + len && e > off) {
			uint64_t b = s > off ? s : off;

			if (b < first_bad)
				first_bad = b;
		}
	}
	if (first_bad == UINT64_MAX)
		return len;
	if (mode_eio || first_bad == off) {
		if (verbose)
			fprintf(stderr, "eio: %s fd %d bytes %llu+%zu: EIO\n", fn, fd,
				(unsigned long long)off, len);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "eio: %s fd %d bytes %llu+%zu: short read of %llu\n",
			fn, fd, (unsigned long long)off, len,
			(unsigned long long)(first_bad - off));
	return first_bad - off;
}

/* ---- opening and closing ---- */

static int open_mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
		va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;
	REAL(open);

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	return opened(AT_FDCWD, path, real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int mode;
	REAL(open64);

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	return opened(AT_FDCWD, path, real_open64(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int mode;
	REAL(openat);

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	return opened(dirfd, path, real_openat(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int mode;
	REAL(openat64);

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	return opened(dirfd, path, real_openat64(dirfd, path, flags, mode));
}

/* The _FORTIFY_SOURCE entry points (never given O_CREAT). */
int __open_2(const char *path, int flags)
{
	REAL(open);
	return opened(AT_FDCWD, path, real_open(path, flags));
}

int __open64_2(const char *path, int flags)
{
	REAL(open64);
	return opened(AT_FDCWD, path, real_open64(path, flags));
}

int __openat_2(int dirfd, const char *path, int flags)
{
	REAL(openat);
	return opened(dirfd, path, real_openat(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	REAL(openat64);
	return opened(dirfd, path, real_openat64(dirfd, path, flags));
}

int close(int fd)
{
	int watched_fd = is_watched(fd), rc;
	REAL(close);

	setup();
	set_watched(fd, 0);
	rc = real_close(fd);
	if (rc == 0 && watched_fd && fail_close) {
		if (verbose)
			fprintf(stderr, "eio: close fd %d: EIO\n", fd);
		errno = EIO;
		return -1;
	}
	return rc;
}

int dup(int fd)
{
	int n;
	REAL(dup);

	n = real_dup(fd);
	if (n >= 0)
		set_watched(n, is_watched(fd));
	return n;
}

int dup2(int fd, int to)
{
	int n;
	REAL(dup2);

	n = real_dup2(fd, to);
	if (n >= 0)
		set_watched(n, is_watched(fd));
	return n;
}

int dup3(int fd, int to, int flags)
{
	int n;
	REAL(dup3);

	n = real_dup3(fd, to, flags);
	if (n >= 0)
		set_watched(n, is_watched(fd));
	return n;
}

/* ---- reads ---- */

static ssize_t eio(void)
{
	if (mode_hang) {
		pause(); /* returns once a signal handler has run */
		errno = EINTR;
		return -1;
	}
	errno = EIO;
	return -1;
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	size_t n;
	REAL(pread);

	setup();
	n = allowed(fd, off, len, "pread");
	return n ? real_pread(fd, buf, n, off) : len ? eio() : real_pread(fd, buf, 0, off);
}

ssize_t pread64(int fd, void *buf, size_t len, off64_t off)
{
	size_t n;
	REAL(pread64);

	setup();
	n = allowed(fd, off, len, "pread64");
	return n ? real_pread64(fd, buf, n, off) : len ? eio() : real_pread64(fd, buf, 0, off);
}

ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t buflen)
{
	(void)buflen;
	return pread(fd, buf, len, off);
}

ssize_t __pread64_chk(int fd, void *buf, size_t len, off64_t off, size_t buflen)
{
	(void)buflen;
	return pread64(fd, buf, len, off);
}

/* The fd's offset, for read and readv; -1 when it has none (a pipe). */
static off64_t here(int fd)
{
	REAL(lseek64);
	return real_lseek64(fd, 0, SEEK_CUR);
}

ssize_t read(int fd, void *buf, size_t len)
{
	off64_t off;
	size_t n = len;
	REAL(read);

	setup();
	if (is_watched(fd) && (off = here(fd)) >= 0) {
		n = allowed(fd, off, len, "read");
		if (!n && len)
			return eio();
	}
	return real_read(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, len);
}

static size_t iov_len(const struct iovec *iov, int cnt)
{
	size_t t = 0;
	int i;

	for (i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* iov cut down to its first n bytes, in out (at most cnt entries). */
static int iov_cut(const struct iovec *iov, int cnt, size_t n, struct iovec *out)
{
	int i, k = 0;

	for (i = 0; i < cnt && n; i++) {
		out[k] = iov[i];
		if (out[k].iov_len > n)
			out[k].iov_len = n;
		n -= out[k].iov_len;
		k++;
	}
	return k;
}

/* preadv and friends, through one helper: real(fd, iov, cnt, off, flags). */
typedef ssize_t (*vec_fn)(int, const struct iovec *, int, off64_t, int);

static ssize_t vec_read(int fd, const struct iovec *iov, int cnt, off64_t off,
			int flags, vec_fn real, const char *fn)
{
	size_t len = iov_len(iov, cnt), n;
	struct iovec cut[cnt > 0 ? cnt : 1];

	setup();
	if (cnt <= 0 || !is_watched(fd))
		return real(fd, iov, cnt, off, flags);
	if (off < 0) {
		off = here(fd);
		if (off < 0)
			return real(fd, iov, cnt, -1, flags);
		n = allowed(fd, off, len, fn);
		off = -1;
	} else {
		n = allowed(fd, off, len, fn);
	}
	if (!n && len)
		return eio();
	if (n == len)
		return real(fd, iov, cnt, off, flags);
	return real(fd, cut, iov_cut(iov, cnt, n, cut), off, flags);
}

static ssize_t call_readv(int fd, const struct iovec *iov, int cnt, off64_t off, int fl)
{
	REAL(readv);
	(void)off;
	(void)fl;
	return real_readv(fd, iov, cnt);
}

static ssize_t call_preadv(int fd, const struct iovec *iov, int cnt, off64_t off, int fl)
{
	REAL(preadv64);
	(void)fl;
	return real_preadv64(fd, iov, cnt, off);
}

static ssize_t call_preadv2(int fd, const struct iovec *iov, int cnt, off64_t off, int fl)
{
	REAL(preadv64v2);
	return real_preadv64v2(fd, iov, cnt, off, fl);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return vec_read(fd, iov, cnt, -1, 0, call_readv, "readv");
}

ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return vec_read(fd, iov, cnt, off, 0, call_preadv, "preadv");
}

ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	return vec_read(fd, iov, cnt, off, 0, call_preadv, "preadv64");
}

ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return vec_read(fd, iov, cnt, off, flags, call_preadv2, "preadv2");
}

ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	return vec_read(fd, iov, cnt, off, flags, call_preadv2, "preadv64v2");
}

/* ---- paths around read() ---- */

ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off,
			size_t len, unsigned flags)
{
	REAL(copy_file_range);
	setup();
	if (is_watched(in)) {
		errno = EINVAL; /* callers fall back to read/write */
		return -1;
	}
	return real_copy_file_range(in, in_off, out, out_off, len, flags);
}

ssize_t sendfile(int out, int in, off_t *off, size_t len)
{
	REAL(sendfile);
	setup();
	if (is_watched(in)) {
		errno = EINVAL;
		return -1;
	}
	return real_sendfile(out, in, off, len);
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t len)
{
	REAL(sendfile64);
	setup();
	if (is_watched(in)) {
		errno = EINVAL;
		return -1;
	}
	return real_sendfile64(out, in, off, len);
}

ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t len,
	       unsigned flags)
{
	REAL(splice);
	setup();
	if (is_watched(in)) {
		errno = EINVAL;
		return -1;
	}
	return real_splice(in, in_off, out, out_off, len, flags);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(mmap);
	setup();
	if (!(flags & MAP_ANONYMOUS) && is_watched(fd)) {
		if (verbose)
			fprintf(stderr, "eio: mmap fd %d: ENODEV\n", fd);
		errno = ENODEV;
		return MAP_FAILED;
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	REAL(mmap64);
	setup();
	if (!(flags & MAP_ANONYMOUS) && is_watched(fd)) {
		if (verbose)
			fprintf(stderr, "eio: mmap64 fd %d: ENODEV\n", fd);
		errno = ENODEV;
		return MAP_FAILED;
	}
	return real_mmap64(addr, len, prot, flags, fd, off);
}
