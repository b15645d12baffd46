#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "manifest.h"
#include "plan.h"

static void record(void *arg, enum warn_kind k, uint64_t n, const char *msg)
{
	struct manifest *m = arg;

	(void)k;
	(void)n;
	if (m->nproblems < MANIFEST_MAX_PROBLEMS)
		m->problems[m->nproblems] = strdup(msg);
	m->nproblems++;
	sha256_update(&m->problems_hash, strlen(msg), (const uint8_t *)msg);
	sha256_update(&m->problems_hash, 1, (const uint8_t *)"\n");
}

void manifest_init(struct manifest *m, struct e2i_warnings *w)
{
	const char *fixed = getenv("SOURCE_DATE_EPOCH");
	char *end;

	memset(m, 0, sizeof(*m));
	/* reproducible images on demand, as reproducible builds do it */
	m->when = fixed && *fixed ? (time_t)strtoll(fixed, &end, 10) : time(NULL);
	if (fixed && *fixed && *end)
		m->when = time(NULL);
	sha256_init(&m->problems_hash);
	w->record = record;
	w->record_arg = m;
}

void manifest_free(struct manifest *m)
{
	uint64_t i;

	for (i = 0; i < m->nproblems && i < MANIFEST_MAX_PROBLEMS; i++)
		free(m->problems[i]);
	memset(m->problems, 0, sizeof(m->problems));
}

/* A growing string; on ENOMEM it stays NULL and every add is a no-op. */
struct text {
	char *s;
	size_t len, cap;
	int failed;
};

static void add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if (!(grown = realloc(t->s, t->cap))) {
			t->failed = 1;   /* t->s is freed by the caller */
			return;
		}
		t->s = grown;
	}
}

/* key: value, the value's control bytes and backslashes as \xNN: a path
 * holding a newline must not add a line (a key) of its own. */
static void add_escaped(struct text *t, const char *key, const char *v)
{
	add(t, "%s: ", key);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c == 0x7f || c == '\\')
			add(t, "\\x%02x", c);
		else
			add(t, "%c", c);
	}
	add(t, "\n");
}

static void hex_of(struct sha256_ctx *c, char out[65])
{
	unsigned char d[IMAGE_DIGEST_BYTES];

	sha256_digest(c, sizeof(d), d);
	digest_hex(d, out);
}

static void add_class_key(struct text *t, enum block_class c, uint64_t n)
{
	char key[64];
	size_t i;

	snprintf(key, sizeof(key), "%s", block_class_name(c));
	for (i = 0; key[i]; i++)
		if (key[i] == ' ')
			key[i] = '-';
	add(t, "blocks-%s: %llu\n", key, (unsigned long long)n);
}

static const char *names_mode(const struct options *o)
{
	if (o->scramble)
		return "scrambled (-s)";
	if (o->anonymize == 2)
		return "anonymized, new uuid (--anonymize=uuid)";
	if (o->anonymize)
		return "anonymized (--anonymize)";
	return "kept";
}

static void add_identity(struct text *t, const struct plan *p)
{
	struct ext2_super_block *sb = p->fs->super;
	const char *ver = "?", *date = "?";
	char uuid[37];
	int i, k = 0;

	ext2fs_get_library_version(&ver, &date);
	add(t, "tool: e2image-ng %s\n", PACKAGE_VERSION);
	add(t, "libext2fs: %s (%s)\n", ver, date);
	add_escaped(t, "source", p->o->device);
	add(t, "source-bytes: %llu\n", (unsigned long long)p->src.size);
	for (i = 0; i < 16; i++)
		k += snprintf(uuid + k, sizeof(uuid) - k, "%s%02x",
			      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			      sb->s_uuid[i]);
	/* what --anonymize=uuid hides is not written next to the image */
	add(t, "uuid: %s\n", p->o->anonymize == 2 ? "(replaced)" : uuid);
	add(t, "features: compat 0x%x incompat 0x%x ro_compat 0x%x\n",
	    sb->s_feature_compat, sb->s_feature_incompat,
	    sb->s_feature_ro_compat);
}

static void add_source_keys(struct text *t, const struct plan *p)
{
	const struct options *o = p->o;

	add(t, "capture: %s\n", o->all_data ? "all data (-a)" : "metadata");
	add(t, "names: %s\n", names_mode(o));
	if (o->superblock || p->backup_sb)
		add(t, "superblock: %llu\n", (unsigned long long)(o->superblock ?
			o->superblock : p->backup_sb));
	add(t, "src-offset: %llu\n", (unsigned long long)o->src_offset);
}

