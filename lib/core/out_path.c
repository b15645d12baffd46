/* Follows an output path to its target (see out_path.h). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "out_path.h"
#include "nls.h"

/* As the kernel: more symlinks than this in one path is a loop. */
#define MAX_LINKS 40

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

struct walk {
	const char *path;   /* as the user gave it, for messages */
	int dir;            /* where the walk is */
	struct stat dst;    /* that directory */
	char *shown;        /* it as a path: "" or ending in '/' */
	char *rest;         /* what is left to follow */
	size_t at;          /* rest[at] is the next byte to read */
	int links;
};

static char *concat(const char *a, const char *b, const char *c)
{
	char *s;

	return asprintf(&s, "%s%s%s", a, b, c) < 0 ? NULL : s;
}

/*
 * The kernel's rule for sticky world-writable directories (protected_regular
 * for files, protected_symlinks for links): what is there is used only when
 * it belongs to us or to the directory's owner.
 */
static int planted(const struct stat *dir, const struct stat *st)
{
	return (dir->st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
	       st->st_uid != geteuid() && st->st_uid != dir->st_uid;
}

static errcode_t refuse_planted(struct walk *w, const char *name,
				const struct stat *st, struct e2i_error *err)
{
	const char *fmt = S_ISLNK(st->st_mode) ?
		_("while opening %s: refusing to follow the symlink %s%s, owned by uid %lu in a sticky world-writable directory (neither ours nor the directory owner's)") :
		_("while opening %s: refusing %s%s, owned by uid %lu in a sticky world-writable directory (neither ours nor the directory owner's)");

	return e2i_seterr(err, EACCES, fmt, w->path, w->shown, name,
			  (unsigned long)st->st_uid);
}

/* An error about name, in the directory the walk is in: the path as the
 * user gave it, and where on the way it failed. */
static errcode_t walk_err(struct walk *w, errcode_t e, const char *name,
			  struct e2i_error *err)
{
	size_t n = strlen(w->shown);

	if (strncmp(w->path, w->shown, n) == 0 && strcmp(w->path + n, name) == 0)
		return e2i_seterr(err, e, _("while opening %s"), w->path);
	return e2i_seterr(err, e, _("while opening %s (at %s%s)"), w->path,
			  w->shown, name);
}

/* Moves the walk to directory name ("/" from anywhere). */
static errcode_t enter(struct walk *w, const char *name, struct e2i_error *err)
{
	int at = strcmp(name, "/") == 0 ? AT_FDCWD : w->dir;
	int fd = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *shown = at == AT_FDCWD ? strdup("/") : concat(w->shown, name, "/");
	errcode_t e = fd < 0 ? errno : !shown ? ENOMEM : 0;

	if (!e && fstat(fd, &w->dst) < 0)
		e = errno;
	if (e) {
		if (fd >= 0)
			close(fd);
		free(shown);
		return walk_err(w, e, name, err);
	}
	close(w->dir);
	w->dir = fd;
	free(w->shown);
	w->shown = shown;
	return 0;
}

/* The link's target takes its place in what is left to follow. */
static errcode_t follow(struct walk *w, const char *name, const struct stat *st,
			struct e2i_error *err)
{
	size_t len = st->st_size ? (size_t)st->st_size + 1 : 4096;
	char *to = malloc(len), *rest;
	ssize_t n;
	errcode_t e;

	if (++w->links > MAX_LINKS) {
		free(to);
		return e2i_seterr(err, ELOOP, _("while opening %s"), w->path);
	}
	n = to ? readlinkat(w->dir, name, to, len) : -1;
	e = !to ? ENOMEM : n < 0 ? errno : (size_t)n >= len ? ENAMETOOLONG :
	    n == 0 ? ENOENT : 0;
	if (e) {
		free(to);
		return walk_err(w, e, name, err);
	}
	to[n] = 0;
	rest = concat(to, w->rest + w->at, "");
	if (!rest)
		e = e2i_seterr(err, ENOMEM, _("while opening %s"), w->path);
	else if (to[0] == '/')
		e = enter(w, "/", err);
	free(to);
	if (e) {
		free(rest);
		return e;
	}
	free(w->rest);
	w->rest = rest;
	w->at = 0;
	return 0;
}

/*
 * /dev/stdout, /dev/fd/N and >(cmd) end in a link of /proc/PID/fd whose
 * text is no path ("pipe:[1234]") when it leads to a pipe, a socket or a
 * terminal. Such a target is taken as the kernel finds it.
 */
static int magic_stream(struct walk *w, const char *name, struct stat *st)
{
	struct statfs fs;
	struct stat to;

	if (fstatfs(w->dir, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC ||
	    fstatat(w->dir, name, &to, 0) < 0 ||
	    !(S_ISFIFO(to.st_mode) || S_ISSOCK(to.st_mode) || S_ISCHR(to.st_mode)))
		return 0;
	*st = to;
	return 1;
}

/* The next name of w->rest; *last: nothing follows it but slashes. */
static char *next_name(struct walk *w, int *last, int *slash)
{
	const char *r = w->rest;
	size_t start, end;

	while (r[w->at] == '/')
		w->at++;
	start = w->at;
	while (r[w->at] && r[w->at] != '/')
		w->at++;
	end = w->at;
	while (r[end] == '/')
		end++;
	*last = r[end] == 0;
	*slash = *last && end > w->at;
	return strndup(r + start, w->at - start);
}

/* One name of the path; *done once the walk is at the target. */
static errcode_t step(struct walk *w, struct out_path *op, int *done,
		      struct e2i_error *err)
{
	int last, slash;
	char *name = next_name(w, &last, &slash);
	struct stat st;
	errcode_t e = 0;

	if (!name)
		return e2i_seterr(err, ENOMEM, _("while opening %s"), w->path);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		/* "", "/", "dir/.." name a directory, or nothing */
		if (last)
			e = e2i_seterr(err, *w->path ? EISDIR : ENOENT,
				       _("while opening %s"), w->path);
		else if (*name)
			e = enter(w, name, err);
	} else if (fstatat(w->dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		if (e == ENOENT && last && !slash) {
			e = 0;
			*done = 1;
		} else {
			e = walk_err(w, e == ENOENT && slash ? EISDIR : e,
				     name, err);
		}
	} else if (S_ISLNK(st.st_mode) && planted(&w->dst, &st)) {
		e = refuse_planted(w, name, &st, err);
	} else if (S_ISLNK(st.st_mode) && last && magic_stream(w, name, &st)) {
		op->exists = op->magic = 1;
		op->st = st;
		*done = 1;
	} else if (S_ISLNK(st.st_mode)) {
		e = follow(w, name, &st, err);
	} else if (!last) {
		e = S_ISDIR(st.st_mode) ? enter(w, name, err) :
		    walk_err(w, ENOTDIR, name, err);
	} else if (slash && !S_ISDIR(st.st_mode)) {
		e = e2i_seterr(err, ENOTDIR, _("while opening %s"), w->path);
	} else if (!S_ISDIR(st.st_mode) && planted(&w->dst, &st)) {
		e = refuse_planted(w, name, &st, err);
	} else {
		op->exists = 1;
		op->st = st;
		*done = 1;
	}
	if (!e && *done) {
		op->shown = concat(w->shown, name, "");
		if (!op->shown)
			e = e2i_seterr(err, ENOMEM, _("while opening %s"), w->path);
		op->name = name;
		name = NULL;
	}
	free(name);
	return e;
}

errcode_t out_path_resolve(const char *path, struct out_path *op,
			   struct e2i_error *err)
{
	struct walk w = { path, -1, { 0 }, NULL, NULL, 0, 0 };
	int done = 0;
	errcode_t e;

	memset(op, 0, sizeof(*op));
	op->dirfd = -1;
	w.rest = strdup(path);
	w.shown = strdup(path[0] == '/' ? "/" : "");
	w.dir = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!w.rest || !w.shown)
		e = e2i_seterr(err, ENOMEM, _("while opening %s"), path);
	else if (w.dir < 0 || fstat(w.dir, &w.dst) < 0)
		e = e2i_seterr(err, errno, _("while opening %s"), path);
	else
		e = 0;
	while (!e && !done)
		e = step(&w, op, &done, err);
	free(w.rest);
	free(w.shown);
	if (e) {
		if (w.dir >= 0)
			close(w.dir);
		out_path_release(op);
		return e;
	}
	op->dirfd = w.dir;
	return 0;
}

errcode_t out_path_open(const struct out_path *op, const char *path,
			int flags, int *fd, struct e2i_error *err)
{
	struct stat st;

	*fd = op->exists ? openat(op->dirfd, op->name, flags | O_CLOEXEC |
				  (op->magic ? 0 : O_NOFOLLOW)) : -1;
	if (*fd < 0)
		return e2i_seterr(err, op->exists ? errno : ENOENT,
				  _("while opening %s"), path);
	if (fstat(*fd, &st) < 0 || st.st_dev != op->st.st_dev ||
	    st.st_ino != op->st.st_ino) {
		close(*fd);
		*fd = -1;
		return e2i_seterr(err, EAGAIN,
				  _("while opening %s: %s was replaced meanwhile"),
				  path, op->shown);
	}
	return 0;
}

void out_path_release(struct out_path *op)
{
	if (op->dirfd >= 0)
		close(op->dirfd);
	op->dirfd = -1;
	free(op->name);
	free(op->shown);
	op->name = op->shown = NULL;
}
