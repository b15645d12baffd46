/* A growing string for the texts that go with an image (the manifest, the
 * report): on ENOMEM it stops growing, says so in failed, and every later
 * add does nothing, so a text is checked once, at its end. */
#ifndef E2I_TEXT_H
#define E2I_TEXT_H

#include <stddef.h>

struct text {
	char *s;
	size_t len, cap;
	int failed;
};

void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* n bytes as they are (NULs included). */
void text_put(struct text *t, const char *p, size_t n);
/* The string, NUL-terminated and the caller's to free; NULL on ENOMEM
 * (the text is freed). */
char *text_take(struct text *t);

#endif
