/*
 * The qcow2-to-raw job: the reader checks the whole image and counts its
 * clusters before anything is written, then hands out the data ranges in
 * guest order, which go to the sink in blocks of the cluster size (or 512
 * bytes when the virtual size is not a whole number of clusters). The
 * reader polls the stop flag itself, while checking and between ranges.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "copy.h"
#include "nls.h"
#include "messages.h"
#include "progress.h"
#include "qcow2/reader.h"
#include "plan.h"
#include "qcow2_to_raw.h"
#include "same_file.h"
#include "sink.h"

struct q2r {
	const struct options *o;
	e2i_stop *stop;
	struct sink *sink;
	enum sink_kind kind;
	struct progress prog;
	struct e2i_error err;
	unsigned bs, cs;
	uint64_t done;        /* clusters delivered */
	/* An output whose unwritten blocks do not read as zeros (a device, a
	 * file updated in place): what the image leaves unallocated is
	 * written as zeros too, or the old bytes would show through. */
	int fill;
	uint64_t next;        /* with fill: the first block not written yet */
	uint64_t fill_end;    /* with fill: blocks past it read as zeros */
	char *zeros;          /* with fill: FILL_BYTES of zeros */
	/* --report: */
	double t0;
	uint64_t nonzero;     /* blocks of bs delivered that hold data */
	uint64_t in_bytes, in_read;
	uint64_t size;        /* the image's */
};

#define FILL_BYTES (1u << 20)

int input_is_qcow2(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	return n == (ssize_t)sizeof(magic) && qcow2_probe(magic, sizeof(magic));
}

static const char *shown(const char *path)
{
	return strcmp(path, "-") ? path : "stdout";
}

/* Zeros over [q->next, end), a chunk at a time, stopping on a signal. */
static errcode_t fill_to(struct q2r *q, uint64_t end)
{
	uint64_t per = FILL_BYTES / q->bs, n;
	errcode_t err;

	if (end > q->fill_end)
		end = q->fill_end;
	for (; q->fill && q->next < end; q->next += n) {
		if (stopped(q->stop))
			return e2i_seterr(&q->err, EINTR, _("while writing zeros to %s"),
					  shown(q->o->image));
		n = end - q->next < per ? end - q->next : per;
		err = q->sink->ops->write(q->sink, q->next, n, q->zeros);
		if (err)
			return err;
	}
	return 0;
}

static int deliver(void *arg, uint64_t guest, const void *data, size_t len)
{
	struct q2r *q = arg;
	size_t i;

	if (fill_to(q, guest / q->bs) || sink_write_sparse(q->sink, guest / q->bs, len / q->bs, data))
		return 1;
	for (i = 0; q->o->report && i < len; i += q->bs)
		q->nonzero += !is_zero((const char *)data + i, q->bs);
	if (q->fill)
		q->next = (guest + len) / q->bs;
	q->done += (len + q->cs - 1) / q->cs;
	progress_update(&q->prog, q->done);
	return 0;
}

