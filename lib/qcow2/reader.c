/*
 * The qcow2 reader. Two walks over the active L1/L2 tables: one at open,
 * which checks every entry and counts the data clusters without reading
 * data, and one per qcow2_reader_each, which checks every entry again (the
 * file may have changed) and reads the data in large runs.
 *
 * Rules (see docs/interop/qcow2.txt for the format):
 * - every structure starts inside the file; the file may end inside the
 *   last cluster of a structure, and the missing bytes read as zeros;
 * - data and L2 tables may not overlap the header, the L1 table or the
 *   refcount table;
 * - one owner per cluster: without snapshots (refused) nothing in a qcow2
 *   file is shared, so every L2 table and every data cluster is referenced
 *   once and holds nothing else. Host clusters of compressed data may hold
 *   several compressed clusters, and nothing else, and no two compressed
 *   clusters start at the same byte. Otherwise a small file could describe
 *   a huge disk by pointing every entry at one cluster, and be expanded
 *   until the output's disk is full;
 * - all arithmetic on untrusted numbers is checked or bounded first;
 * - the stop flag is polled once per L2 table and per delivered range.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "../core/nls.h"
#include "decompress.h"
#include "hostmap.h"
#include "qcow2.h"
#include "reader.h"

#define RUN_MAX (4u << 20)     /* bytes per coalesced read */
#define L2_BATCH (1u << 20)    /* bytes of L2 tables read together */
#define L2_PREFETCH_CALLS 16384 /* readahead requests for L2 tables, at most */
#define HOLE_FLUSH (64ull << 20) /* a guest hole this long ends a read */
#define WIN_MAX (4u << 20)     /* compressed read-ahead window (>= 2 clusters) */
#define DBATCH_BYTES (1u << 20) /* inflated clusters per batch */
#define MAX_VIRTUAL_SIZE (1ull << 56)

enum kind { K_NONE, K_ZERO, K_DATA, K_COMPRESSED };

/* A guest-contiguous piece of a coalesced read (see struct run). */
struct seg {
	uint64_t guest, len;
};

/* Owners of a host cluster, in the hostmap. */
enum owner { O_NONE, O_L2, O_DATA, O_COMPRESSED };

#define STOPPED QCOW2_STOPPED

struct qcow2_reader {
	int fd;
	uint64_t file_size;
	struct qcow2_header h;
	unsigned cb;             /* cluster_bits */
	uint64_t cs;             /* cluster size */
	uint64_t l2e;            /* entries per L2 table */
	uint64_t l1n;            /* L1 entries that map the virtual size */
	uint64_t *l1;            /* host order, l1n entries */
	struct hostmap *owners;  /* enum owner of each host cluster */
	uint64_t *cstarts;       /* compressed clusters' first bytes, sorted */
	size_t ncstarts, cstarts_cap;
	unsigned char *cseen;    /* per walk: cstarts met so far */
	const volatile sig_atomic_t *stop;
	uint64_t l1_off, l1_len; /* metadata areas, rounded to clusters */
	uint64_t rt_off, rt_len;
	uint64_t allocated;
	uint64_t bytes_read;     /* by read_at: tables and clusters */
	const unsigned char *l2; /* the L2 table being walked, in l2buf */
	unsigned char *l2buf;    /* L2 tables read together (load_l2) */
	uint64_t l2b_off, l2b_len;
	unsigned char *run;      /* coalesced data */
	struct seg *segs;        /* its guest pieces */
	unsigned char *cluster;  /* one decompressed cluster */
	unsigned char *win;      /* compressed bytes read ahead */
	uint64_t win_off, win_len;
	unsigned threads;        /* inflating compressed clusters */
	struct qcow2_opool *pool;  /* during qcow2_reader_each, once needed */
	struct qcow2_dbatch *dbs, *cur;
	void **dbp;
	unsigned nb, per;
	int ctype;
	char *err;
	size_t errlen;
};

