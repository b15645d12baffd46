/*
 * A JSON writer for --report: members added in order, strings escaped
 * (RFC 8259: quotes, backslashes and every control byte; bytes that are
 * not UTF-8, as a file name may hold, become U+FFFD, and json_path adds the
 * exact bytes in hex beside them), integers as integers. Indented two
 * spaces a level, or on one line. Text growth as in text.h: checked once,
 * at json_end.
 */
#ifndef E2I_JSON_H
#define E2I_JSON_H

#include <stdint.h>
#include "text.h"

#define JSON_MAX_DEPTH 8

struct json {
	struct text t;
	int pretty;
	int depth;    /* containers open, the top level's included */
	int fresh;    /* the open object or array has no member yet */
	char open[JSON_MAX_DEPTH];   /* how each open one is closed */
};

/* Starts the top-level object. */
void json_begin(struct json *j, int pretty);
/* A member (key: NULL inside an array) that is an object or an array,
 * closed by json_close. */
void json_object(struct json *j, const char *key);
void json_array(struct json *j, const char *key);
void json_close(struct json *j);
/* Members; a NULL string is null. */
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_int(struct json *j, const char *key, long long v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* Seconds and the like, with 3 decimals. */
void json_seconds(struct json *j, const char *key, double v);
/* A path or name: the string, and when its bytes are not UTF-8, KEY_hex
 * with them all, so nothing is lost. */
void json_path(struct json *j, const char *key, const char *v);
/* Closes the top-level object: the text (malloc'd, a newline at its end),
 * or NULL on ENOMEM. */
char *json_end(struct json *j);

#endif
