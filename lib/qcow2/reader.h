/*
 * A reader of untrusted qcow2 files (qemu's docs/interop/qcow2.txt): maps
 * the active L1/L2 tables and hands out the guest ranges that hold data.
 * Everything is checked before it is used: a malformed file gives an error
 * message naming what is wrong and where, never a crash, a hang or a huge
 * allocation. Nothing in the file may be shared (no snapshots, every
 * cluster has one owner), so the data handed out is never more than the
 * file holds, compressed clusters expanded. No libext2fs here.
 *
 * Both walks poll *stop (NULL: never stop) once per L2 table and before
 * each range they deliver, and return QCOW2_STOPPED once it is non-zero.
 */
#ifndef E2I_QCOW2_READER_H
#define E2I_QCOW2_READER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct qcow2_reader;

/* True when the first n bytes of a file start with the qcow2 magic. */
int qcow2_probe(const unsigned char *first_bytes, size_t n);

/* Returned when *stop became non-zero; err then says "interrupted". */
#define QCOW2_STOPPED (-2)

/* Validates the header, the L1 table and every L2 table it points to,
 * and that no cluster is used twice. The reader does not own fd. Returns
 * 0, -1 with a message in err, or QCOW2_STOPPED. */
int qcow2_reader_open(int fd, struct qcow2_reader **out,
		      const volatile sig_atomic_t *stop, char *err,
		      size_t errlen);

uint64_t qcow2_reader_size(const struct qcow2_reader *r);       /* bytes */
unsigned qcow2_reader_cluster_size(const struct qcow2_reader *r);
/* Clusters that hold data (plain or compressed), counted at open. */
uint64_t qcow2_reader_allocated(const struct qcow2_reader *r);
/* Bytes read from the file so far. */
uint64_t qcow2_reader_bytes_read(const struct qcow2_reader *r);

/* Calls cb for every guest range holding data, in ascending guest order;
 * contiguous plain clusters come as one range of up to 4 MiB. Ranges never
 * pass the virtual size. Zero and unallocated clusters are not delivered:
 * they read as zeros. Every entry is checked again, as at open. Returns 0;
 * -1 with a message in err on a reader error; QCOW2_STOPPED; or cb's
 * return value when it is not 0 (make it positive), which stops the walk. */
int qcow2_reader_each(struct qcow2_reader *r,
		      int (*cb)(void *arg, uint64_t guest_off, const void *data,
				size_t len),
		      void *arg, const volatile sig_atomic_t *stop, char *err,
		      size_t errlen);

/* Compressed clusters are inflated on n threads (default: the caller's),
 * and still delivered in order. */
void qcow2_reader_set_threads(struct qcow2_reader *r, unsigned n);

/* The header extension of this type, read from the header cluster: 1 with
 * *data (malloc'd, the caller frees it) and *len; 0 when there is none;
 * -1 with a message in err when the extension list is malformed. */
int qcow2_reader_ext(struct qcow2_reader *r, uint32_t type,
		     unsigned char **data, size_t *len, char *err,
		     size_t errlen);

void qcow2_reader_close(struct qcow2_reader *r);

#endif