static int fail(struct qcow2_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct qcow2_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err && r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int qcow2_probe(const unsigned char *first_bytes, size_t n)
{
	return n >= 4 && qcow2_be32(first_bytes) == QCOW2_MAGIC;
}

/* Reads len bytes at off; what lies past the end of the file reads as
 * zeros. */
static int read_at(struct qcow2_reader *r, void *buf, size_t len, uint64_t off,
		   const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(r->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(r, _("%s reading %s at offset 0x%llx"), strerror(errno),
				    what, (unsigned long long)(off + done));
		}
		if (n == 0)
			break;
		done += (size_t)n;
		r->bytes_read += (uint64_t)n;
	}
	memset((char *)buf + done, 0, len - done);
	return 0;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* True when [off, off+len) starts inside the file and ends no later than
 * the end of the cluster in which the file ends. */
static int inside_file(const struct qcow2_reader *r, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (off >= r->file_size || __builtin_add_overflow(off, len, &end))
		return 0;
	return end <= round_up(r->file_size, r->cs);
}

/* A header table: cluster-aligned, after the header, inside the file. */
static int place_table(struct qcow2_reader *r, const char *what, uint64_t off,
		       uint64_t bytes, uint64_t fs)
{
	if (off & (r->cs - 1))
		return fail(r, _("%s offset 0x%llx is not cluster-aligned"), what,
			    (unsigned long long)off);
	if (off < r->cs)
		return fail(r, _("%s offset 0x%llx overlaps the header"), what,
			    (unsigned long long)off);
	if (!inside_file(r, off, bytes))
		return fail(r, _("%s at 0x%llx (%llu bytes) is past the end of the file (0x%llx bytes)"),
			    what, (unsigned long long)off,
			    (unsigned long long)bytes, (unsigned long long)fs);
	return 0;
}

static int ranges_meet(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Which header table [off, off+len) overlaps, or NULL. L2 tables and
 * data are told apart by the hostmap. */
static const char *overlap(const struct qcow2_reader *r, uint64_t off,
			   uint64_t len)
{
	if (off < r->cs)
		/* TRANSLATORS: "the header", "the L1 table", "the refcount
		   table" and "the L2 table of L1 entry %llu", "compressed
		   data", "data" go in "... overlaps %s" and in "%s reading %s
		   at offset 0x%llx". */
		return _("the header");
	if (ranges_meet(off, len, r->l1_off, r->l1_len))
		return _("the L1 table");
	if (ranges_meet(off, len, r->rt_off, r->rt_len))
		return _("the refcount table");
	return NULL;
}

static int check_header(struct qcow2_reader *r)
{
	unsigned char buf[128];
	struct qcow2_header *h = &r->h;
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
			 QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION |
			 QCOW2_INCOMPAT_EXTL2;
	uint64_t fs = r->file_size, shift, l1_bytes, rt_bytes;
	size_t n = fs < sizeof(buf) ? (size_t)fs : sizeof(buf);

	if (fs < QCOW2_V2_HEADER_LEN)
		return fail(r, _("file too short for a qcow2 header (%llu bytes)"),
			    (unsigned long long)fs);
	if (read_at(r, buf, n, 0, _("the header")))
		return -1;
	if (qcow2_header_decode(h, buf, n) < 0 && h->magic == QCOW2_MAGIC &&
	    h->version == 3)
		return fail(r, _("file too short for a version 3 qcow2 header (%llu bytes)"),
			    (unsigned long long)fs);
	if (h->magic != QCOW2_MAGIC)
		return fail(r, _("bad magic number 0x%08x: not a qcow2 image"), h->magic);
	if (h->version != 2 && h->version != 3)
		return fail(r, _("unsupported qcow2 version %u (only 2 and 3 exist)"),
			    h->version);
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return fail(r, _("unsupported cluster size 2^%u (cluster_bits must be %d to %d)"),
			    h->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
			    QCOW2_MAX_CLUSTER_BITS);
	r->cb = h->cluster_bits;
	r->cs = 1ull << r->cb;
	r->l2e = r->cs / 8;
	if (h->version == 3) {
		if (h->header_length < QCOW2_V3_HEADER_LEN)
			return fail(r, _("header length %u is too short (a version 3 header has at least 104 bytes)"),
				    h->header_length);
		if (h->header_length % 8)
			return fail(r, _("header length %u is not a multiple of 8"),
				    h->header_length);
		if (h->header_length > r->cs)
			return fail(r, _("header length %u exceeds the cluster size (%llu)"),
				    h->header_length, (unsigned long long)r->cs);
		if (h->header_length > fs)
			return fail(r, _("header length %u is past the end of the file (0x%llx bytes)"),
				    h->header_length, (unsigned long long)fs);
	}
	if (h->incompatible_features & QCOW2_INCOMPAT_CORRUPT)
		return fail(r, _("image is marked corrupt (incompatible feature bit 1): its tables cannot be trusted; 'qemu-img check -r all' may repair it"));
	if (h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
		return fail(r, _("image keeps its data in an external data file (incompatible feature bit 2), which is not supported"));
	if (h->incompatible_features & QCOW2_INCOMPAT_EXTL2)
		return fail(r, _("image uses extended L2 entries (incompatible feature bit 4), which are not supported"));
	if (h->incompatible_features & ~known)
		return fail(r, _("unknown incompatible feature bits 0x%llx"),
			    (unsigned long long)(h->incompatible_features & ~known));
	if (h->compression_type > QCOW2_COMPRESS_ZSTD)
		return fail(r, _("unknown compression type %u"), h->compression_type);
	if (!!h->compression_type !=
	    !!(h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION))
		return fail(r, _("compression type %u does not agree with the compression-type feature bit"),
			    h->compression_type);
	if (h->refcount_order > 6)
		return fail(r, _("refcount order %u is too large (at most 6)"),
			    h->refcount_order);
	if (h->crypt_method)
		return fail(r, _("image is encrypted (method %u), which is not supported"),
			    h->crypt_method);
	if (h->backing_file_offset)
		return fail(r, _("image has a backing file, which is not supported: its data is incomplete on its own"));
	if (h->size == 0)
		return fail(r, _("virtual size is 0"));
	if (h->size > MAX_VIRTUAL_SIZE)
		return fail(r, _("virtual size 0x%llx is too large (more than 2^56 bytes)"),
			    (unsigned long long)h->size);
	if (h->size % 512)
		return fail(r, _("virtual size %llu is not a multiple of 512"),
			    (unsigned long long)h->size);

	/* L1: enough entries for the size, at most qemu's 32 MiB. */
	shift = 2 * r->cb - 3;
	r->l1n = (h->size >> shift) + !!(h->size & ((1ull << shift) - 1));
	if (h->l1_size < r->l1n)
		return fail(r, _("L1 table has %u entries, too few for the virtual size (%llu needed)"),
			    h->l1_size, (unsigned long long)r->l1n);
	l1_bytes = (uint64_t)h->l1_size * 8;
	if (l1_bytes > QCOW2_MAX_L1_BYTES)
		return fail(r, _("L1 table of %u entries is too large (more than 32 MiB)"),
			    h->l1_size);
	/* TRANSLATORS: "L1 table" and "refcount table" start "%s offset
	   0x%llx is not cluster-aligned" and the like. */
	if (place_table(r, _("L1 table"), h->l1_table_offset, l1_bytes, fs))
		return -1;
	r->l1_off = h->l1_table_offset;
	r->l1_len = round_up(l1_bytes, r->cs);

	/* The refcount table: only located and bounded, never read. */
	if (h->refcount_table_clusters == 0)
		return fail(r, _("image has no refcount table (0 clusters)"));
	if ((uint64_t)h->refcount_table_clusters > QCOW2_MAX_REFTABLE_BYTES >> r->cb)
		return fail(r, _("refcount table of %u clusters is too large (more than 8 MiB)"),
			    h->refcount_table_clusters);
	rt_bytes = (uint64_t)h->refcount_table_clusters << r->cb;
	if (place_table(r, _("refcount table"), h->refcount_table_offset, rt_bytes, fs))
		return -1;
	r->rt_off = h->refcount_table_offset;
	r->rt_len = rt_bytes;
	if (ranges_meet(r->l1_off, r->l1_len, r->rt_off, r->rt_len))
		return fail(r, _("L1 table at 0x%llx overlaps the refcount table at 0x%llx"),
			    (unsigned long long)r->l1_off, (unsigned long long)r->rt_off);

	/* A snapshot shares clusters with the active state, which the
	 * one-owner rule forbids, and converting only the active state would
	 * silently drop the rest: refused, after a word on a broken table. */
	if (h->nb_snapshots &&
	    ((h->snapshots_offset & (r->cs - 1)) || h->snapshots_offset < r->cs ||
	     h->snapshots_offset >= fs))
		return fail(r, _("snapshot table offset 0x%llx is invalid (unaligned, in the header or past the end of the file)"),
			    (unsigned long long)h->snapshots_offset);
	if (h->nb_snapshots)
		return fail(r, ngettext("image has %u internal snapshot, which is not supported",
					"image has %u internal snapshots, which are not supported",
					h->nb_snapshots),
			    h->nb_snapshots);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int out_of_memory(struct qcow2_reader *r)
{
	return fail(r, _("out of memory checking a file of %llu bytes"),
		    (unsigned long long)r->file_size);
}

/* Marks every L2 table in the hostmap: each is referenced once. */
static int claim_l2_tables(struct qcow2_reader *r)
{
	uint64_t i, k, off;

	for (i = 0; i < r->l1n; i++) {
		if (!r->l1[i])
			continue;
		off = r->l1[i] & QCOW2_OFFSET_MASK;
		switch (hostmap_claim(r->owners, off >> r->cb, O_L2)) {
		case O_NONE:
			continue;
		case O_L2:
			for (k = 0; (r->l1[k] & QCOW2_OFFSET_MASK) != off; k++)
				;
			return fail(r, _("L2 table offset 0x%llx in L1 entry %llu is also used by L1 entry %llu"),
				    (unsigned long long)off, (unsigned long long)i,
				    (unsigned long long)k);
		default:
			return out_of_memory(r);
		}
	}
	return 0;
}

/*
 * In a file written in guest order (e2fsprogs' -Q, qemu-img convert) the L2
 * tables lie among the data, one per L2 table's span of guest data. Read
 * one by one from a cold cache, each waits for the disk on its own (the
 * kernel sees no sequence to read ahead): about 0.1 ms each, 1,400 of them
 * on an 8 GiB filesystem's image. So when the last table is not cached,
 * all of them are asked for at once, in L1 order (the device queues them:
 * 0.91x of e2fsprogs' time instead of 1.10x, cold, 1 core); when it is,
 * nothing is asked. Advice only: failures change nothing. Bounded, and
 * stopped by a signal: a hostile file may scatter millions of tables (one
 * system call each) and be refused at the first entry of the walk.
 */
static void prefetch_l2(struct qcow2_reader *r)
{
#if defined(HAVE_POSIX_FADVISE) && defined(RWF_NOWAIT)
	uint64_t i, start = 0, len = 0, off, calls = 0;
	struct iovec v;
	ssize_t got;

	/* The last table is probed: reading the header and the L1 table
	 * brought the start of the file in. */
	for (i = r->l1n; i > 0 && !r->l1[i - 1]; i--)
		;
	if (!i)
		return;
	v.iov_base = r->cluster;
	v.iov_len = 1;
	got = preadv2(r->fd, &v, 1, (off_t)(r->l1[i - 1] & QCOW2_OFFSET_MASK),
		      RWF_NOWAIT);
	if (got >= 0 || errno != EAGAIN)
		return;
	for (i = 0; i < r->l1n; i++) {
		if (!r->l1[i])
			continue;
		off = r->l1[i] & QCOW2_OFFSET_MASK;
		if (len && off == start + len) {
			len += r->cs;
			continue;
		}
		if (len) {
			if (++calls > L2_PREFETCH_CALLS ||
			    (!(calls & 1023) && r->stop && *r->stop))
				return;
			(void)posix_fadvise(r->fd, (off_t)start, (off_t)len,
					    POSIX_FADV_WILLNEED);
		}
		start = off;
		len = r->cs;
	}
	(void)posix_fadvise(r->fd, (off_t)start, (off_t)len, POSIX_FADV_WILLNEED);
#else
	(void)r;
#endif
}

static int load_l1(struct qcow2_reader *r)
{
	uint64_t i, off;

	r->l1 = malloc(r->l1n * sizeof(uint64_t));
	r->owners = hostmap_new(round_up(r->file_size, r->cs) >> r->cb);
	if (!r->l1 || !r->owners)
		return fail(r, _("out of memory for an L1 table of %llu entries"),
			    (unsigned long long)r->l1n);
	/* Read in place and turned to host order in place: one copy of a
	 * table that may be 32 MiB. */
	if (read_at(r, r->l1, r->l1n * 8, r->l1_off, _("the L1 table")))
		return -1;
	for (i = 0; i < r->l1n; i++)
		r->l1[i] = qcow2_be64((const unsigned char *)&r->l1[i]);
	for (i = 0; i < r->l1n; i++) {
		uint64_t e = r->l1[i];
		const char *what;

		if (!e)
			continue;
		if (e & QCOW2_L1E_RESERVED)
			return fail(r, _("L1 entry %llu (0x%016llx) has reserved bits set"),
				    (unsigned long long)i, (unsigned long long)e);
		off = e & QCOW2_OFFSET_MASK;
		if (off & (r->cs - 1))
			return fail(r, _("L2 table offset 0x%llx in L1 entry %llu is not cluster-aligned"),
				    (unsigned long long)off, (unsigned long long)i);
		if (off >= r->file_size)
			return fail(r, _("L2 table offset 0x%llx in L1 entry %llu is past the end of the file (0x%llx bytes)"),
				    (unsigned long long)off, (unsigned long long)i,
				    (unsigned long long)r->file_size);
		/* qemu writes whole tables: a table cut short is a truncated
		 * file, and its missing entries would read as holes. */
		if (r->file_size - off < r->cs)
			return fail(r, _("L2 table at 0x%llx in L1 entry %llu ends past the end of the file (0x%llx bytes): the file is truncated"),
				    (unsigned long long)off, (unsigned long long)i,
				    (unsigned long long)r->file_size);
		what = overlap(r, off, r->cs);
		if (what)
			return fail(r, _("L2 table offset 0x%llx in L1 entry %llu overlaps %s"),
				    (unsigned long long)off, (unsigned long long)i, what);
	}
	return claim_l2_tables(r);
}

/* The arguments that name an L2 entry in a message ("L2 entry %llu of L1
 * entry %llu (guest offset 0x%llx)"); needs l1i, j and guest in scope. */
#define WHERE_ARGS (unsigned long long)j, (unsigned long long)l1i, \
		   (unsigned long long)guest

/* Checks one L2 entry and says what it maps. */
static int classify(struct qcow2_reader *r, uint64_t l1i, uint64_t j, uint64_t e,
		    enum kind *kind, uint64_t *host, uint64_t *csize)
{
	uint64_t guest = (l1i * r->l2e + j) << r->cb, off;
	const char *what;

	*kind = K_NONE;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		unsigned x = 62 - (r->cb - 8);
		uint64_t nsec = ((e >> x) & ((1ull << (r->cb - 8)) - 1)) + 1;

		off = e & ((1ull << x) - 1);
#ifndef HAVE_ZSTD
		if (r->h.compression_type == QCOW2_COMPRESS_ZSTD)
			return fail(r, _("compressed cluster in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) uses zstd, but this e2image was compiled without zstd"),
				    WHERE_ARGS);
#endif
		if (off >> 56)
			return fail(r, _("compressed cluster offset 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) is too large"),
				    (unsigned long long)off, WHERE_ARGS);
		if (off >= r->file_size)
			return fail(r, _("compressed cluster offset 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) is past the end of the file (0x%llx bytes)"),
				    (unsigned long long)off, WHERE_ARGS,
				    (unsigned long long)r->file_size);
		*csize = nsec * 512 - (off & 511);
		what = overlap(r, off, *csize);
		if (what)
			return fail(r, _("compressed cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps %s"),
				    (unsigned long long)off, WHERE_ARGS, what);
		*kind = K_COMPRESSED;
		*host = off;
		return 0;
	}
	if (e & QCOW2_L2E_STD_RESERVED)
		return fail(r, _("L2 entry %llu of L1 entry %llu (guest offset 0x%llx) (0x%016llx) has reserved bits set"), WHERE_ARGS,
			    (unsigned long long)e);
	if (e & QCOW2_OFLAG_ZERO) {
		if (r->h.version < 3)
			return fail(r, _("L2 entry %llu of L1 entry %llu (guest offset 0x%llx) has the zero flag, which a version 2 image cannot have"),
				    WHERE_ARGS);
		*kind = K_ZERO;
		return 0;
	}
	off = e & QCOW2_OFFSET_MASK;
	if (!off) {
		if (e)
			return fail(r, _("data cluster offset 0 in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps the header"),
				    WHERE_ARGS);
		return 0;
	}
	if (off & (r->cs - 1))
		return fail(r, _("data cluster offset 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) is not cluster-aligned"),
			    (unsigned long long)off, WHERE_ARGS);
	if (off >= r->file_size)
		return fail(r, _("data cluster offset 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) is past the end of the file (0x%llx bytes)"),
			    (unsigned long long)off, WHERE_ARGS,
			    (unsigned long long)r->file_size);
	what = overlap(r, off, r->cs);
	if (what)
		return fail(r, _("data cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps %s"),
			    (unsigned long long)off, WHERE_ARGS, what);
	*kind = K_DATA;
	*host = off;
	return 0;
}

static int add_start(struct qcow2_reader *r, uint64_t off)
{
	if (r->ncstarts == r->cstarts_cap) {
		size_t cap = r->cstarts_cap ? 2 * r->cstarts_cap : 1024;
		uint64_t *p = realloc(r->cstarts, cap * sizeof(*p));

		if (!p)
			return out_of_memory(r);
		r->cstarts = p;
		r->cstarts_cap = cap;
	}
	r->cstarts[r->ncstarts++] = off;
	return 0;
}

/* After the first walk: each compressed start must be one found then, and
 * be met once. */
static int meet_start(struct qcow2_reader *r, uint64_t l1i, uint64_t j,
		      uint64_t off)
{
	uint64_t guest = (l1i * r->l2e + j) << r->cb;
	size_t lo = 0, hi = r->ncstarts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->cstarts[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->ncstarts || r->cstarts[lo] != off)
		return fail(r, _("compressed cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) was not in the image when it was opened: the file is changing"),
			    (unsigned long long)off, WHERE_ARGS);
	if (r->cseen[lo])
		return fail(r, _("compressed cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) starts at the same byte as another compressed cluster"),
			    (unsigned long long)off, WHERE_ARGS);
	r->cseen[lo] = 1;
	return 0;
}

/* The one-owner rule for the host clusters an entry maps. */
static int claim(struct qcow2_reader *r, uint64_t l1i, uint64_t j, enum kind k,
		 uint64_t host, uint64_t csize, int first_walk)
{
	uint64_t guest = (l1i * r->l2e + j) << r->cb;
	uint64_t c, last, n = round_up(r->file_size, r->cs) >> r->cb;

	if (k == K_DATA) {
		switch (hostmap_claim(r->owners, host >> r->cb, O_DATA)) {
		case O_NONE:
			return 0;
		case O_L2:
			return fail(r, _("data cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps an L2 table"),
				    (unsigned long long)host, WHERE_ARGS);
		case O_DATA:
			return fail(r, _("data cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) is also used by another L2 entry"),
				    (unsigned long long)host, WHERE_ARGS);
		case O_COMPRESSED:
			return fail(r, _("data cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) also holds compressed data of another L2 entry"),
				    (unsigned long long)host, WHERE_ARGS);
		default:
			return out_of_memory(r);
		}
	}
	if (k != K_COMPRESSED)
		return 0;
	/* Up to 3 clusters; past the end of the file there is nothing to
	 * share (every table and data cluster starts inside it). */
	last = (host + csize - 1) >> r->cb;
	if (last >= n)
		last = n - 1;
	for (c = host >> r->cb; c <= last; c++) {
		switch (hostmap_claim(r->owners, c, O_COMPRESSED)) {
		case O_NONE:
		case O_COMPRESSED:
			continue;
		case O_L2:
			return fail(r, _("compressed cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps the L2 table at 0x%llx"),
				    (unsigned long long)host, WHERE_ARGS,
				    (unsigned long long)(c << r->cb));
		case O_DATA:
			return fail(r, _("compressed cluster at 0x%llx in L2 entry %llu of L1 entry %llu (guest offset 0x%llx) overlaps the data cluster at 0x%llx of another L2 entry"),
				    (unsigned long long)host, WHERE_ARGS,
				    (unsigned long long)(c << r->cb));
		default:
			return out_of_memory(r);
		}
	}
	return first_walk ? add_start(r, host) : meet_start(r, l1i, j, host);
}
#undef WHERE_ARGS

/* Entries of L2 table l1i that lie inside the virtual size. */
static uint64_t entries_in(const struct qcow2_reader *r, uint64_t l1i)
{
	uint64_t first = l1i * r->l2e;
	uint64_t clusters = (r->h.size >> r->cb) + !!(r->h.size & (r->cs - 1));
	uint64_t left = clusters - first;

	return left < r->l2e ? left : r->l2e;
}

/*
 * The L2 table of L1 entry l1i, as r->l2. Tables that follow each other in
 * the file for the next L1 entries in use (ours are written so) are read
 * with it, up to L2_BATCH bytes: one read for hundreds of tables. The L1
 * table says where each one is, so nothing else is read.
 */
static int load_l2(struct qcow2_reader *r, uint64_t l1i)
{
	uint64_t off = r->l1[l1i] & QCOW2_OFFSET_MASK, len = r->cs, k;
	char what[64];

	if (off >= r->l2b_off && off - r->l2b_off < r->l2b_len) {
		r->l2 = r->l2buf + (off - r->l2b_off);
		return 0;
	}
	for (k = l1i + 1; k < r->l1n && len + r->cs <= L2_BATCH; k++) {
		if (!r->l1[k])
			continue;
		if ((r->l1[k] & QCOW2_OFFSET_MASK) != off + len)
			break;
		len += r->cs;
	}
	snprintf(what, sizeof(what), _("the L2 table of L1 entry %llu"),
		 (unsigned long long)l1i);
	r->l2b_len = 0;
	if (read_at(r, r->l2buf, len, off, what))
		return -1;
	r->l2b_off = off;
	r->l2b_len = len;
	r->l2 = r->l2buf;
	return 0;
}

static int stopped(struct qcow2_reader *r)
{
	if (!r->stop || !*r->stop)
		return 0;
	fail(r, _("interrupted"));
	return 1;
}

static int walk(struct qcow2_reader *r, int first,
		int (*cb)(void *, uint64_t, const void *, size_t), void *arg);

/* The first walk has claimed every cluster; duplicate compressed starts
 * show only once the starts are sorted, and a second walk names one. */
static int check_starts(struct qcow2_reader *r)
{
	size_t i;
	int ret;

	if (r->ncstarts)
		qsort(r->cstarts, r->ncstarts, sizeof(uint64_t), cmp_u64);
	r->cseen = calloc(r->ncstarts ? r->ncstarts : 1, 1);
	if (!r->cseen)
		return out_of_memory(r);
	for (i = 1; i < r->ncstarts; i++)
		if (r->cstarts[i] == r->cstarts[i - 1])
			break;
	if (i >= r->ncstarts)
		return 0;
	ret = walk(r, 0, NULL, NULL);
	if (ret)
		return ret;
	return fail(r, _("two compressed clusters start at byte 0x%llx"),
		    (unsigned long long)r->cstarts[i]);
}

int qcow2_reader_open(int fd, struct qcow2_reader **out,
		      const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct qcow2_reader *r = calloc(1, sizeof(*r));
	struct stat st;
	int ret = -1;

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, _("out of memory"));
		return -1;
	}
	r->fd = fd;
	r->stop = stop;
	r->err = err;
	r->errlen = errlen;
	if (fstat(fd, &st) < 0) {
		fail(r, _("%s examining the input"), strerror(errno));
		goto bad;
	}
	if (S_ISREG(st.st_mode)) {
		r->file_size = (uint64_t)st.st_size;
	} else {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0) {
			fail(r, _("%s finding the size of the input"), strerror(errno));
			goto bad;
		}
		r->file_size = (uint64_t)end;
	}
	if (check_header(r) || load_l1(r))
		goto bad;
	r->l2buf = malloc(L2_BATCH > r->cs ? L2_BATCH : r->cs);
	r->cluster = malloc(r->cs);
	r->run = malloc(RUN_MAX);
	r->segs = malloc(RUN_MAX / r->cs * sizeof(*r->segs));
	if (!r->l2buf || !r->cluster || !r->run || !r->segs) {
		fail(r, _("out of memory"));
		goto bad;
	}
	prefetch_l2(r);
	if ((ret = walk(r, 1, NULL, NULL)) || (ret = check_starts(r)))
		goto bad;
	*out = r;
	return 0;
bad:
	qcow2_reader_close(r);
	return ret == STOPPED ? STOPPED : -1;
}

