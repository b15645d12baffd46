/* A minimal TAP emitter for the C unit tests: "ok N - name" per check. */
#ifndef E2I_TAP_H
#define E2I_TAP_H

#include <stdio.h>

struct tap {
	int n;
	int failed;
};

#define TAP_CHECK(t, cond, name) do {					\
	(t)->n++;							\
	if (cond) {							\
		printf("ok %d - %s\n", (t)->n, (name));			\
	} else {							\
		(t)->failed++;						\
		printf("not ok %d - %s (%s:%d: %s)\n", (t)->n, (name),	\
		       __FILE__, __LINE__, #cond);			\
	}								\
} while (0)

static inline int tap_done(struct tap *t)
{
	printf("1..%d\n", t->n);
	return t->failed ? 1 : 0;
}

#endif
