/*
 * Bytes kept until they can be written: packed compressed clusters bound
 * for a stream, whose tables (which come first) depend on their sizes.
 * Held in memory up to a bound, then in a temporary file that has no name
 * from the moment it is created, so that no exit path, not even SIGKILL,
 * leaves it behind.
 */
#ifndef E2I_QCOW2_STORE_H
#define E2I_QCOW2_STORE_H

#include <stddef.h>
#include <stdint.h>

struct qcow2_store;

/* chunk: replay hands out pieces of this many bytes (the last one may be
 * shorter); tmpdir: where to spill, NULL for $TMPDIR or /tmp. */
int qcow2_store_new(size_t mem_bound, size_t chunk, const char *tmpdir,
		    struct qcow2_store **out);
/* 0 or an errno (the spill file's). */
int qcow2_store_put(struct qcow2_store *s, const void *buf, size_t len);
/* Hands every byte put, in order, to fn; stops at fn's first non-zero. */
int qcow2_store_replay(struct qcow2_store *s,
		       int (*fn)(void *arg, const void *buf, size_t len),
		       void *arg);
uint64_t qcow2_store_spilled(const struct qcow2_store *s);  /* bytes */
/* Where the spill went, for messages. */
const char *qcow2_store_dir(const struct qcow2_store *s);
void qcow2_store_free(struct qcow2_store *s);

#endif