uint64_t qcow2_reader_size(const struct qcow2_reader *r)
{
	return r->h.size;
}

unsigned qcow2_reader_cluster_size(const struct qcow2_reader *r)
{
	return (unsigned)r->cs;
}

uint64_t qcow2_reader_allocated(const struct qcow2_reader *r)
{
	return r->allocated;
}

uint64_t qcow2_reader_bytes_read(const struct qcow2_reader *r)
{
	return r->bytes_read;
}

/* The compressed bytes [off, off+len), len <= 2 clusters, from the window. */
static const unsigned char *compressed_bytes(struct qcow2_reader *r,
					     uint64_t off, uint64_t len)
{
	if (!r->win) {
		r->win = malloc(WIN_MAX);
		if (!r->win) {
			fail(r, _("out of memory"));
			return NULL;
		}
	}
	if (off < r->win_off || off + len > r->win_off + r->win_len) {
		uint64_t n = WIN_MAX;

		/* Read no further than the cluster in which the file ends. */
		if (n > round_up(r->file_size, r->cs) - off)
			n = round_up(r->file_size, r->cs) - off;
		if (n < len)
			n = len;
		r->win_len = 0;
		if (read_at(r, r->win, n, off, _("compressed data")))
			return NULL;
		r->win_off = off;
		r->win_len = n;
	}
	return r->win + (off - r->win_off);
}

