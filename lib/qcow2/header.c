#include <string.h>
#include "qcow2.h"

size_t qcow2_header_encode(const struct qcow2_header *h, unsigned char *buf,
			   size_t len)
{
	size_t n = h->version >= 3 ? 112 : QCOW2_V2_HEADER_LEN;

	if (len < n)
		return 0;
	memset(buf, 0, n);
	qcow2_put32(buf + 0, h->magic);
	qcow2_put32(buf + 4, h->version);
	qcow2_put64(buf + 8, h->backing_file_offset);
	qcow2_put32(buf + 16, h->backing_file_size);
	qcow2_put32(buf + 20, h->cluster_bits);
	qcow2_put64(buf + 24, h->size);
	qcow2_put32(buf + 32, h->crypt_method);
	qcow2_put32(buf + 36, h->l1_size);
	qcow2_put64(buf + 40, h->l1_table_offset);
	qcow2_put64(buf + 48, h->refcount_table_offset);
	qcow2_put32(buf + 56, h->refcount_table_clusters);
	qcow2_put32(buf + 60, h->nb_snapshots);
	qcow2_put64(buf + 64, h->snapshots_offset);
	if (h->version >= 3) {
		qcow2_put64(buf + 72, h->incompatible_features);
		qcow2_put64(buf + 80, h->compatible_features);
		qcow2_put64(buf + 88, h->autoclear_features);
		qcow2_put32(buf + 96, h->refcount_order);
		qcow2_put32(buf + 100, 112);
		buf[104] = h->compression_type;
	}
	return n;
}

int qcow2_header_decode(struct qcow2_header *h, const unsigned char *buf,
			size_t len)
{
	memset(h, 0, sizeof(*h));
	if (len < QCOW2_V2_HEADER_LEN)
		return -1;
	h->magic = qcow2_be32(buf + 0);
	h->version = qcow2_be32(buf + 4);
	h->backing_file_offset = qcow2_be64(buf + 8);
	h->backing_file_size = qcow2_be32(buf + 16);
	h->cluster_bits = qcow2_be32(buf + 20);
	h->size = qcow2_be64(buf + 24);
	h->crypt_method = qcow2_be32(buf + 32);
	h->l1_size = qcow2_be32(buf + 36);
	h->l1_table_offset = qcow2_be64(buf + 40);
	h->refcount_table_offset = qcow2_be64(buf + 48);
	h->refcount_table_clusters = qcow2_be32(buf + 56);
	h->nb_snapshots = qcow2_be32(buf + 60);
	h->snapshots_offset = qcow2_be64(buf + 64);
	h->refcount_order = 4;
	h->header_length = QCOW2_V2_HEADER_LEN;
	if (h->version < 3)
		return 0;
	if (len < QCOW2_V3_HEADER_LEN)
		return -1;
	h->incompatible_features = qcow2_be64(buf + 72);
	h->compatible_features = qcow2_be64(buf + 80);
	h->autoclear_features = qcow2_be64(buf + 88);
	h->refcount_order = qcow2_be32(buf + 96);
	h->header_length = qcow2_be32(buf + 100);
	/* Fields at or past header_length are absent, which means zero. */
	if (h->header_length > 104) {
		if (len < 105)
			return -1;
		h->compression_type = buf[104];
	}
	return 0;
}

/* What qcow2_header_encode writes before the extensions. */
static size_t header_bytes(uint32_t version)
{
	return version >= 3 ? 112 : QCOW2_V2_HEADER_LEN;
}

size_t qcow2_ext_room(uint32_t version, uint64_t cluster_size)
{
	size_t used = header_bytes(version) + 8 + 8;  /* its header, the end */

	return cluster_size > used ? (size_t)(cluster_size - used) & ~(size_t)7 : 0;
}

size_t qcow2_ext_encode(const struct qcow2_ext *e, unsigned char *buf,
			size_t len, size_t at)
{
	size_t padded = (e->len + 7) & ~(size_t)7;

	if (at > len || len - at < 8 + padded + 8 || e->len > UINT32_MAX || !e->type)
		return 0;
	qcow2_put32(buf + at, e->type);
	qcow2_put32(buf + at + 4, (uint32_t)e->len);
	memcpy(buf + at + 8, e->data, e->len);
	memset(buf + at + 8 + e->len, 0, padded - e->len + 8);
	return at + 8 + padded + 8;
}

int qcow2_ext_find(const unsigned char *buf, size_t len, size_t start,
		   uint32_t type, size_t *off, size_t *dlen)
{
	size_t at = start;

	while (at + 8 <= len) {
		uint32_t t = qcow2_be32(buf + at), l = qcow2_be32(buf + at + 4);
		size_t padded = ((size_t)l + 7) & ~(size_t)7;

		if (t == 0)
			return 0;
		if (padded > len - at - 8)
			return -1;
		if (t == type) {
			*off = at + 8;
			*dlen = l;
			return 1;
		}
		at += 8 + padded;
	}
	return 0;
}
