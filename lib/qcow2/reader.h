/*
 * A reader of untrusted qcow2 files (qemu's docs/interop/qcow2.txt): maps
 * the active L1/L2 tables and hands out the guest ranges that hold data.
 * Everything is checked before it is used: a malformed file gives an error
 * message naming what is wrong and where, never a crash, a hang or a huge
 * allocation. No libext2fs here.
 */
#ifndef E2I_QCOW2_READER_H
#define E2I_QCOW2_READER_H

#include <stddef.h>
#include <stdint.h>

struct qcow2_reader;

/* True when the first n bytes of a file start with the qcow2 magic. */
int qcow2_probe(const unsigned char *first_bytes, size_t n);

/* Validates the header, the L1 table and every L2 table it points to.
 * The reader does not own fd. Returns 0, or -1 with a message in err. */
int qcow2_reader_open(int fd, struct qcow2_reader **out, char *err,
		      size_t errlen);

uint64_t qcow2_reader_size(const struct qcow2_reader *r);       /* bytes */
unsigned qcow2_reader_cluster_size(const struct qcow2_reader *r);
/* Clusters that hold data (plain or compressed), counted at open. */
uint64_t qcow2_reader_allocated(const struct qcow2_reader *r);

/* Calls cb for every guest range holding data, in ascending guest order;
 * contiguous plain clusters come as one range of up to 4 MiB. Ranges never
 * pass the virtual size. Zero and unallocated clusters are not delivered:
 * they read as zeros. Returns 0; -1 with a message in err on a reader
 * error; or cb's non-zero return value, which stops the walk. */
int qcow2_reader_each(struct qcow2_reader *r,
		      int (*cb)(void *arg, uint64_t guest_off, const void *data,
				size_t len),
		      void *arg, char *err, size_t errlen);

void qcow2_reader_close(struct qcow2_reader *r);

#endif