/* ---- compressed clusters, inflated in batches (decompress.h) ---- */

static int start_pool(struct qcow2_reader *r)
{
	struct qcow2_opool_ops ops;
	unsigned i;

	r->ctype = r->h.compression_type;
	/* Small batches: their buffers are faulted in once, and page faults
	 * are dear on a VM. */
	r->per = (unsigned)(DBATCH_BYTES / r->cs ? DBATCH_BYTES / r->cs : 1);
	r->nb = qcow2_opool_batches(r->threads);
	r->dbs = qcow2_dbatches_new(r->nb, r->per, r->cs);
	r->dbp = calloc(r->nb, sizeof(*r->dbp));
	if (!r->dbs || !r->dbp)
		return out_of_memory(r);
	for (i = 0; i < r->nb; i++)
		r->dbp[i] = &r->dbs[i];
	qcow2_decompress_ops(&ops, &r->ctype);
	r->pool = qcow2_opool_new(r->threads, r->dbp, &ops);
	if (!r->pool)
		return fail(r, r->ctype == QCOW2_COMPRESS_ZSTD ? _("cannot start zstd") :
			    _("cannot start zlib"));
	return 0;
}

static void stop_pool(struct qcow2_reader *r)
{
	qcow2_opool_free(r->pool);
	qcow2_dbatches_free(r->dbs, r->nb);
	free(r->dbp);
	r->pool = NULL;
	r->dbs = NULL;
	r->dbp = NULL;
	r->cur = NULL;
}

