/* Whole reads and writes on file descriptors. */
#ifndef E2I_IO_FULL_H
#define E2I_IO_FULL_H

#include <stddef.h>
#include <stdint.h>
#include "stop.h"

/* Loop over short transfers and EINTR (until a stop is requested);
 * 0 or errno. pread_full stops at the end of the file: *got says how far
 * it got. */
int write_full(int fd, const void *buf, size_t len, e2i_stop *stop);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off,
		e2i_stop *stop);
int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got,
	       e2i_stop *stop);

#endif
