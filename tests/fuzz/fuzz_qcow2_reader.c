/*
 * libFuzzer target: the qcow2 reader on untrusted bytes. The input becomes a
 * memfd; the reader opens it and walks every data range. The reader must
 * answer every input with data or an error message: never a crash, a hang,
 * a huge allocation or a leak.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "reader.h"

/* Stop a walk after this much data: a tiny file may describe a 2^63-byte
 * disk full of the same cluster, which is valid, only long. */
#define MAX_OUT (64ull << 20)

struct walk {
	uint64_t bytes;
	uint64_t next;     /* ranges come in ascending guest order */
	uint64_t size;
	unsigned sum;
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
	return w->bytes > MAX_OUT ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qcow2_reader *r = NULL;
	struct walk w = { 0 };
	char err[256];
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
	if (qcow2_reader_open(fd, &r, err, sizeof(err)) == 0) {
		w.size = qcow2_reader_size(r);
		(void)qcow2_reader_cluster_size(r);
		(void)qcow2_reader_allocated(r);
		err[0] = 0;
		if (qcow2_reader_each(r, each, &w, err, sizeof(err)) < 0 && !err[0])
			__builtin_trap(); /* an error always comes with a message */
		qcow2_reader_close(r);
	} else if (!err[0]) {
		__builtin_trap();
	}
out:
	close(fd);
	return 0;
}
