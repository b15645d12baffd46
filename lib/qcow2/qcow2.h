/*
 * The qcow2 format (qemu's docs/interop/qcow2.txt): constants and the header
 * codec. No libext2fs here: lib/qcow2 is tested and fuzzed on its own.
 * All on-disk integers are big-endian; struct qcow2_header holds host order.
 */
#ifndef E2I_QCOW2_H
#define E2I_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu             /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21           /* qemu's limit */
#define QCOW2_MAX_L1_BYTES (32u << 20)      /* qemu refuses larger L1 tables */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull  /* bits 9-55 */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull               /* v3: reads as zeros */
#define QCOW2_L1E_RESERVED 0x7f000000000001ffull
#define QCOW2_L2E_STD_RESERVED 0x3f000000000001feull
#define QCOW2_REFT_RESERVED 0x1ffull

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

#define QCOW2_COMPRESS_DEFLATE 0
#define QCOW2_COMPRESS_ZSTD 1

struct qcow2_header {
	uint32_t magic;
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;                  /* virtual size, bytes */
	uint32_t crypt_method;
	uint32_t l1_size;               /* entries */
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	/* Version 3; for version 2 these read as the v2 defaults. */
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;        /* v2: 4 (16-bit refcounts) */
	uint32_t header_length;         /* v2: 72 */
	uint8_t compression_type;
};

/* Writes the header in on-disk form: 72 bytes for v2, 112 for v3 (with the
 * compression type byte and padding, as qemu writes it). Returns the length,
 * or 0 when len is too small. */
size_t qcow2_header_encode(const struct qcow2_header *h, unsigned char *buf,
			   size_t len);
/* Reads a header; fields past header_length are the defaults. Returns 0, or
 * -1 when buf is too short for what the header says it holds. No other
 * validation: that is the reader's job, with messages. */
int qcow2_header_decode(struct qcow2_header *h, const unsigned char *buf,
			size_t len);

/* A header extension (qcow2.txt: type, length, data padded to 8 bytes),
 * between the header and the end of the first cluster. Readers skip the
 * types they do not know: qemu-img and e2fsprogs' e2image among them. */
struct qcow2_ext {
	uint32_t type;      /* not 0 (the end marker) */
	const void *data;
	size_t len;
};

/* Bytes of data one extension can hold in the header cluster of a file of
 * this version and cluster size, the end marker counted. */
size_t qcow2_ext_room(uint32_t version, uint64_t cluster_size);
/* Writes e at buf[at], then the end marker; returns the end of what was
 * written, or 0 when it does not fit in len bytes. */
size_t qcow2_ext_encode(const struct qcow2_ext *e, unsigned char *buf,
			size_t len, size_t at);
/* Looks for an extension of this type in buf[start, len) (the header
 * cluster from the header's end): 1 with its data at buf[*off] for *dlen
 * bytes; 0 when absent; -1 when the list is malformed (an extension runs
 * past len). */
int qcow2_ext_find(const unsigned char *buf, size_t len, size_t start,
		   uint32_t type, size_t *off, size_t *dlen);

static inline uint64_t qcow2_be64(const unsigned char *p)
{
	return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) |
	       ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32) |
	       ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
	       ((uint64_t)p[6] << 8) | p[7];
}

static inline uint32_t qcow2_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline uint16_t qcow2_be16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void qcow2_put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline void qcow2_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (unsigned char)v;
}

static inline void qcow2_put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8; p[1] = (unsigned char)v;
}

#endif
