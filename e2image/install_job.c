/*
 * -I: puts the metadata an image holds back onto the filesystem it was
 * taken from (e2image -I TARGET IMAGE), for the day the target's metadata
 * is damaged and the image is older but whole.
 *
 * - A legacy image is installed as e2fsprogs installs it: libext2fs opens
 *   it as an image file, its inode tables are written to the target, and
 *   closing writes the superblock with its backups, the descriptors and
 *   the bitmaps.
 * - A raw image (and a qcow2 one, first unpacked into an unnamed temporary
 *   file) is opened as the filesystem it holds; the project's capture finds
 *   its metadata blocks, and of them only those the image holds (not its
 *   holes) are written, at their own offsets: never a hole's zeros over the
 *   target's data, and never a data block of a non-sparse copy.
 *
 * Nothing is asked on stdin. The target must not be mounted (the kernel
 * would overwrite what we write, or the reverse), a block device is opened
 * exclusively, and the target's superblock (the primary, else the first
 * backup) must name the image's filesystem: same UUID, block count and
 * block size. -f installs anyway, with a warning. The target is flushed
 * before the run ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ext2fs/ext2_err.h>
#include "copy.h"
#include "install_job.h"
#include "messages.h"
#include "nls.h"
#include "plan.h"
#include "qcow2/reader.h"
#include "qcow2_to_raw.h"
#include "out_path.h"
#include "same_file.h"
#include "signals.h"

enum format { F_UNKNOWN, F_LEGACY, F_RAW, F_QCOW2 };

struct identity {
	unsigned char uuid[16];
	uint64_t blocks;
	unsigned blocksize;
};

/* The refusal of an image of format f where -r or -Q names another. */
static const char *wrong_kind(enum format f)
{
	return f == F_LEGACY ? _("%s is a legacy image, not the kind -r or -Q names") :
	       f == F_RAW ? _("%s is a raw image, not the kind -r or -Q names") :
	       _("%s is a qcow2 image, not the kind -r or -Q names");
}

static enum format detect(const char *path)
{
	unsigned char b[1024 + 58];
	uint32_t magic;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return F_UNKNOWN;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n >= 4 && qcow2_probe(b, 4))
		return F_QCOW2;
	memcpy(&magic, b, 4);
	if (n >= 4 && ext2fs_le32_to_cpu(magic) == (uint32_t)EXT2_ET_MAGIC_E2IMAGE)
		return F_LEGACY;
	if (n == (ssize_t)sizeof(b) && b[1024 + 56] == 0x53 && b[1024 + 57] == 0xef)
		return F_RAW;
	return F_UNKNOWN;
}

static void identity_of(ext2_filsys fs, struct identity *id)
{
	memcpy(id->uuid, fs->super->s_uuid, 16);
	id->blocks = ext2fs_blocks_count(fs->super);
	id->blocksize = fs->blocksize;
}

/* The target's identity from its primary superblock, else from the first
 * backup for each block size (where e2fsck looks first). */
static errcode_t target_identity(const char *path, struct identity *id)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS |
		    EXT2_FLAG_SUPER_ONLY;
	errcode_t err, first;
	ext2_filsys fs;
	unsigned bs;

	first = ext2fs_open2(path, NULL, flags, 0, 0, unix_io_manager, &fs);
	for (bs = 1024; first && bs <= 65536; bs <<= 1) {
		err = ext2fs_open2(path, NULL, flags, bs == 1024 ? 8193 : 8 * bs,
				   bs, unix_io_manager, &fs);
		if (!err)
			first = 0;
	}
	if (first)
		return first;
	identity_of(fs, id);
	ext2fs_close_free(&fs);
	return 0;
}

