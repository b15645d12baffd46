#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "manifest.h"
#include "plan.h"
#include "text.h"

static void record(void *arg, enum warn_kind k, uint64_t n, uint64_t subject,
		   const char *msg)
{
	struct manifest *m = arg;

	if (m->nproblems < MANIFEST_KEPT_PROBLEMS &&
	    (m->problems || (m->problems = calloc(MANIFEST_KEPT_PROBLEMS,
						  sizeof(*m->problems))))) {
		m->problems[m->kept++] = (struct manifest_problem){
			k, n, subject, strdup(msg) };
	}
	m->nproblems++;
	sha256_update(&m->problems_hash, strlen(msg), (const uint8_t *)msg);
	sha256_update(&m->problems_hash, 1, (const uint8_t *)"\n");
}

time_t manifest_now(void)
{
	const char *fixed = getenv("SOURCE_DATE_EPOCH");
	char *end;
	time_t t;

	/* reproducible images on demand, as reproducible builds do it */
	if (!fixed || !*fixed)
		return time(NULL);
	t = (time_t)strtoll(fixed, &end, 10);
	return *end ? time(NULL) : t;
}

void manifest_init(struct manifest *m, struct e2i_warnings *w)
{
	memset(m, 0, sizeof(*m));
	m->when = manifest_now();
	sha256_init(&m->problems_hash);
	w->record = record;
	w->record_arg = m;
}

void manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->kept; i++)
		free(m->problems[i].msg);
	free(m->problems);
	m->problems = NULL;
	m->kept = 0;
}

/* key: value, the value's control bytes and backslashes as \xNN: a path
 * holding a newline must not add a line (a key) of its own. */
static void add_escaped(struct text *t, const char *key, const char *v)
{
	text_add(t, "%s: ", key);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c == 0x7f || c == '\\')
			text_add(t, "\\x%02x", c);
		else
			text_add(t, "%c", c);
	}
	text_add(t, "\n");
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
	text_add(t, "blocks-%s: %llu\n", key, (unsigned long long)n);
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

void manifest_uuid(const unsigned char u[16], char out[37])
{
	int i, k = 0;

	for (i = 0; i < 16; i++)
		k += snprintf(out + k, 37 - k, "%s%02x",
			      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
}

static void add_identity(struct text *t, const struct plan *p)
{
	struct ext2_super_block *sb = p->fs->super;
	const char *ver = "?", *date = "?";
	char uuid[37];

	ext2fs_get_library_version(&ver, &date);
	text_add(t, "tool: e2image-ng %s\n", PACKAGE_VERSION);
	text_add(t, "libext2fs: %s (%s)\n", ver, date);
	add_escaped(t, "source", p->o->device);
	text_add(t, "source-bytes: %llu\n", (unsigned long long)p->src.size);
	manifest_uuid(sb->s_uuid, uuid);
	/* what --anonymize=uuid hides is not written next to the image */
	text_add(t, "uuid: %s\n", p->o->anonymize == 2 ? "(replaced)" : uuid);
	text_add(t, "features: compat 0x%x incompat 0x%x ro_compat 0x%x\n",
	    sb->s_feature_compat, sb->s_feature_incompat,
	    sb->s_feature_ro_compat);
}

static void add_source_keys(struct text *t, const struct plan *p)
{
	const struct options *o = p->o;

	text_add(t, "capture: %s\n", o->all_data ? "all data (-a)" : "metadata");
	text_add(t, "names: %s\n", names_mode(o));
	if (o->superblock || p->backup_sb)
		text_add(t, "superblock: %llu\n", (unsigned long long)(o->superblock ?
			o->superblock : p->backup_sb));
	text_add(t, "src-offset: %llu\n", (unsigned long long)o->src_offset);
}

static void add_options(struct text *t, const struct plan *p,
			const char *format)
{
	text_add(t, "format: %s\n", format);
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
		text_add(t, "problems: %llu\n", (unsigned long long)m->nproblems);
		return;
	}
	text_add(t, "problems: %llu (inodes %llu, groups %llu, blocks %llu, other %llu)\n",
	    (unsigned long long)m->nproblems,
	    (unsigned long long)w->count[WARN_INODE],
	    (unsigned long long)w->count[WARN_GROUP],
	    (unsigned long long)w->count[WARN_BLOCK],
	    (unsigned long long)w->count[WARN_OTHER]);
	if (compact)
		return;
	for (i = 0; i < m->kept && i < MANIFEST_MAX_PROBLEMS; i++)
		text_add(t, "problem: %s\n", m->problems[i].msg ? m->problems[i].msg : "?");
	if (m->nproblems > MANIFEST_MAX_PROBLEMS) {
		hex_of(&c, hex);
		text_add(t, "problems-sha256: %s (all %llu, each line and a newline)\n",
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

	text_add(&t, "e2image-manifest: %s\n", MANIFEST_VERSION);
	if (compact)
		text_add(&t, "compact: yes\n");
	if (!compact)
		add_identity(&t, p);
	gmtime_r(&m->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text_add(&t, "time: %s\n", when);
	if (!compact)
		add_options(&t, p, format);
	else   /* what --verify --source needs to read the source alike */
		add_source_keys(&t, p);
	text_add(&t, "block-size: %u\n", p->fs->blocksize);
	text_add(&t, "blocks: %llu\n", (unsigned long long)ext2fs_blocks_count(p->fs->super));
	text_add(&t, "dest-offset: %llu\n", (unsigned long long)o->dest_offset);
	text_add(&t, "captured-blocks: %llu\n", (unsigned long long)p->blocks.captured);
	for (c2 = 0; !compact && c2 < BC_COUNT; c2++)
		if (p->blocks.per_class[c2])
			add_class_key(&t, c2, p->blocks.per_class[c2]);
	add_problems(&t, m, p, compact);
	text_add(&t, "image-bytes: %llu\n", (unsigned long long)
	    (ext2fs_blocks_count(p->fs->super) * p->fs->blocksize));
	if (m->digest_used) {
		struct image_digest dd = m->digest;   /* callable twice */

		if (digest_final(&dd, ext2fs_blocks_count(p->fs->super) *
				 p->fs->blocksize, d) == 0) {
			digest_hex(d, hex);
			text_add(&t, "digest-sha256: %s\n", hex);
			if (!compact)
				text_add(&t, "nonzero-blocks: %llu\n", (unsigned long long)dd.nonzero);
		} else {
			text_add(&t, "digest-sha256: none (blocks came out of order)\n");
		}
	} else {
		/* the reason in full only where there is room for it */
		text_add(&t, "digest-sha256: none (%s)\n", compact ? "not taken" :
		    m->no_digest ? m->no_digest : "not computed");
	}
	if (t.failed)
		return text_take(&t);
	sha256_init(&c);
	sha256_update(&c, t.len, (const uint8_t *)t.s);
	hex_of(&c, hex);
	text_add(&t, "manifest-sha256: %s\n", hex);
	return text_take(&t);
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
