#include <stdio.h>
#include <string.h>
#include "json.h"

/* Length of the valid UTF-8 sequence at p (left bytes there), or 0: no
 * overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	for (; left; p += n, left -= n)
		if (!(n = utf8_len(p, left)))
			return 0;
	return 1;
}

static void quoted(struct text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	text_put(t, "\"", 1);
	for (; left; p += n, left -= n) {
		n = utf8_len(p, left);
		if (!n) {
			n = 1;
			text_put(t, "\xef\xbf\xbd", 3);   /* U+FFFD */
		} else if (*p == '"' || *p == '\\') {
			text_add(t, "\\%c", *p);
		} else if (*p == '\n') {
			text_put(t, "\\n", 2);
		} else if (*p == '\t') {
			text_put(t, "\\t", 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			text_add(t, "\\u%04x", *p);   /* a terminal's escapes too */
		} else {
			text_put(t, (const char *)p, n);
		}
	}
	text_put(t, "\"", 1);
}

/* The separator, the indent and the key of the next member. */
static void member(struct json *j, const char *key)
{
	if (!j->fresh)
		text_put(&j->t, ",", 1);
	j->fresh = 0;
	if (j->pretty)
		text_add(&j->t, "\n%*s", 2 * j->depth, "");
	if (key) {
		quoted(&j->t, key);
		text_put(&j->t, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	}
}

static void open_with(struct json *j, const char *key, char open, char close)
{
	member(j, key);
	text_put(&j->t, &open, 1);
	if (j->depth < JSON_MAX_DEPTH)
		j->open[j->depth] = close;
	j->depth++;
	j->fresh = 1;
}

void json_begin(struct json *j, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->pretty = pretty;
	j->fresh = 1;
	text_put(&j->t, "{", 1);
	j->depth = 1;
}

void json_object(struct json *j, const char *key)
{
	open_with(j, key, '{', '}');
}

void json_array(struct json *j, const char *key)
{
	open_with(j, key, '[', ']');
}

void json_close(struct json *j)
{
	if (j->depth <= 1)
		return;   /* json_end closes the top level */
	j->depth--;
	if (j->pretty && !j->fresh)
		text_add(&j->t, "\n%*s", 2 * j->depth, "");
	text_put(&j->t, j->depth < JSON_MAX_DEPTH ? &j->open[j->depth] : "}", 1);
	j->fresh = 0;
}

void json_str(struct json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		quoted(&j->t, v);
	else
		text_put(&j->t, "null", 4);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	text_add(&j->t, "%llu", (unsigned long long)v);
}

void json_int(struct json *j, const char *key, long long v)
{
	member(j, key);
	text_add(&j->t, "%lld", v);
}

void json_bool(struct json *j, const char *key, int v)
{
	member(j, key);
	text_add(&j->t, "%s", v ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
	json_str(j, key, NULL);
}

void json_seconds(struct json *j, const char *key, double v)
{
	member(j, key);
	text_add(&j->t, "%.3f", v < 0 ? 0.0 : v);
}

void json_path(struct json *j, const char *key, const char *v)
{
	char hexkey[64];
	const unsigned char *p;

	json_str(j, key, v);
	if (!v || is_utf8(v))
		return;
	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	member(j, hexkey);
	text_put(&j->t, "\"", 1);
	for (p = (const unsigned char *)v; *p; p++)
		text_add(&j->t, "%02x", *p);
	text_put(&j->t, "\"", 1);
}

char *json_end(struct json *j)
{
	while (j->depth > 1)
		json_close(j);
	if (j->pretty)
		text_put(&j->t, "\n", 1);
	text_put(&j->t, "}\n", 2);
	return text_take(&j->t);
}
