#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>
#include "digest.h"
#include "nls.h"
#include "verify_manifest.h"

/* The value of "key: value" (the first such line), or NULL. */
static const char *value(const char *text, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');

		if (!strncmp(p, key, kl) && p[kl] == ':' && p[kl + 1] == ' ') {
			p += kl + 2;
			*len = eol ? (size_t)(eol - p) : strlen(p);
			return p;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static int number(const char *text, const char *key, uint64_t *v, int need)
{
	size_t len;
	const char *p = value(text, key, &len);
	char *end;

	if (!p)
		return need ? -1 : 0;
	*v = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

/* The last line must be the SHA-256 of the lines before it. */
static int self_check(const char *text, char *why, size_t whylen)
{
	const char *tag = "manifest-sha256: ", *last = strstr(text, tag), *p;
	struct sha256_ctx c;
	unsigned char d[IMAGE_DIGEST_BYTES];
	char hex[65];

	while (last && (p = strstr(last + 1, tag)))
		last = p;
	if (!last || (last != text && last[-1] != '\n')) {
		snprintf(why, whylen, _("it has no manifest-sha256 line (cut short?)"));
		return 1;
	}
	sha256_init(&c);
	sha256_update(&c, (size_t)(last - text), (const uint8_t *)text);
	sha256_digest(&c, sizeof(d), d);
	digest_hex(d, hex);
	if (strncmp(last + strlen(tag), hex, 64) != 0 ||
	    strcmp(last + strlen(tag) + 64, "\n") != 0) {
		snprintf(why, whylen, _("it was altered: its lines do not match its manifest-sha256"));
		return 1;
	}
	return 0;
}

/* 1 when a key the verdict rests on is given twice: value() reads the
 * first, and a second one (once a path could add lines) must not be a
 * way to say something else. */
static int duplicated(const char *text)
{
	static const char *const keys[] = {
		"block-size", "blocks", "image-bytes", "dest-offset", "problems",
		"captured-blocks", "src-offset", "superblock", "digest-sha256",
		"names", "capture", "compact",
	};
	size_t i, len;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *p = value(text, keys[i], &len);

		if (p && value(p + len, keys[i], &len))
			return 1;
	}
	return 0;
}

int vmanifest_parse(struct vmanifest *m, char *text, const char *where,
		    char *why, size_t whylen)
{
	uint64_t bs = 0;
	size_t len;
	const char *p;

	memset(m, 0, sizeof(*m));
	m->text = text;
	m->where = where;
	if (strncmp(text, "e2image-manifest: 1\n", 20) != 0) {
		snprintf(why, whylen, _("it is not an e2image manifest of version 1"));
		return 1;
	}
	if (self_check(text, why, whylen))
		return 1;
	if (duplicated(text)) {
		snprintf(why, whylen, _("a line --verify needs is given twice"));
		return 1;
	}
	m->compact = value(text, "compact", &len) != NULL;
	if (number(text, "block-size", &bs, 1) || bs < 512 || bs > 65536 ||
	    number(text, "blocks", &m->blocks, 1) ||
	    number(text, "image-bytes", &m->image_bytes, 1) ||
	    number(text, "dest-offset", &m->dest_offset, 1) ||
	    number(text, "problems", &m->problems, 1) ||
	    number(text, "captured-blocks", &m->captured, 1) ||
	    number(text, "src-offset", &m->src_offset, 0) ||
	    number(text, "superblock", &m->superblock, 0) ||
	    !(p = value(text, "digest-sha256", &len))) {
		snprintf(why, whylen, _("a line --verify needs is missing or malformed"));
		return 1;
	}
	m->blocksize = (unsigned)bs;
	if (len == 64 && strspn(p, "0123456789abcdef") >= 64)
		memcpy(m->digest, p, 64);
	else
		m->no_digest = p;
	p = value(text, "names", &len);
	m->names_kept = p && len == 4 && !strncmp(p, "kept", 4);
	p = value(text, "capture", &len);
	m->all_data = p && !strncmp(p, "all data", 8);
	return 0;
}

void vmanifest_free(struct vmanifest *m)
{
	free(m->text);
	m->text = NULL;
}