static int bad_cluster(struct qcow2_reader *r, const struct qcow2_dbatch *b,
		       unsigned i)
{
	unsigned long long host = b->host[i], guest = b->guest[i];
	int zstd = r->ctype == QCOW2_COMPRESS_ZSTD;

	if (b->why[i])
		return fail(r, zstd ? _("compressed cluster at 0x%llx (guest offset 0x%llx) is corrupt: zstd error (%s)") :
			    _("compressed cluster at 0x%llx (guest offset 0x%llx) is corrupt: deflate data error (%s)"),
			    host, guest, b->why[i]);
	return fail(r, zstd ? _("compressed cluster at 0x%llx (guest offset 0x%llx) is corrupt: its zstd frame gives %llu bytes, not %llu") :
		    _("compressed cluster at 0x%llx (guest offset 0x%llx) is corrupt: it inflates to %llu bytes, not %llu"),
		    host, guest, (unsigned long long)b->produced[i],
		    (unsigned long long)r->cs);
}

/* The oldest batch, once inflated, to cb, in order. */
static int deliver_oldest(struct qcow2_reader *r,
			  int (*cb)(void *, uint64_t, const void *, size_t),
			  void *arg)
{
	struct qcow2_dbatch *b = qcow2_opool_oldest(r->pool);
	unsigned i;
	int ret = 0;

	for (i = 0; b && i < b->n && !ret; i++) {
		if (stopped(r))
			ret = STOPPED;
		else if (b->why[i] || b->produced[i] != UINT64_MAX)
			ret = bad_cluster(r, b, i);
		else
			ret = cb(arg, b->guest[i], b->out + i * r->cs, b->len[i]);
	}
	qcow2_opool_release(r->pool);
	return ret;
}