static int convert(struct q2r *q, struct qcow2_reader *r)
{
	const struct options *o = q->o;
	struct sink_params sp = { 0 };
	char why[512];
	uint64_t size = qcow2_reader_size(r);
	struct stat st;
	errcode_t err;
	int ret, blk;

	q->cs = qcow2_reader_cluster_size(r);
	/* Inflating on more threads only when asked: on a 2-core VM, 0.16 s
	 * on one and 0.16-0.21 s on two for the bench fixture's compressed
	 * image, the writes to the output being what the time goes to. */
	qcow2_reader_set_threads(r, o->threads ? o->threads : 1);
	/* Holes found a 4 KiB block at a time, as the image's blocks went
	 * in: by whole 64 KiB clusters, the medium fixture's image wrote
	 * 353 MB where its 101 MB of non-zero blocks were all there was. */
	q->bs = q->cs < 4096 ? q->cs : 4096;
	if (size % q->bs)
		q->bs = 512;
	sink_params_for(o, q->bs, size / q->bs, &q->err, q->stop, &sp);
	/* A file holds old bytes up to its old end only: past it, what is
	 * not written reads as zeros (see fill_to). */
	q->fill_end = UINT64_MAX;
	if (stat(o->image, &st) == 0 && S_ISREG(st.st_mode))
		q->fill_end = (uint64_t)st.st_size <= o->dest_offset ? 0 :
			      ((uint64_t)st.st_size - o->dest_offset + q->bs - 1) / q->bs;
	err = sink_kind_for(&sp, &q->kind, &blk);
	if (!err)
		err = sink_open(&sp, &q->sink);
	if (err) {
		msg_err(err, "%s", q->err.what);
		return 0;
	}
	if (!q->sink->gaps_read_zero && !o->dry_run) {
		q->zeros = calloc(1, FILL_BYTES);
		if (!q->zeros) {
			msg_err(ENOMEM, _("while converting %s to %s"), o->device, o->image);
			q->sink->ops->abort(q->sink);
			return 0;
		}
		q->fill = 1;
	}
	progress_start(&q->prog, qcow2_reader_allocated(r), q->cs);
	why[0] = 0;
	ret = qcow2_reader_each(r, deliver, q, q->stop, why, sizeof(why));
	if (!ret && fill_to(q, size / q->bs))
		ret = 1;
	if (ret)
		progress_break(&q->prog);
	if (!ret) {
		progress_done(&q->prog, q->done);
		err = q->sink->ops->finish(q->sink);
		if (!err)
			return 1;
	}
	q->sink->ops->abort(q->sink);
	if (ret == QCOW2_STOPPED)
		msg_plain(_("interrupted while converting %s to %s"), o->device,
			  shown(o->image));
	else if (ret < 0)
		msg_plain(_("%s while converting %s to %s"), why, o->device, o->image);
	else
		msg_err(q->err.code, "%s", q->err.what);
	/* A new file is removed; a stream or an output updated in place
	 * keeps what was written: say which. */
	if (o->dry_run)
		return 0;
	if (q->kind == SINK_NEW_FILE)
		msg_plain(_("no image was written to %s"), o->image);
	else if (!q->sink->written && !(q->kind == SINK_STREAM && o->dest_offset))
		msg_plain(_("nothing was written to %s"), shown(o->image));
	else
		msg_plain(_("%s is incomplete: %llu of %llu clusters with data were written before the failure"),
			  shown(o->image), (unsigned long long)q->done,
			  (unsigned long long)qcow2_reader_allocated(r));
	return 0;
}

static int run(struct q2r *q)
{
	const struct options *o = q->o;
	struct qcow2_reader *r;
	struct stat st;
	char why[512];
	int fd, ok, ret;

	if (o->all_data || o->superblock || o->src_offset) {
		msg_plain(_("%s is a qcow2 image: -a, -b and -o do not apply to it"),
			  o->device);
		return 0;
	}
	if (same_storage(o->device, o->image)) {
		msg_plain(_("the output %s is the input itself"), o->image);
		return 0;
	}
	fd = open(o->device, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		msg_err(errno, _("while opening %s"), o->device);
		return 0;
	}
	if (fstat(fd, &st) == 0)
		q->in_bytes = (uint64_t)st.st_size;
	why[0] = 0;
	progress_phase(&q->prog, _("Reading the QCOW2 tables..."));
	ret = qcow2_reader_open(fd, &r, q->stop, why, sizeof(why));
	if (ret == QCOW2_STOPPED)
		msg_plain(_("interrupted while checking %s: nothing was written to %s"),
			  o->device, shown(o->image));
	else if (ret)
		msg_plain(_("%s while converting %s to %s"), why, o->device, o->image);
	if (ret) {
		close(fd);
		return 0;
	}
	q->size = qcow2_reader_size(r);
	ok = convert(q, r);
	q->in_read = qcow2_reader_bytes_read(r);
	if (ok && o->check)
		printf(_("%" PRIu64 " blocks already contained the data to be copied\n"),
		       q->sink->skipped);
	qcow2_reader_close(r);
	close(fd);
	return ok;
}

int run_qcow2_to_raw(const struct options *o, e2i_stop *stop)
{
	struct q2r q;
	time_t when;
	int ok;

	memset(&q, 0, sizeof(q));
	q.o = o;
	q.stop = stop;
	q.t0 = now_seconds();
	when = manifest_now();
	progress_init(&q.prog, o->progress);
	ok = run(&q) ? 0 : 1;
	if (o->report) {
		struct report_run r = {
			.o = o, .mode = "qcow2-to-raw", .format = "raw", .sink = q.sink,
			.image_bytes = q.size, .block_size = q.bs,
			.data_blocks = ok == 1 || !q.bs ? -1 : (int64_t)q.nonzero,
			.input_bytes = q.in_bytes, .input_read = q.in_read,
			.when = when, .t0 = q.t0, .err = &q.err, .stop = stop,
		};

		ok = report_write(&r, ok);
	}
	if (q.sink)
		q.sink->ops->destroy(q.sink);
	free(q.zeros);
	return ok;
}
