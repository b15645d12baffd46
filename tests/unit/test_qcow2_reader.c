/* Unit tests of the qcow2 header codec and the qcow2 reader, on small
 * images built in memory and written to a memfd. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include "qcow2/qcow2.h"
#include "qcow2/reader.h"
#include "tap.h"

#define CB 12
#define CS (1u << CB)
#define VSIZE (1u << 20)          /* 256 clusters, one L2 table */
#define NCL 10                    /* clusters in the file */
#define L1_OFF (3 * CS)
#define L2_OFF (4 * CS)
#define COMP_OFF (7 * CS + 100)

static struct tap t;

struct img {
	unsigned char b[NCL * CS];
	size_t len;
	unsigned char want[VSIZE];
};

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 9));
}

static void l2_set(struct img *m, unsigned idx, uint64_t e)
{
	qcow2_put64(m->b + L2_OFF + idx * 8, e);
}

/* A valid image: guest clusters 0-1 plain and contiguous, 10 compressed,
 * 20 zero (v3) or unallocated (v2), 255 plain. */
static void build(struct img *m, unsigned version)
{
	struct qcow2_header h;
	z_stream zs;
	unsigned char src[CS];
	size_t clen;

	memset(m, 0, sizeof(*m));
	memset(&h, 0, sizeof(h));
	h.magic = QCOW2_MAGIC;
	h.version = version;
	h.cluster_bits = CB;
	h.size = VSIZE;
	h.l1_size = 1;
	h.l1_table_offset = L1_OFF;
	h.refcount_table_offset = CS;
	h.refcount_table_clusters = 1;
	h.refcount_order = 4;
	qcow2_header_encode(&h, m->b, CS);
	qcow2_put64(m->b + CS, 2 * CS);                       /* refblock */
	qcow2_put64(m->b + L1_OFF, L2_OFF | QCOW2_OFLAG_COPIED);
	fill(m->b + 5 * CS, 2 * CS, 1);
	memcpy(m->want, m->b + 5 * CS, 2 * CS);
	l2_set(m, 0, 5 * CS | QCOW2_OFLAG_COPIED);
	l2_set(m, 1, 6 * CS | QCOW2_OFLAG_COPIED);
	/* Compressed: raw deflate, as qemu writes it. */
	memset(src, 'q', sizeof(src));
	fill(src, 64, 2);
	memcpy(m->want + 10 * CS, src, CS);
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY);
	zs.next_in = src;
	zs.avail_in = CS;
	zs.next_out = m->b + COMP_OFF;
	zs.avail_out = CS;
	deflate(&zs, Z_FINISH);
	clen = CS - zs.avail_out;
	deflateEnd(&zs);
	l2_set(m, 10, QCOW2_OFLAG_COMPRESSED | COMP_OFF |
	       ((uint64_t)((COMP_OFF + clen - 1) / 512 - COMP_OFF / 512)
		<< (62 - (CB - 8))));
	if (version >= 3)
		l2_set(m, 20, 8 * CS | QCOW2_OFLAG_ZERO);    /* ZERO_ALLOC */
	fill(m->b + 8 * CS, CS, 3);
	memcpy(m->want + 255 * CS, m->b + 8 * CS, CS);
	l2_set(m, 255, 8 * CS | QCOW2_OFLAG_COPIED);
	m->len = 9 * CS;
}

static int to_fd(const struct img *m)
{
	int fd = memfd_create("qcow2", 0);

	if (fd < 0 || write(fd, m->b, m->len) != (ssize_t)m->len) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

struct collect {
	unsigned char out[VSIZE];
	unsigned calls;
	size_t first_len;
	int bad;
	int stop_with;
	volatile sig_atomic_t *raise;   /* set during the first call */
};

static int collect_cb(void *arg, uint64_t off, const void *data, size_t len)
{
	struct collect *c = arg;

	if (off + len > VSIZE || len == 0) {
		c->bad = 1;
		return 1;
	}
	if (!c->calls++)
		c->first_len = len;
	memcpy(c->out + off, data, len);
	if (c->raise)
		*c->raise = SIGINT;
	return c->stop_with;
}

/* Opens m; expects failure with `phrase` in the message, or success when
 * phrase is NULL. */
static void expect_open(const struct img *m, const char *phrase, const char *name)
{
	struct qcow2_reader *r = NULL;
	char err[512] = "";
	int fd = to_fd(m);
	int rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));

	if (phrase) {
		TAP_CHECK(&t, rc == -1 && !r && strstr(err, phrase), name);
		if (!(rc == -1 && strstr(err, phrase)))
			printf("# got: rc=%d '%s', wanted '%s'\n", rc, err, phrase);
	} else {
		TAP_CHECK(&t, rc == 0 && r, name);
	}
	qcow2_reader_close(r);
	close(fd);
}

