/*
 * What each cluster of a qcow2 file holds, as a value of 0 to 3 per
 * cluster (0: nothing seen yet), for the reader's one-owner check. Sparse:
 * memory grows with the clusters actually marked, in 4 KiB pages, so a
 * file with a huge size (holes, or a device) costs only what its tables
 * point at.
 */
#ifndef E2I_QCOW2_HOSTMAP_H
#define E2I_QCOW2_HOSTMAP_H

#include <stddef.h>
#include <stdint.h>

struct hostmap;

/* A map of n clusters, all 0. NULL when out of memory. */
struct hostmap *hostmap_new(uint64_t n);
/* Gives cluster i the value v (1 to 3) if it has none yet. Returns the
 * value it had before (0 when it now holds v), or -1 when i is out of
 * range or memory ran out (the map is unchanged). */
int hostmap_claim(struct hostmap *m, uint64_t i, unsigned v);
unsigned hostmap_get(const struct hostmap *m, uint64_t i);
/* Back to all 0, with the pages released. */
void hostmap_clear(struct hostmap *m);
/* Bytes of pages held now. */
size_t hostmap_bytes(const struct hostmap *m);
void hostmap_free(struct hostmap *m);

#endif
