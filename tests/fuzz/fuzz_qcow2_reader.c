/*
 * libFuzzer target: the qcow2 reader on untrusted bytes. The input becomes a
 * memfd; the reader opens it and walks every data range. The reader must
 * answer every input with data or an error message: never a crash, a hang,
 * a huge allocation or a leak.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "reader.h"

/* Stop a walk after this much data. The one-owner rule bounds the data by
 * what the file holds, but compressed clusters still expand: 64 KiB of
 * input may hold thousands of them. */
#define MAX_OUT (64ull << 20)

struct walk {
	uint64_t bytes;
	uint64_t next;     /* ranges come in ascending guest order */
	uint64_t size;
	unsigned sum;
	volatile sig_atomic_t *stop;
	uint64_t stop_at;  /* raise *stop after this many bytes */
	int stopped;
};

static int each(void *arg, uint64_t off, const void *data, size_t len)
{
	struct walk *w = arg;
	const unsigned char *p = data;

	/* The documented contract, checked. */
	if (off < w->next || len == 0 || off + len > w->size ||
	    off + len < off)
		__builtin_trap();
	w->next = off + len;
	/* Touch the first and last byte: ASan checks the buffer is real. */
	w->sum += p[0] + p[len - 1];
	w->bytes += len;
	/* Raised once, the flag must end the walk before the next range. */
	if (w->stopped)
		__builtin_trap();
	if (w->stop && w->bytes > w->stop_at) {
		*w->stop = 1;
		w->stopped = 1;
	}
	return w->bytes > MAX_OUT ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_reader *r = NULL;
	struct walk w = { 0 };
	volatile sig_atomic_t stop = 0;
	char err[256];
	int rc;
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			goto out;
		done += n;
	}
	qcow2_probe(data, size);
	err[0] = 0;
	rc = qcow2_reader_open(fd, &r, &stop, err, sizeof(err));
	if (rc == 0) {
		w.size = qcow2_reader_size(r);
		(void)qcow2_reader_cluster_size(r);
		(void)qcow2_reader_allocated(r);
		/* Half the inputs also test the stop flag, from the input's
		 * last byte: after 0 to 255 clusters' worth of data. */
		if (size && (data[size - 1] & 1)) {
			w.stop = &stop;
			w.stop_at = (uint64_t)(data[size - 1] >> 1) *
				    qcow2_reader_cluster_size(r);
		}
		err[0] = 0;
		rc = qcow2_reader_each(r, each, &w, &stop, err, sizeof(err));
		/* An error comes with a message; a stop is reported only
		 * when the flag was raised. */
		if ((rc < 0 && !err[0]) || (rc == QCOW2_STOPPED && !w.stopped))
			__builtin_trap();
		qcow2_reader_close(r);
	} else if (rc != -1 || !err[0] || r) {
		__builtin_trap();
	}
out:
	close(fd);
	return 0;
}