/* Refuses a target that is not the image's filesystem, unless -f. */
static int same_filesystem(const struct options *o, const struct identity *img)
{
	struct identity t;
	char why[256];
	errcode_t err = target_identity(o->device, &t);

	if (err)
		snprintf(why, sizeof(why), _("its superblock cannot be read (%s)"),
			 error_message(err));
	else if (memcmp(t.uuid, img->uuid, 16))
		snprintf(why, sizeof(why), _("its filesystem UUID is not the image's"));
	else if (t.blocksize != img->blocksize)
		snprintf(why, sizeof(why), _("its block size is %u, the image's %u"),
			 t.blocksize, img->blocksize);
	else if (t.blocks != img->blocks)
		snprintf(why, sizeof(why), _("it has %llu blocks, the image's filesystem %llu"),
			 (unsigned long long)t.blocks, (unsigned long long)img->blocks);
	else
		return 1;
	if (!o->force) {
		msg_plain(_("%s does not hold the filesystem of %s: %s; nothing was written (-f installs anyway)"),
			  o->device, o->image, why);
		return 0;
	}
	msg_plain(_("warning: installing %s onto %s although %s (-f)"),
		  o->image, o->device, why);
	return 1;
}

/* A regular file or a block device, through the output-path rules (no
 * other user's file planted in a sticky directory); not a FIFO, which
 * would block, nor anything else. */
static int target_kind_ok(const char *path)
{
	struct out_path op;
	struct e2i_error err = { 0 };
	int ok;

	if (out_path_resolve(path, &op, &err)) {
		msg_err(err.code, "%s", err.what);
		return 0;
	}
	ok = op.exists && (S_ISREG(op.st.st_mode) || S_ISBLK(op.st.st_mode));
	out_path_release(&op);
	if (!ok)
		msg_plain(_("%s is not a filesystem image file or a block device; nothing was written"),
			  path);
	return ok;
}

static int target_unmounted(const char *path)
{
	int mflags = 0;
	errcode_t err = ext2fs_check_if_mounted(path, &mflags);

	if (err) {
		msg_err(err, _("while checking whether %s is mounted"), path);
		return 0;
	}
	if (mflags & EXT2_MF_MOUNTED) {
		msg_plain(_("%s is mounted: unmount it before installing an image onto it"),
			  path);
		return 0;
	}
	return 1;
}

/* Positions fd at the inode tables of a legacy image: the header's
 * offset_inode, bytes 288-291 (libext2fs' e2image.h is not installed). */
static errcode_t inode_tables_at(int fd)
{
	uint32_t off;

	if (pread(fd, &off, 4, 288) != 4)
		return EXT2_ET_SHORT_READ;
	if (lseek(fd, (off_t)ext2fs_le32_to_cpu(off), SEEK_SET) < 0)
		return errno;
	return 0;
}

/* The header must put the inode tables where the format does, right after
 * the superblock and the descriptors: another offset would install other
 * bytes (the header, the superblock) as inode tables. */
static errcode_t inode_tables_where(ext2_filsys fs, int fd, const char *image)
{
	uint64_t want = (2 + (uint64_t)fs->desc_blocks) * fs->blocksize;
	uint32_t off;

	if (pread(fd, &off, 4, 288) != 4)
		off = 0;
	if (ext2fs_le32_to_cpu(off) == (uint32_t)want)
		return 0;
	msg_plain(_("the header of %s puts the inode tables at byte %u, not at byte %llu where the format has them; nothing was written"),
		  image, ext2fs_le32_to_cpu(off), (unsigned long long)want);
	return EXT2_ET_BAD_MAGIC;
}

/* e2fsprogs' way, with the checks and errors it leaves out. libext2fs
 * writes it all in two calls: -p counts the inode tables, at the end. */
