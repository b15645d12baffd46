#include <stdint.h>
#include <string.h>
#include "zero.h"

/* What a zero block is compared with: the C library's memcmp is vectorised,
 * several times faster than a loop of ours on a block that is all zeros
 * (the expensive case: every byte must be looked at). Read only. */
static const unsigned char zeros[16384];

int is_zero(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t a, b;

	/* Most metadata blocks are not zero: decide on the first bytes. */
	if (len >= 16) {
		memcpy(&a, c, 8);
		memcpy(&b, c + 8, 8);
		if (a | b)
			return 0;
	}
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (memcmp(c, zeros, n))
			return 0;
		c += n;
		len -= n;
	}
	return 1;
}