static void test_header(void)
{
	struct qcow2_header a, b;
	unsigned char buf[256];
	size_t n;

	memset(&a, 0, sizeof(a));
	a.magic = QCOW2_MAGIC;
	a.version = 2;
	a.cluster_bits = 16;
	a.size = 123456789ull << 9;
	a.l1_size = 7;
	a.l1_table_offset = 3 << 16;
	a.refcount_table_offset = 1 << 16;
	a.refcount_table_clusters = 1;
	a.refcount_order = 4;
	a.header_length = 72;
	n = qcow2_header_encode(&a, buf, sizeof(buf));
	TAP_CHECK(&t, n == 72, "header: v2 encodes to 72 bytes");
	TAP_CHECK(&t, qcow2_header_decode(&b, buf, n) == 0 &&
		  memcmp(&a, &b, sizeof(a)) == 0, "header: v2 round trip");
	a.version = 3;
	a.incompatible_features = QCOW2_INCOMPAT_COMPRESSION;
	a.compatible_features = 1;
	a.autoclear_features = 2;
	a.compression_type = QCOW2_COMPRESS_ZSTD;
	a.header_length = 112;
	n = qcow2_header_encode(&a, buf, sizeof(buf));
	TAP_CHECK(&t, n == 112, "header: v3 encodes to 112 bytes");
	TAP_CHECK(&t, qcow2_header_decode(&b, buf, n) == 0 &&
		  memcmp(&a, &b, sizeof(a)) == 0, "header: v3 round trip");
	TAP_CHECK(&t, qcow2_header_decode(&b, buf, 100) == -1,
		  "header: a v3 header cut short is refused");
	TAP_CHECK(&t, qcow2_probe(buf, 4) && !qcow2_probe(buf, 3) &&
		  !qcow2_probe((const unsigned char *)"\x7f" "ELF", 4),
		  "probe: the magic, and only it");
}

static void test_read(unsigned version)
{
	static struct img m;
	static struct collect c;
	struct qcow2_reader *r = NULL;
	char err[512] = "", name[128];
	int fd, rc;

	build(&m, version);
	fd = to_fd(&m);
	rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));
	snprintf(name, sizeof(name), "read v%u: opens (%s)", version, err);
	TAP_CHECK(&t, rc == 0, name);
	if (rc) {
		close(fd);
		return;
	}
	TAP_CHECK(&t, qcow2_reader_size(r) == VSIZE &&
		  qcow2_reader_cluster_size(r) == CS, "read: size and cluster size");
	TAP_CHECK(&t, qcow2_reader_allocated(r) == 4,
		  "read: 4 allocated clusters (zero and unallocated not counted)");
	memset(&c, 0, sizeof(c));
	rc = qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err));
	TAP_CHECK(&t, rc == 0 && !c.bad, "read: each succeeds");
	TAP_CHECK(&t, memcmp(c.out, m.want, VSIZE) == 0, "read: the guest bytes are right");
	TAP_CHECK(&t, c.calls == 3 && c.first_len == 2 * CS,
		  "read: contiguous clusters come as one range");
	memset(&c, 0, sizeof(c));
	c.stop_with = 7;
	TAP_CHECK(&t, qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err)) == 7 &&
		  c.calls == 1, "read: a callback's non-zero return stops the walk");
	qcow2_reader_close(r);
	close(fd);
}

static void test_partial_last_cluster(void)
{
	static struct img m;
	static struct collect c;
	struct qcow2_reader *r = NULL;
	char err[512];
	int fd;

	build(&m, 3);
	m.len = 8 * CS + 100;              /* the file ends inside cluster 8 */
	memset(m.want + 255 * CS + 100, 0, CS - 100);
	fd = to_fd(&m);
	memset(&c, 0, sizeof(c));
	TAP_CHECK(&t, qcow2_reader_open(fd, &r, NULL, err, sizeof(err)) == 0 &&
		  qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err)) == 0 &&
		  memcmp(c.out, m.want, VSIZE) == 0,
		  "read: past the end of the file, the last cluster reads as zeros");
	qcow2_reader_close(r);
	close(fd);
}

