#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

/* Room for n more bytes and a NUL. */
static int grow(struct text *t, size_t n)
{
	char *grown;
	size_t cap;

	if (t->failed)
		return 0;
	if (t->s && t->len + n < t->cap)
		return 1;
	cap = (t->cap + n + 1) * 2;
	if (!(grown = realloc(t->s, cap))) {
		t->failed = 1;   /* t->s is freed by text_take */
		return 0;
	}
	t->s = grown;
	t->cap = cap;
	return 1;
}

void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!grow(t, 0))
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->failed = 1;
		return;
	}
	if (t->len + (size_t)n < t->cap) {
		t->len += (size_t)n;
		return;
	}
	if (!grow(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void text_put(struct text *t, const char *p, size_t n)
{
	if (!grow(t, n))
		return;
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = 0;
}

char *text_take(struct text *t)
{
	char *s = t->s;

	if (!t->failed && !s)
		s = calloc(1, 1);
	if (t->failed) {
		free(s);
		s = NULL;
	}
	memset(t, 0, sizeof(*t));
	return s;
}
