/*
 * One error per job: the com_err code and the words that say what was
 * being done to which file ("while writing block 12 to out.raw"). Set once,
 * where the file name is known; printed once, by the command.
 */
#ifndef E2I_ERROR_H
#define E2I_ERROR_H

#include <ext2fs/ext2fs.h>

struct e2i_error {
	errcode_t code;
	char what[512];
};

/* Records the first error only; returns code so callers can `return`. */
errcode_t e2i_seterr(struct e2i_error *e, errcode_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