/* Everything queued, delivered. */
static int drain(struct qcow2_reader *r,
		 int (*cb)(void *, uint64_t, const void *, size_t), void *arg)
{
	int ret;

	if (!r->pool)
		return 0;
	if (r->cur && r->cur->n)
		qcow2_opool_submit(r->pool);
	r->cur = NULL;
	while (qcow2_opool_oldest(r->pool))
		if ((ret = deliver_oldest(r, cb, arg)))
			return ret;
	return 0;
}

static int queue_compressed(struct qcow2_reader *r, uint64_t host,
			    uint64_t csize, uint64_t guest, uint64_t len,
			    int (*cb)(void *, uint64_t, const void *, size_t),
			    void *arg)
{
	const unsigned char *in = compressed_bytes(r, host, csize);
	struct qcow2_dbatch *b;
	int ret;

	if (!in || (!r->pool && start_pool(r)))
		return -1;
	if (r->cur && (r->cur->n == r->per ||
		       r->cur->in_used + csize > (size_t)r->per * 2 * r->cs)) {
		qcow2_opool_submit(r->pool);
		r->cur = NULL;
	}
	while (!r->cur) {
		if ((r->cur = qcow2_opool_next(r->pool))) {
			r->cur->n = 0;
			r->cur->in_used = 0;
		} else if ((ret = deliver_oldest(r, cb, arg))) {
			return ret;
		}
	}
	b = r->cur;
	memcpy(b->in + b->in_used, in, csize);
	b->ioff[b->n] = b->in_used;
	b->ilen[b->n] = (uint32_t)csize;
	b->guest[b->n] = guest;
	b->host[b->n] = host;
	b->len[b->n] = (uint32_t)len;
	b->in_used += csize;
	b->n++;
	return 0;
}

