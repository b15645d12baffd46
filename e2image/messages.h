/* Messages to the user: always stderr, "e2image: <reason> while <doing> <file>". */
#ifndef E2I_MESSAGES_H
#define E2I_MESSAGES_H

#include <ext2fs/ext2fs.h>

#define PROGRAM "e2image"

/* "e2image: <text>" */
void msg_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "e2image: <reason for code> <text>" */
void msg_err(errcode_t code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