static int install_legacy(const struct options *o, struct progress *prog)
{
	int flags = EXT2_FLAG_IMAGE_FILE | EXT2_FLAG_64BITS |
		    EXT2_FLAG_IGNORE_CSUM_ERRORS;
	struct identity id;
	ext2_filsys fs;
	io_channel io;
	errcode_t err;
	uint64_t tables;
	int fd;

	err = ext2fs_open(o->image, flags, 0, 0, unix_io_manager, &fs);
	if (err) {
		msg_err(err, _("while opening the image %s"), o->image);
		return 0;
	}
	identity_of(fs, &id);
	if (!same_filesystem(o, &id))
		goto out;
	err = ext2fs_read_bitmaps(fs);
	if (err) {
		msg_err(err, _("while reading the bitmaps of the image %s"), o->image);
		goto out;
	}
	fd = open(o->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		msg_err(errno, _("while opening the image %s"), o->image);
		goto out;
	}
	if ((err = inode_tables_where(fs, fd, o->image))) {
		close(fd);
		goto out;
	}
	signals_warn_first();
	err = unix_io_manager->open(o->device, IO_FLAG_RW | IO_FLAG_EXCLUSIVE, &io);
	if (err) {
		msg_err(err, _("while opening %s to install onto it"), o->device);
		close(fd);
		goto out;
	}
	tables = (uint64_t)fs->inode_blocks_per_group * fs->group_desc_count;
	progress_start(prog, tables, fs->blocksize);
	err = ext2fs_rewrite_to_io(fs, io);
	if (!err)
		err = inode_tables_at(fd);
	if (!err)
		err = ext2fs_image_inode_read(fs, fd, 0);
	close(fd);
	if (err) {
		progress_break(prog);
		msg_err(err, _("while writing the inode tables of %s onto %s"),
			o->image, o->device);
		msg_plain(_("%s is partly installed: its inode tables may be incomplete"),
			  o->device);
		goto out;
	}
	/* Writes the superblock and its backups, the descriptors and the
	 * bitmaps, and flushes the device. */
	err = ext2fs_close_free(&fs);
	if (err) {
		progress_break(prog);
		msg_err(err, _("while writing the superblock, descriptors and bitmaps onto %s"),
			o->device);
		msg_plain(_("%s is partly installed: its inode tables are written, the rest may not be"),
			  o->device);
		return 0;
	}
	progress_done(prog, tables);
	if (o->verbose)
		msg_plain(_("installed %s onto %s"), o->image, o->device);
	return 1;
out:
	ext2fs_free(fs);
	return 0;
}

/* Unpacks a qcow2 image into an unnamed temporary file (gone with the
 * process, however it ends); returns its descriptor or -1. */
struct unpack {
	int fd;
	int err;
};

static int unpack_put(void *arg, uint64_t guest, const void *data, size_t len)
{
	struct unpack *u = arg;

	u->err = pwrite_full(u->fd, data, len, guest, NULL);
	return u->err ? 1 : 0;
}

static int unpack_qcow2(const struct options *o, e2i_stop *stop,
			struct progress *prog)
{
	const char *dir = getenv("TMPDIR");
	struct qcow2_reader *r;
	struct unpack u = { -1, 0 };
	char why[512];
	int in, ret;

	if (!dir || !*dir)
		dir = "/tmp";
	in = open(o->image, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		msg_err(errno, _("while opening the image %s"), o->image);
		return -1;
	}
	why[0] = 0;
	progress_phase(prog, _("Unpacking the QCOW2 image..."));
	ret = qcow2_reader_open(in, &r, stop, why, sizeof(why));
	if (ret) {
		msg_plain(_("%s: %s"), o->image, why);
		close(in);
		return -1;
	}
	u.fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (u.fd < 0 || ftruncate(u.fd, (off_t)qcow2_reader_size(r)) < 0) {
		msg_err(errno, _("while creating a temporary file in %s to unpack %s"),
			dir, o->image);
		goto fail;
	}
	ret = qcow2_reader_each(r, unpack_put, &u, stop, why, sizeof(why));
	if (ret) {
		if (ret > 0)
			msg_err(u.err, _("while unpacking %s into a temporary file in %s"),
				o->image, dir);
		else
			msg_plain(_("%s: %s"), o->image, why);
		goto fail;
	}
	qcow2_reader_close(r);
	close(in);
	return u.fd;
fail:
	if (u.fd >= 0)
		close(u.fd);
	qcow2_reader_close(r);
	close(in);
	return -1;
}