static void test_bad_compressed(void)
{
	static struct img m;
	static struct collect c;
	struct qcow2_reader *r = NULL;
	char err[512] = "";
	int fd, rc;

	build(&m, 3);
	memset(m.b + COMP_OFF, 0xff, 64);
	fd = to_fd(&m);
	memset(&c, 0, sizeof(c));
	rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));
	if (!rc)
		rc = qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err));
	TAP_CHECK(&t, rc == -1 && strstr(err, "is corrupt"),
		  "read: garbage compressed data is an error");
	qcow2_reader_close(r);
	close(fd);
}

static void test_rules(void)
{
	static struct img m;

#define MUT(ver, stmt, phrase, name) do { build(&m, ver); stmt; expect_open(&m, phrase, name); } while (0)
	MUT(3, (void)0, NULL, "rules: the valid v3 image opens");
	MUT(2, (void)0, NULL, "rules: the valid v2 image opens");
	MUT(3, m.len = 50, "too short for a qcow2 header", "rules: short header");
	MUT(3, m.b[0] = 'X', "bad magic", "rules: bad magic");
	MUT(3, qcow2_put32(m.b + 4, 1), "version 1", "rules: version 1");
	MUT(3, qcow2_put32(m.b + 4, 4), "version 4", "rules: version 4");
	MUT(3, qcow2_put32(m.b + 20, 8), "cluster size 2^8", "rules: cluster_bits 8");
	MUT(3, qcow2_put32(m.b + 20, 22), "cluster size 2^22", "rules: cluster_bits 22");
	MUT(3, qcow2_put32(m.b + 100, 100), "too short", "rules: header_length < 104");
	MUT(3, qcow2_put32(m.b + 100, 116), "multiple of 8", "rules: header_length not a multiple of 8");
	MUT(3, qcow2_put32(m.b + 100, CS + 8), "exceeds the cluster size", "rules: header_length > cluster");
	MUT(3, qcow2_put64(m.b + 72, QCOW2_INCOMPAT_DIRTY), NULL, "rules: the dirty bit is fine");
	MUT(3, qcow2_put64(m.b + 72, QCOW2_INCOMPAT_CORRUPT), "marked corrupt", "rules: corrupt bit");
	MUT(3, qcow2_put64(m.b + 72, QCOW2_INCOMPAT_DATA_FILE), "external data file", "rules: external data file");
	MUT(3, qcow2_put64(m.b + 72, QCOW2_INCOMPAT_EXTL2), "extended L2", "rules: extended L2");
	MUT(3, qcow2_put64(m.b + 72, 1ull << 40), "unknown incompatible feature bits 0x10000000000", "rules: unknown incompatible bit");
	MUT(3, m.b[104] = 1, "does not agree", "rules: zstd type without the feature bit");
	MUT(3, qcow2_put32(m.b + 96, 9), "refcount order 9", "rules: refcount order 9");
	MUT(3, qcow2_put32(m.b + 32, 2), "encrypted", "rules: encryption");
	MUT(3, qcow2_put64(m.b + 8, 1024), "backing file", "rules: backing file");
	MUT(3, qcow2_put64(m.b + 24, 0), "virtual size is 0", "rules: size 0");
	MUT(3, qcow2_put64(m.b + 24, ~0ull), "too large", "rules: size 2^64-1");
	MUT(3, qcow2_put64(m.b + 24, (1ull << 56) + 512), "too large", "rules: size just over 2^56");
	MUT(3, qcow2_put64(m.b + 24, 1000), "multiple of 512", "rules: size not a multiple of 512");
	MUT(3, qcow2_put64(m.b + 24, 4ull << 20), "too few", "rules: L1 too small for the size");
	MUT(3, qcow2_put32(m.b + 36, 0xffffffffu), "32 MiB", "rules: L1 of 2^32-1 entries");
	MUT(3, qcow2_put32(m.b + 36, CS), "past the end", "rules: L1 runs past the end of the file");
	MUT(3, qcow2_put64(m.b + 40, L1_OFF + 8), "not cluster-aligned", "rules: unaligned L1");
	MUT(3, qcow2_put64(m.b + 40, 0), "overlaps the header", "rules: L1 in the header");
	MUT(3, qcow2_put64(m.b + 40, 1ull << 62), "past the end", "rules: L1 far past the end");
	MUT(3, qcow2_put64(m.b + 48, CS + 512), "refcount table offset", "rules: unaligned refcount table");
	MUT(3, qcow2_put64(m.b + 48, 64 * CS), "refcount table at", "rules: refcount table past the end");
	MUT(3, qcow2_put32(m.b + 56, 0x7fffffff), "too large", "rules: huge refcount table");
	MUT(3, qcow2_put64(m.b + 48, L1_OFF), "overlaps the refcount table", "rules: L1 on the refcount table");
	MUT(3, qcow2_put64(m.b + L1_OFF, L2_OFF | 1), "reserved bits", "rules: L1 entry reserved bits");
	MUT(3, qcow2_put64(m.b + L1_OFF, (L2_OFF + 512) | QCOW2_OFLAG_COPIED), "not cluster-aligned", "rules: unaligned L2 table");
	MUT(3, qcow2_put64(m.b + L1_OFF, (100ull * CS) | QCOW2_OFLAG_COPIED), "is past the end of the file", "rules: L2 table past the end");
	MUT(3, qcow2_put64(m.b + L1_OFF, L1_OFF), "overlaps the L1 table", "rules: L2 table on the L1 table");
	MUT(3, qcow2_put64(m.b + L1_OFF, QCOW2_OFLAG_COPIED), "overlaps the header", "rules: L2 table in the header");
	MUT(3, l2_set(&m, 3, 5 * CS | 2), "reserved bits", "rules: L2 entry reserved bits");
	MUT(3, l2_set(&m, 3, 9 * CS), "past the end of the file", "rules: data cluster past the end");
	MUT(3, l2_set(&m, 3, 5 * CS + 512), "not cluster-aligned", "rules: unaligned data cluster");
	MUT(3, l2_set(&m, 3, L2_OFF), "overlaps an L2 table", "rules: data on the L2 table");
	MUT(3, l2_set(&m, 3, CS), "overlaps the refcount table", "rules: data on the refcount table");
	MUT(3, l2_set(&m, 3, QCOW2_OFLAG_COPIED), "overlaps the header", "rules: data in the header");
	MUT(2, l2_set(&m, 3, 1), "zero flag", "rules: zero flag in v2");
	MUT(3, l2_set(&m, 3, 1), NULL, "rules: zero flag in v3 is fine");
	MUT(3, l2_set(&m, 10, QCOW2_OFLAG_COMPRESSED | (9 * CS + 10)), "compressed cluster offset", "rules: compressed data past the end");
	MUT(3, l2_set(&m, 10, QCOW2_OFLAG_COMPRESSED | 200), "overlaps the header", "rules: compressed data in the header");
	MUT(3, l2_set(&m, 256, 77 * CS), NULL, "rules: entries past the virtual size are ignored");
	MUT(3, (qcow2_put32(m.b + 60, 1), qcow2_put64(m.b + 64, 2 * CS)),
	    "image has 1 internal snapshot, which is not supported", "rules: a snapshot");
	MUT(3, (qcow2_put32(m.b + 60, 3), qcow2_put64(m.b + 64, 2 * CS)),
	    "image has 3 internal snapshots, which are not supported", "rules: snapshots");
	MUT(3, qcow2_put32(m.b + 60, 1), "snapshot table offset 0x0 is invalid", "rules: a snapshot table in the header");

	/* One owner per cluster. */
	MUT(3, l2_set(&m, 3, 5 * CS | QCOW2_OFLAG_COPIED),
	    "data cluster at 0x5000 in L2 entry 3 of L1 entry 0 (guest offset 0x3000) is also used by another L2 entry",
	    "owners: a data cluster used twice in one table");
	MUT(3, (qcow2_put64(m.b + 24, 4 << 20), qcow2_put32(m.b + 36, 2),
		qcow2_put64(m.b + L1_OFF + 8, L2_OFF | QCOW2_OFLAG_COPIED)),
	    "L2 table offset 0x4000 in L1 entry 1 is also used by L1 entry 0",
	    "owners: two L1 entries share an L2 table");
	MUT(3, l2_set(&m, 3, 7 * CS),
	    "compressed cluster at 0x7064 in L2 entry 10 of L1 entry 0 (guest offset 0xa000) overlaps the data cluster at 0x7000 of another L2 entry",
	    "owners: compressed data inside a plain data cluster");
	MUT(3, l2_set(&m, 30, 7 * CS),
	    "data cluster at 0x7000 in L2 entry 30 of L1 entry 0 (guest offset 0x1e000) also holds compressed data of another L2 entry",
	    "owners: a plain data cluster on compressed data");
	MUT(3, l2_set(&m, 11, qcow2_be64(m.b + L2_OFF + 10 * 8)),
	    "compressed cluster at 0x7064 in L2 entry 11 of L1 entry 0 (guest offset 0xb000) starts at the same byte as another compressed cluster",
	    "owners: two compressed clusters start at the same byte");
	MUT(3, l2_set(&m, 11, QCOW2_OFLAG_COMPRESSED | (7 * CS + 700)), NULL,
	    "owners: compressed clusters may share a host cluster");
	/* The L2 table moved to cluster 9, right after data cluster 8, into
	 * which a compressed range now runs. */
	MUT(3, (memcpy(m.b + 9 * CS, m.b + L2_OFF, CS), m.len = 10 * CS,
		qcow2_put64(m.b + L1_OFF, 9 * CS | QCOW2_OFLAG_COPIED),
		qcow2_put64(m.b + 9 * CS + 10 * 8, QCOW2_OFLAG_COMPRESSED | (8 * CS + 4000) |
			    (1ull << (62 - (CB - 8))))),
	    "compressed cluster at 0x8fa0 in L2 entry 10 of L1 entry 0 (guest offset 0xa000) overlaps the L2 table at 0x9000",
	    "owners: a compressed range that runs into an L2 table");
#undef MUT
}