/*
 * Host-contiguous data clusters, read in one call and delivered as the
 * guest-contiguous pieces they map to: a file whose data clusters follow
 * each other with holes between them in the guest (ours, written data
 * first) is read in large reads, not one per guest run.
 */

struct run {
	uint64_t host, len;
	struct seg *segs;    /* RUN_MAX / cluster size of them at most */
	size_t nsegs;
};

/* Adds [guest, guest+len) at host to the run; 0 when it does not follow. */
static int extend(struct run *run, uint64_t guest, uint64_t host, uint64_t len)
{
	struct seg *last = run->nsegs ? &run->segs[run->nsegs - 1] : NULL;

	if (!run->len || host != run->host + run->len || run->len + len > RUN_MAX)
		return 0;
	if (guest == last->guest + last->len)
		last->len += len;
	else
		run->segs[run->nsegs++] = (struct seg){ guest, len };
	run->len += len;
	return 1;
}

static int flush(struct qcow2_reader *r, struct run *run,
		 int (*cb)(void *, uint64_t, const void *, size_t), void *arg)
{
	uint64_t off = 0;
	size_t i;
	int ret = 0;

	if (!run->len)
		return 0;
	if (stopped(r))
		return STOPPED;
	/* Compressed clusters queued before it come first. */
	if ((ret = drain(r, cb, arg)))
		return ret;
	if (read_at(r, r->run, run->len, run->host, _("data")))
		return -1;
	for (i = 0; i < run->nsegs && !ret; i++) {
		ret = cb(arg, run->segs[i].guest, r->run + off, run->segs[i].len);
		off += run->segs[i].len;
	}
	run->len = 0;
	run->nsegs = 0;
	return ret;
}

