/* Finding blocks of zeros, which sparse outputs leave as holes. */
#ifndef E2I_ZERO_H
#define E2I_ZERO_H

#include <stddef.h>

/* True when len bytes at p are all zero. */
int is_zero(const void *p, size_t len);

#endif
