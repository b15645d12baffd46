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