static int install_blocks(struct plan *p, const char *target, int is_blockdev)
{
	struct sink_params sp = { 0 };
	struct copy_opts co = { 0 };
	const struct blockmap *held = &p->blocks;
	struct sink *sink = NULL;
	errcode_t err;
	int ok = 0;

	/* The strict capture refused an image whose captured blocks lie past
	 * its end: every block of the map is the image's (a hole is zeros). */
	sp.path = target;
	sp.blocksize = p->fs->blocksize;
	sp.fs_blocks = ext2fs_blocks_count(p->fs->super);
	sp.err = &p->err;
	sp.sync = 1;  /* an in-place repair: on the disk before we say done */
	sp.stop = p->stop;
	err = sink_in_place(&sp, is_blockdev, &sink);
	if (err) {
		msg_err(err, "%s", p->err.what);
		goto out;
	}
	signals_warn_first();
	co.warn = NULL; /* an unreadable block of the image stops the install:
			 * zeros must not go over the target */
	co.stop = p->stop;
	co.progress = progress_update;
	co.progress_arg = &p->prog;
	progress_start(&p->prog, held->captured, p->fs->blocksize);
	err = copy_runs(held, &p->src, sink, &co, &p->err);
	if (!err)
		err = sink->ops->finish(sink);
	if (err) {
		progress_break(&p->prog);
		sink->ops->abort(sink);
		msg_err(err, "%s", p->err.what);
		msg_plain(_("%s is partly installed: %llu of %llu blocks were written"),
			  target, (unsigned long long)sink->written,
			  (unsigned long long)held->captured);
		goto out;
	}
	progress_done(&p->prog, held->captured);
	if (p->o->verbose)
		msg_plain(ngettext("installed %llu block from %s onto %s",
				   "installed %llu blocks from %s onto %s", held->captured),
			  (unsigned long long)held->captured, p->o->device, target);
	ok = 1;
out:
	if (sink)
		sink->ops->destroy(sink);
	return ok;
}

/* A raw image (or the unpacked qcow2 one at src): its metadata, where the
 * image holds it, onto the target. */
static int install_image_fs(const struct options *o, const char *src,
			    e2i_stop *stop)
{
	struct options io = *o;
	struct identity id;
	struct plan p;
	int ok = 0;

	/* The plan reads the image as a source and would write to the
	 * target as its output; it checks that the two are not one. */
	io.device = src;
	io.image = o->device;
	io.install = 0;
	io.raw = 1;
	io.force = 1; /* the image is not mounted; the target was checked */
	/* Damage in the image (descriptors, inode tables out of range, a
	 * truncated file) would be written over the target: refused, and
	 * nothing written, as with --strict. */
	io.strict = 1;
	if (plan_open(&p, &io, stop)) {
		identity_of(p.fs, &id);
		if (same_filesystem(o, &id) && plan_capture(&p))
			ok = install_blocks(&p, o->device, p.is_blockdev);
	}
	ok = plan_status(&p, ok);
	plan_close(&p);
	return ok;
}

int run_install(const struct options *o, e2i_stop *stop)
{
	enum format f = detect(o->image);
	struct progress prog = { 0 };
	char path[64];
	int fd, rc;

	if (f == F_UNKNOWN) {
		msg_plain(_("%s is not an e2image image (legacy, raw or qcow2)"), o->image);
		return 1;
	}
	if ((o->raw && f != F_RAW) || (o->qcow2 && f != F_QCOW2)) {
		msg_plain(wrong_kind(f), o->image);
		return 1;
	}
	if (same_storage(o->device, o->image)) {
		msg_plain(_("the image %s is the target %s itself"), o->image, o->device);
		return 1;
	}
	if (!target_kind_ok(o->device) || !target_unmounted(o->device))
		return 1;
	progress_init(&prog, o->progress);
	if (f == F_LEGACY) {
		rc = install_legacy(o, &prog) ? 0 : 1;
	} else if (f == F_RAW) {
		rc = install_image_fs(o, o->image, stop);
	} else {
		fd = unpack_qcow2(o, stop, &prog);
		if (fd < 0)
			return 1;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rc = install_image_fs(o, path, stop);
		close(fd);
	}
	/* A signal after the last block (or during libext2fs' part, which
	 * cannot be stopped midway) came too late to stop anything. */
	if (rc != 1 && *stop)
		msg_plain(_("%s was installed onto %s before the signal could stop it"),
			  o->image, o->device);
	return rc;
}