/* One pass over the active tables, every entry checked. The first, at
 * open, claims the clusters, collects the compressed starts and counts;
 * each later one claims again from nothing (the file may have changed
 * since) and, given cb, delivers the data. */
static int walk(struct qcow2_reader *r, int first,
		int (*cb)(void *, uint64_t, const void *, size_t), void *arg)
{
	struct run run = { 0, 0, r->segs, 0 };
	uint64_t i, j, host = 0, csize = 0;
	enum kind k;
	int ret;

	r->l2b_len = 0; /* every walk reads the tables again */
	if (!first) {
		hostmap_clear(r->owners);
		memset(r->cseen, 0, r->ncstarts);
		if (claim_l2_tables(r))
			return -1;
	}
	for (i = 0; i < r->l1n; i++) {
		uint64_t n = entries_in(r, i);

		if (!r->l1[i])
			continue;
		if (stopped(r))
			return STOPPED;
		if (load_l2(r, i))
			return -1;
		for (j = 0; j < n; j++) {
			uint64_t guest = (i * r->l2e + j) << r->cb;
			uint64_t len = r->h.size - guest;

			if (len > r->cs)
				len = r->cs;
			if (classify(r, i, j, qcow2_be64(r->l2 + j * 8), &k, &host,
				     &csize) ||
			    claim(r, i, j, k, host, csize, first))
				return -1;
			if (first)
				r->allocated += k == K_DATA || k == K_COMPRESSED;
			if (!cb)
				continue;
			/* A hole ends no read: the next data cluster may follow
			 * this run in the file. A long one does, so that what
			 * was read is written before a long walk over empty
			 * tables. */
			if (k == K_NONE || k == K_ZERO) {
				if (run.len && guest - run.segs[run.nsegs - 1].guest > HOLE_FLUSH &&
				    (ret = flush(r, &run, cb, arg)))
					return ret;
				continue;
			}
			if (k == K_DATA && extend(&run, guest, host, len))
				continue;
			if ((ret = flush(r, &run, cb, arg)))
				return ret;
			if (k == K_DATA) {
				run.host = host;
				run.len = len;
				run.segs[0] = (struct seg){ guest, len };
				run.nsegs = 1;
			} else if (k == K_COMPRESSED) {
				if (stopped(r))
					return STOPPED;
				if ((ret = queue_compressed(r, host, csize, guest, len,
							    cb, arg)))
					return ret;
			}
		}
	}
	if (!cb)
		return 0;
	ret = flush(r, &run, cb, arg);
	return ret ? ret : drain(r, cb, arg);
}

int qcow2_reader_each(struct qcow2_reader *r,
		      int (*cb)(void *arg, uint64_t guest_off, const void *data,
				size_t len),
		      void *arg, const volatile sig_atomic_t *stop, char *err,
		      size_t errlen)
{
	int ret;

	r->stop = stop;
	r->err = err;
	r->errlen = errlen;
	ret = walk(r, 0, cb, arg);
	stop_pool(r);
	return ret;
}

void qcow2_reader_set_threads(struct qcow2_reader *r, unsigned n)
{
	r->threads = n;
}

int qcow2_reader_ext(struct qcow2_reader *r, uint32_t type,
		     unsigned char **data, size_t *len, char *err,
		     size_t errlen)
{
	size_t n = r->file_size < r->cs ? (size_t)r->file_size : (size_t)r->cs;
	size_t start = r->h.version >= 3 ? r->h.header_length : QCOW2_V2_HEADER_LEN;
	unsigned char *buf = malloc(n ? n : 1);
	size_t off, dlen;
	int found;

	*data = NULL;
	*len = 0;
	r->err = err;
	r->errlen = errlen;
	if (!buf)
		return out_of_memory(r);
	if (read_at(r, buf, n, 0, _("the header"))) {
		free(buf);
		return -1;
	}
	found = qcow2_ext_find(buf, n, start, type, &off, &dlen);
	if (found < 0) {
		free(buf);
		return fail(r, _("header extensions run past the first cluster (0x%llx bytes)"),
			    (unsigned long long)r->cs);
	}
	if (found) {
		memmove(buf, buf + off, dlen);
		*data = buf;
		*len = dlen;
		return 1;
	}
	free(buf);
	return 0;
}

void qcow2_reader_close(struct qcow2_reader *r)
{
	if (!r)
		return;
	stop_pool(r);
	free(r->l1);
	hostmap_free(r->owners);
	free(r->cstarts);
	free(r->cseen);
	free(r->l2buf);
	free(r->run);
	free(r->segs);
	free(r->cluster);
	free(r->win);
	free(r);
}