static void add_options(struct text *t, const struct plan *p,
			const char *format)
{
	add(t, "format: %s\n", format);
	add_source_keys(t, p);
}

static void add_problems(struct text *t, struct manifest *m,
			 const struct plan *p, int compact)
{
	const struct e2i_warnings *w = &p->warn;
	struct sha256_ctx c = m->problems_hash;   /* the list goes on */
	char hex[65];
	uint64_t i;

	if (compact) {  /* 512-byte clusters: every byte counts */
		add(t, "problems: %llu\n", (unsigned long long)m->nproblems);
		return;
	}
	add(t, "problems: %llu (inodes %llu, groups %llu, blocks %llu, other %llu)\n",
	    (unsigned long long)m->nproblems,
	    (unsigned long long)w->count[WARN_INODE],
	    (unsigned long long)w->count[WARN_GROUP],
	    (unsigned long long)w->count[WARN_BLOCK],
	    (unsigned long long)w->count[WARN_OTHER]);
	if (compact)
		return;
	for (i = 0; i < m->nproblems && i < MANIFEST_MAX_PROBLEMS; i++)
		add(t, "problem: %s\n", m->problems[i] ? m->problems[i] : "?");
	if (m->nproblems > MANIFEST_MAX_PROBLEMS) {
		hex_of(&c, hex);
		add(t, "problems-sha256: %s (all %llu, each line and a newline)\n",
		    hex, (unsigned long long)m->nproblems);
	}
}

char *manifest_text(struct manifest *m, const struct plan *p,
		    const char *format, int compact)
{
	const struct options *o = p->o;
	struct text t = { 0 };
	struct sha256_ctx c;
	unsigned char d[IMAGE_DIGEST_BYTES];
	char hex[65], when[32];
	struct tm tm;
	int c2;

	add(&t, "e2image-manifest: %s\n", MANIFEST_VERSION);
	if (compact)
		add(&t, "compact: yes\n");
	if (!compact)
		add_identity(&t, p);
	gmtime_r(&m->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	add(&t, "time: %s\n", when);
	if (!compact)
		add_options(&t, p, format);
	else   /* what --verify --source needs to read the source alike */
		add_source_keys(&t, p);
	add(&t, "block-size: %u\n", p->fs->blocksize);
	add(&t, "blocks: %llu\n", (unsigned long long)ext2fs_blocks_count(p->fs->super));
	add(&t, "dest-offset: %llu\n", (unsigned long long)o->dest_offset);
	add(&t, "captured-blocks: %llu\n", (unsigned long long)p->blocks.captured);
	for (c2 = 0; !compact && c2 < BC_COUNT; c2++)
		if (p->blocks.per_class[c2])
			add_class_key(&t, c2, p->blocks.per_class[c2]);
	add_problems(&t, m, p, compact);
	add(&t, "image-bytes: %llu\n", (unsigned long long)
	    (ext2fs_blocks_count(p->fs->super) * p->fs->blocksize));
	if (m->digest_used) {
		struct image_digest dd = m->digest;   /* callable twice */

		if (digest_final(&dd, ext2fs_blocks_count(p->fs->super) *
				 p->fs->blocksize, d) == 0) {
			digest_hex(d, hex);
			add(&t, "digest-sha256: %s\n", hex);
			if (!compact)
				add(&t, "nonzero-blocks: %llu\n", (unsigned long long)dd.nonzero);
		} else {
			add(&t, "digest-sha256: none (blocks came out of order)\n");
		}
	} else {
		/* the reason in full only where there is room for it */
		add(&t, "digest-sha256: none (%s)\n", compact ? "not taken" :
		    m->no_digest ? m->no_digest : "not computed");
	}
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	sha256_init(&c);
	sha256_update(&c, t.len, (const uint8_t *)t.s);
	hex_of(&c, hex);
	add(&t, "manifest-sha256: %s\n", hex);
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

int manifest_write_file(const char *path, const char *text)
{
	char *tmp = NULL;
	size_t len = strlen(text);
	ssize_t w;
	int fd, e = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		free(tmp);
		return e;
	}
	if (fchmod(fd, 0644))
		e = errno;
	else if ((w = write(fd, text, len)) != (ssize_t)len)
		e = w < 0 ? errno : ENOSPC;  /* short: errno says nothing */
	if (close(fd) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e)
		unlink(tmp);
	free(tmp);
	return e;
}