/* The stop flag: checked at open and between delivered ranges. */
static void test_stop(void)
{
	static struct img m;
	static struct collect c;
	volatile sig_atomic_t flag = SIGTERM;
	struct qcow2_reader *r = NULL;
	char err[512] = "";
	int fd, rc;

	build(&m, 3);
	fd = to_fd(&m);
	rc = qcow2_reader_open(fd, &r, &flag, err, sizeof(err));
	TAP_CHECK(&t, rc == QCOW2_STOPPED && !r && strstr(err, "interrupted"),
		  "stop: a raised flag stops the open");
	flag = 0;
	rc = qcow2_reader_open(fd, &r, &flag, err, sizeof(err));
	TAP_CHECK(&t, rc == 0 && r, "stop: a flag at 0 does not");
	if (rc) {
		close(fd);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.raise = &flag;
	rc = qcow2_reader_each(r, collect_cb, &c, &flag, err, sizeof(err));
	TAP_CHECK(&t, rc == QCOW2_STOPPED && c.calls == 1,
		  "stop: a flag raised during the walk stops it before the next range");
	qcow2_reader_close(r);
	close(fd);
}

/* The second walk checks the tables again: a file changed after the open
 * cannot bring back what the open refused. */
static void test_changed(void)
{
	static struct img m;
	static struct collect c;
	struct qcow2_reader *r = NULL;
	unsigned char e[8];
	char err[512] = "";
	int fd, rc;

	build(&m, 3);
	fd = to_fd(&m);
	rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));
	qcow2_put64(e, 5 * CS | QCOW2_OFLAG_COPIED);
	if (!rc && pwrite(fd, e, 8, L2_OFF + 3 * 8) == 8) {
		memset(&c, 0, sizeof(c));
		rc = qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err));
	}
	TAP_CHECK(&t, rc == -1 && strstr(err, "is also used by another L2 entry"),
		  "changed: a data cluster shared after the open is refused by the walk");
	qcow2_reader_close(r);
	close(fd);

	r = NULL;
	fd = to_fd(&m);
	rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));
	qcow2_put64(e, QCOW2_OFLAG_COMPRESSED | (7 * CS + 700));
	if (!rc && pwrite(fd, e, 8, L2_OFF + 10 * 8) == 8) {
		memset(&c, 0, sizeof(c));
		rc = qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err));
	}
	TAP_CHECK(&t, rc == -1 && strstr(err, "was not in the image when it was opened"),
		  "changed: a compressed cluster moved after the open is refused by the walk");
	qcow2_reader_close(r);
	close(fd);

	r = NULL;
	fd = to_fd(&m);
	rc = qcow2_reader_open(fd, &r, NULL, err, sizeof(err));
	memcpy(e, m.b + L2_OFF + 10 * 8, 8);
	if (!rc && pwrite(fd, e, 8, L2_OFF + 11 * 8) == 8) {
		memset(&c, 0, sizeof(c));
		rc = qcow2_reader_each(r, collect_cb, &c, NULL, err, sizeof(err));
	}
	TAP_CHECK(&t, rc == -1 && strstr(err, "starts at the same byte"),
		  "changed: a compressed cluster doubled after the open is refused by the walk");
	qcow2_reader_close(r);
	close(fd);
}

int main(void)
{
	test_header();
	test_read(2);
	test_read(3);
	test_partial_last_cluster();
	test_bad_compressed();
	test_rules();
	test_stop();
	test_changed();
	return tap_done(&t);
}
