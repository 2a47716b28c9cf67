// SPDX-License-Identifier: GPL-2.0

/* KUnit tests for the Homa wire format (homa_wire.h): every header type is
 * built in a byte buffer and each field is checked at its byte offset, most
 * significant byte first, by reading the raw bytes rather than the structs;
 * headers written byte by byte are decoded back through the structs; and
 * the inline helpers are checked at their edges. The tables here are
 * written from the specification, not derived from homa_wire.h, so a
 * change of layout breaks them.
 */

#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/string.h>

#include "homa_wire.h"

/* Values written by the encoders (host order). */
#define HOMA_TEST_SPORT		0x1234
#define HOMA_TEST_DPORT		0x5678
#define HOMA_TEST_ID		0x8877665544332211ULL
#define HOMA_TEST_SEQUENCE	0x0a0b0c0dU

/**
 * struct homa_test_field - Where one header field must sit on the wire.
 * @name:  Field name, for failure messages.
 * @off:   Byte offset from the start of the Homa header.
 * @width: Size in bytes.
 * @val:   Value the encoder of the header type stores in the field.
 */
struct homa_test_field {
	const char *name;
	unsigned int off;
	unsigned int width;
	u64 val;
};

/**
 * struct homa_test_hdr - Description of one packet type for the
 * table-driven encode and decode tests.
 * @name:       Type name (also the parameter description).
 * @type:       Value of the type field.
 * @doff:       Value of the doff byte the specification gives.
 * @size:       Header length the specification gives for the type.
 * @fields:     Every field after the common header, in offset order;
 *              with homa_test_common_fields they tile [0, @size) exactly.
 * @num_fields: Entries in @fields.
 * @encode:     Fills a header of the type through its struct, storing the
 *              values listed in homa_test_common_fields and @fields (the
 *              sequence of DATA packets is HOMA_TEST_SEQUENCE).
 * @decode:     Reads every field of a header through its struct into
 *              @vals: the common header's first, then those of @fields.
 */
struct homa_test_hdr {
	const char *name;
	u8 type;
	u8 doff;
	unsigned int size;
	const struct homa_test_field *fields;
	unsigned int num_fields;
	void (*encode)(u8 *buf);
	void (*decode)(const u8 *buf, u64 *vals);
};

/* The common header as the encoders fill it; homa_wire_test_encode()
 * patches in the values that depend on the type.
 */
static const struct homa_test_field homa_test_common_fields[] = {
	{ "sport", 0, 2, HOMA_TEST_SPORT },
	{ "dport", 2, 2, HOMA_TEST_DPORT },
	{ "sequence", 4, 4, 0 },
	{ "unused1", 8, 3, 0 },
	{ "type", 11, 1, 0 },
	{ "doff", 12, 1, 0 },
	{ "flags", 13, 1, 0 },
	{ "window", 14, 2, 0 },
	{ "checksum", 16, 2, 0 },
	{ "urgent", 18, 2, 0 },
	{ "sender_id", 20, 8, HOMA_TEST_ID },
};

#define HOMA_TEST_NUM_COMMON	ARRAY_SIZE(homa_test_common_fields)
#define HOMA_TEST_SEQUENCE_IDX	2
#define HOMA_TEST_TYPE_IDX	4
#define HOMA_TEST_DOFF_IDX	5

/**
 * homa_test_get_be() - Assemble a big-endian number from raw bytes.
 * @buf:   Packet bytes.
 * @off:   Offset of the most significant byte.
 * @width: Number of bytes (at most 8).
 *
 * Return: the value.
 */
static u64 homa_test_get_be(const u8 *buf, unsigned int off,
			    unsigned int width)
{
	unsigned int i;
	u64 val = 0;

	for (i = 0; i < width; i++)
		val = (val << 8) | buf[off + i];
	return val;
}

/* Fills @len bytes with a pattern in which every byte differs from its
 * neighbours, so that a field read at a wrong offset or in the wrong byte
 * order yields a different value.
 */
static void homa_test_fill_pattern(u8 *buf, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] = 0x11 + 7 * i;
}

/* Decodes the common header into vals[0..HOMA_TEST_NUM_COMMON). */
static void homa_test_decode_common(const struct homa_common_hdr *h,
				    u64 *vals)
{
	vals[0] = be16_to_cpu(h->sport);
	vals[1] = be16_to_cpu(h->dport);
	vals[2] = be32_to_cpu(h->sequence);
	vals[3] = (u32)h->unused1[0] << 16 | (u32)h->unused1[1] << 8 |
		  h->unused1[2];
	vals[4] = h->type;
	vals[5] = h->doff;
	vals[6] = h->flags;
	vals[7] = be16_to_cpu(h->window);
	vals[8] = be16_to_cpu(h->checksum);
	vals[9] = be16_to_cpu(h->urgent);
	vals[10] = be64_to_cpu(h->sender_id);
}

/* DATA */

static const struct homa_test_field homa_test_data_fields[] = {
	{ "message_length", 28, 4, 1000000 },
	{ "incoming", 32, 4, 0x00054321 },
	{ "ack.client_id", 36, 8, 0x1a2b3c4d5e6f7080ULL },
	{ "ack.server_port", 44, 2, 0x9abc },
	{ "cutoff_version", 46, 2, 0xdef0 },
	{ "retransmit", 48, 1, 1 },
	{ "pad", 49, 3, 0 },
	{ "seg.offset", 52, 4, HOMA_TEST_SEQUENCE },
};

static void homa_test_encode_data(u8 *buf)
{
	struct homa_data_hdr *h = (struct homa_data_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_DATA, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
	h->common.sequence = cpu_to_be32(HOMA_TEST_SEQUENCE);
	h->message_length = cpu_to_be32(1000000);
	h->incoming = cpu_to_be32(0x00054321);
	h->ack.client_id = cpu_to_be64(0x1a2b3c4d5e6f7080ULL);
	h->ack.server_port = cpu_to_be16(0x9abc);
	h->cutoff_version = cpu_to_be16(0xdef0);
	h->retransmit = 1;
	memset(h->pad, 0, sizeof(h->pad));
	h->seg.offset = cpu_to_be32(HOMA_TEST_SEQUENCE);
}

static void homa_test_decode_data(const u8 *buf, u64 *vals)
{
	const struct homa_data_hdr *h = (const struct homa_data_hdr *)buf;
	u64 *v = vals + HOMA_TEST_NUM_COMMON;

	homa_test_decode_common(&h->common, vals);
	v[0] = be32_to_cpu(h->message_length);
	v[1] = be32_to_cpu(h->incoming);
	v[2] = be64_to_cpu(h->ack.client_id);
	v[3] = be16_to_cpu(h->ack.server_port);
	v[4] = be16_to_cpu(h->cutoff_version);
	v[5] = h->retransmit;
	v[6] = (u32)h->pad[0] << 16 | (u32)h->pad[1] << 8 | h->pad[2];
	v[7] = homa_data_offset(h);
}

/* GRANT */

static const struct homa_test_field homa_test_grant_fields[] = {
	{ "offset", 28, 4, 0x00112233 },
	{ "priority", 32, 1, 7 },
};

static void homa_test_encode_grant(u8 *buf)
{
	struct homa_grant_hdr *h = (struct homa_grant_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_GRANT, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
	h->offset = cpu_to_be32(0x00112233);
	h->priority = 7;
}

static void homa_test_decode_grant(const u8 *buf, u64 *vals)
{
	const struct homa_grant_hdr *h = (const struct homa_grant_hdr *)buf;

	homa_test_decode_common(&h->common, vals);
	vals[HOMA_TEST_NUM_COMMON] = be32_to_cpu(h->offset);
	vals[HOMA_TEST_NUM_COMMON + 1] = h->priority;
}

/* RESEND */

static const struct homa_test_field homa_test_resend_fields[] = {
	{ "offset", 28, 4, 0x00445566 },
	{ "length", 32, 4, 0xffffffff },
	{ "priority", 36, 1, 6 },
};

static void homa_test_encode_resend(u8 *buf)
{
	struct homa_resend_hdr *h = (struct homa_resend_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_RESEND, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
	h->offset = cpu_to_be32(0x00445566);
	h->length = cpu_to_be32(HOMA_RESEND_ALL);
	h->priority = 6;
}

static void homa_test_decode_resend(const u8 *buf, u64 *vals)
{
	const struct homa_resend_hdr *h = (const struct homa_resend_hdr *)buf;

	homa_test_decode_common(&h->common, vals);
	vals[HOMA_TEST_NUM_COMMON] = be32_to_cpu(h->offset);
	vals[HOMA_TEST_NUM_COMMON + 1] = be32_to_cpu(h->length);
	vals[HOMA_TEST_NUM_COMMON + 2] = h->priority;
}

/* RPC_UNKNOWN, BUSY, FREEZE and NEED_ACK: the common header only. */

static void homa_test_encode_rpc_unknown(u8 *buf)
{
	struct homa_rpc_unknown_hdr *h = (struct homa_rpc_unknown_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_RPC_UNKNOWN,
			     HOMA_TEST_SPORT, HOMA_TEST_DPORT, HOMA_TEST_ID);
}

static void homa_test_encode_busy(u8 *buf)
{
	struct homa_busy_hdr *h = (struct homa_busy_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_BUSY, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
}

static void homa_test_encode_freeze(u8 *buf)
{
	struct homa_freeze_hdr *h = (struct homa_freeze_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_FREEZE, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
}

static void homa_test_encode_need_ack(u8 *buf)
{
	struct homa_need_ack_hdr *h = (struct homa_need_ack_hdr *)buf;

	homa_common_hdr_init(&h->common, HOMA_PKT_NEED_ACK, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
}

static void homa_test_decode_rpc_unknown(const u8 *buf, u64 *vals)
{
	homa_test_decode_common(&((const struct homa_rpc_unknown_hdr *)buf)->common,
				vals);
}

static void homa_test_decode_busy(const u8 *buf, u64 *vals)
{
	homa_test_decode_common(&((const struct homa_busy_hdr *)buf)->common,
				vals);
}

static void homa_test_decode_freeze(const u8 *buf, u64 *vals)
{
	homa_test_decode_common(&((const struct homa_freeze_hdr *)buf)->common,
				vals);
}

static void homa_test_decode_need_ack(const u8 *buf, u64 *vals)
{
	homa_test_decode_common(&((const struct homa_need_ack_hdr *)buf)->common,
				vals);
}

/* CUTOFFS */

#define HOMA_TEST_CUTOFF(i)	(0x10203040U + (i))

static const struct homa_test_field homa_test_cutoffs_fields[] = {
	{ "unsched_cutoffs[0]", 28, 4, HOMA_TEST_CUTOFF(0) },
	{ "unsched_cutoffs[1]", 32, 4, HOMA_TEST_CUTOFF(1) },
	{ "unsched_cutoffs[2]", 36, 4, HOMA_TEST_CUTOFF(2) },
	{ "unsched_cutoffs[3]", 40, 4, HOMA_TEST_CUTOFF(3) },
	{ "unsched_cutoffs[4]", 44, 4, HOMA_TEST_CUTOFF(4) },
	{ "unsched_cutoffs[5]", 48, 4, HOMA_TEST_CUTOFF(5) },
	{ "unsched_cutoffs[6]", 52, 4, HOMA_TEST_CUTOFF(6) },
	{ "unsched_cutoffs[7]", 56, 4, HOMA_TEST_CUTOFF(7) },
	{ "cutoff_version", 60, 2, 0x0102 },
};

static void homa_test_encode_cutoffs(u8 *buf)
{
	struct homa_cutoffs_hdr *h = (struct homa_cutoffs_hdr *)buf;
	int i;

	homa_common_hdr_init(&h->common, HOMA_PKT_CUTOFFS, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
	for (i = 0; i < HOMA_MAX_PRIORITIES; i++)
		h->unsched_cutoffs[i] = cpu_to_be32(HOMA_TEST_CUTOFF(i));
	h->cutoff_version = cpu_to_be16(0x0102);
}

static void homa_test_decode_cutoffs(const u8 *buf, u64 *vals)
{
	const struct homa_cutoffs_hdr *h = (const struct homa_cutoffs_hdr *)buf;
	u64 *v = vals + HOMA_TEST_NUM_COMMON;
	int i;

	homa_test_decode_common(&h->common, vals);
	for (i = 0; i < HOMA_MAX_PRIORITIES; i++)
		v[i] = be32_to_cpu(h->unsched_cutoffs[i]);
	v[HOMA_MAX_PRIORITIES] = be16_to_cpu(h->cutoff_version);
}

/* ACK */

#define HOMA_TEST_ACK_ID(i)	(0x0123456789abcd00ULL + 2 * (i))
#define HOMA_TEST_ACK_PORT(i)	(0x1230 + (i))
static const struct homa_test_field homa_test_ack_fields[] = {
	{ "num_acks", 28, 2, 5 },
	{ "acks[0].client_id", 30, 8, HOMA_TEST_ACK_ID(0) },
	{ "acks[0].server_port", 38, 2, HOMA_TEST_ACK_PORT(0) },
	{ "acks[1].client_id", 40, 8, HOMA_TEST_ACK_ID(1) },
	{ "acks[1].server_port", 48, 2, HOMA_TEST_ACK_PORT(1) },
	{ "acks[2].client_id", 50, 8, HOMA_TEST_ACK_ID(2) },
	{ "acks[2].server_port", 58, 2, HOMA_TEST_ACK_PORT(2) },
	{ "acks[3].client_id", 60, 8, HOMA_TEST_ACK_ID(3) },
	{ "acks[3].server_port", 68, 2, HOMA_TEST_ACK_PORT(3) },
	{ "acks[4].client_id", 70, 8, HOMA_TEST_ACK_ID(4) },
	{ "acks[4].server_port", 78, 2, HOMA_TEST_ACK_PORT(4) },
};

static void homa_test_encode_ack(u8 *buf)
{
	struct homa_ack_hdr *h = (struct homa_ack_hdr *)buf;
	int i;

	homa_common_hdr_init(&h->common, HOMA_PKT_ACK, HOMA_TEST_SPORT,
			     HOMA_TEST_DPORT, HOMA_TEST_ID);
	h->num_acks = cpu_to_be16(HOMA_MAX_ACKS_PER_PKT);
	for (i = 0; i < HOMA_MAX_ACKS_PER_PKT; i++) {
		h->acks[i].client_id = cpu_to_be64(HOMA_TEST_ACK_ID(i));
		h->acks[i].server_port = cpu_to_be16(HOMA_TEST_ACK_PORT(i));
	}
}

static void homa_test_decode_ack(const u8 *buf, u64 *vals)
{
	const struct homa_ack_hdr *h = (const struct homa_ack_hdr *)buf;
	u64 *v = vals + HOMA_TEST_NUM_COMMON;
	int i;

	homa_test_decode_common(&h->common, vals);
	v[0] = be16_to_cpu(h->num_acks);
	for (i = 0; i < HOMA_MAX_ACKS_PER_PKT; i++) {
		v[1 + 2 * i] = be64_to_cpu(h->acks[i].client_id);
		v[2 + 2 * i] = be16_to_cpu(h->acks[i].server_port);
	}
}

#define HOMA_TEST_HDR(_name, _type, _doff, _size, _fn)			\
	{								\
		.name = _name,						\
		.type = _type,						\
		.doff = _doff,						\
		.size = _size,						\
		.fields = homa_test_##_fn##_fields,			\
		.num_fields = ARRAY_SIZE(homa_test_##_fn##_fields),	\
		.encode = homa_test_encode_##_fn,			\
		.decode = homa_test_decode_##_fn,			\
	}

/* Packet types whose header is the common header alone. */
#define HOMA_TEST_HDR_COMMON_ONLY(_name, _type, _fn)			\
	{								\
		.name = _name,						\
		.type = _type,						\
		.doff = 5 << 4,						\
		.size = 28,						\
		.encode = homa_test_encode_##_fn,			\
		.decode = homa_test_decode_##_fn,			\
	}

/* Every packet type, with doff and header length from the specification. */
static const struct homa_test_hdr homa_test_hdrs[] = {
	HOMA_TEST_HDR("DATA", 0x10, 14 << 4, 56, data),
	HOMA_TEST_HDR("GRANT", 0x11, 5 << 4, 33, grant),
	HOMA_TEST_HDR("RESEND", 0x12, 5 << 4, 37, resend),
	HOMA_TEST_HDR_COMMON_ONLY("RPC_UNKNOWN", 0x13, rpc_unknown),
	HOMA_TEST_HDR_COMMON_ONLY("BUSY", 0x14, busy),
	HOMA_TEST_HDR("CUTOFFS", 0x15, 5 << 4, 62, cutoffs),
	HOMA_TEST_HDR_COMMON_ONLY("FREEZE", 0x16, freeze),
	HOMA_TEST_HDR_COMMON_ONLY("NEED_ACK", 0x17, need_ack),
	HOMA_TEST_HDR("ACK", 0x18, 5 << 4, 80, ack),
};

static void homa_test_hdr_desc(const struct homa_test_hdr *hdr, char *desc)
{
	strscpy(desc, hdr->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(homa_test_hdrs, homa_test_hdrs, homa_test_hdr_desc);

/* Most fields of any header in homa_test_hdrs (ACK's). */
#define HOMA_TEST_MAX_FIELDS	(HOMA_TEST_NUM_COMMON + \
				 ARRAY_SIZE(homa_test_ack_fields))

/**
 * homa_test_check_tiling() - Check that a field table covers a range of
 * bytes without gaps or overlaps.
 * @test:   Test context.
 * @fields: Table, in offset order.
 * @n:      Entries in @fields.
 * @start:  Offset at which the first field must start.
 *
 * Return: the offset just past the last field.
 */
static unsigned int homa_test_check_tiling(struct kunit *test,
					   const struct homa_test_field *fields,
					   unsigned int n, unsigned int start)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ_MSG(test, fields[i].off, start, "field %s",
				    fields[i].name);
		start = fields[i].off + fields[i].width;
	}
	return start;
}

/**
 * homa_test_expect_fields() - Check the raw bytes of every field in a table
 * against the value the table gives.
 * @test:   Test context.
 * @what:   Header name for failure messages.
 * @buf:    Packet bytes.
 * @fields: Table.
 * @n:      Entries in @fields.
 */
static void homa_test_expect_fields(struct kunit *test, const char *what,
				    const u8 *buf,
				    const struct homa_test_field *fields,
				    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    homa_test_get_be(buf, fields[i].off,
						     fields[i].width),
				    fields[i].val, "%s %s at offset %u", what,
				    fields[i].name, fields[i].off);
}

/**
 * homa_test_expect_decoded() - Check decoded values against the raw bytes
 * at the offsets a field table gives.
 * @test:   Test context.
 * @what:   Header name for failure messages.
 * @buf:    Packet bytes.
 * @fields: Table.
 * @n:      Entries in @fields.
 * @vals:   Decoded values, in the order of @fields.
 */
static void homa_test_expect_decoded(struct kunit *test, const char *what,
				     const u8 *buf,
				     const struct homa_test_field *fields,
				     unsigned int n, const u64 *vals)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, vals[i],
				    homa_test_get_be(buf, fields[i].off,
						     fields[i].width),
				    "%s %s at offset %u", what, fields[i].name,
				    fields[i].off);
}

/**
 * homa_wire_test_encode() - Build a header of each type through its struct
 * and check every field at its byte offset in big-endian order.
 * @test: Test context; test->param_value is a struct homa_test_hdr.
 */
static void homa_wire_test_encode(struct kunit *test)
{
	struct homa_test_field common[HOMA_TEST_NUM_COMMON];
	const struct homa_test_hdr *hdr = test->param_value;
	u8 buf[HOMA_MAX_HEADER];
	unsigned int i, end;

	memcpy(common, homa_test_common_fields, sizeof(common));
	common[HOMA_TEST_SEQUENCE_IDX].val = hdr->type == 0x10 ?
					     HOMA_TEST_SEQUENCE : 0;
	common[HOMA_TEST_TYPE_IDX].val = hdr->type;
	common[HOMA_TEST_DOFF_IDX].val = hdr->doff;

	/* The tables themselves must describe every byte exactly once. */
	end = homa_test_check_tiling(test, common, HOMA_TEST_NUM_COMMON, 0);
	end = homa_test_check_tiling(test, hdr->fields, hdr->num_fields, end);
	KUNIT_ASSERT_EQ(test, end, hdr->size);
	KUNIT_ASSERT_LE(test, hdr->size, HOMA_MAX_HEADER);
	KUNIT_EXPECT_EQ(test, homa_pkt_hdr_len(hdr->type), hdr->size);

	/* Bytes the encoder fails to write keep the 0xa5 filler and show
	 * up as wrong values of the field they belong to.
	 */
	memset(buf, 0xa5, sizeof(buf));
	hdr->encode(buf);
	homa_test_expect_fields(test, hdr->name, buf, common,
				HOMA_TEST_NUM_COMMON);
	homa_test_expect_fields(test, hdr->name, buf, hdr->fields,
				hdr->num_fields);
	for (i = hdr->size; i < sizeof(buf); i++)
		KUNIT_EXPECT_EQ_MSG(test, buf[i], 0xa5,
				    "%s encoder wrote byte %u past the header",
				    hdr->name, i);
}

/**
 * homa_wire_test_decode() - Write raw bytes into a buffer and check that
 * reading each field through the header struct yields the big-endian value
 * of the bytes at the field's offset.
 * @test: Test context; test->param_value is a struct homa_test_hdr.
 */
static void homa_wire_test_decode(struct kunit *test)
{
	const struct homa_test_hdr *hdr = test->param_value;
	u64 vals[HOMA_TEST_MAX_FIELDS];
	u8 buf[HOMA_MAX_HEADER];

	KUNIT_ASSERT_LE(test, HOMA_TEST_NUM_COMMON + hdr->num_fields,
			HOMA_TEST_MAX_FIELDS);
	homa_test_fill_pattern(buf, sizeof(buf));
	memset(vals, 0, sizeof(vals));
	hdr->decode(buf, vals);
	homa_test_expect_decoded(test, hdr->name, buf, homa_test_common_fields,
				 HOMA_TEST_NUM_COMMON, vals);
	homa_test_expect_decoded(test, hdr->name, buf, hdr->fields,
				 hdr->num_fields, vals + HOMA_TEST_NUM_COMMON);
}

/* Types for homa_wire_test_common_hdr_init: all real ones and a bogus one. */
static const u8 homa_test_types[] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0xff,
};

/* Short descriptions: KUnit 6.1 keeps only 512 bytes of log per case. */
static void homa_test_type_desc(const u8 *type, char *desc)
{
	if (homa_pkt_hdr_len(*type))
		strscpy(desc, homa_pkt_type_name(*type), KUNIT_PARAM_DESC_SIZE);
	else
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "0x%02x", *type);
}

KUNIT_ARRAY_PARAM(homa_test_types, homa_test_types, homa_test_type_desc);

/**
 * homa_wire_test_common_hdr_init() - homa_common_hdr_init() writes every
 * byte: ports and id big-endian, doff 14 words for DATA and 5 otherwise,
 * and zero in the sequence and all TCP-like fields.
 * @test: Test context; test->param_value points to the packet type.
 */
static void homa_wire_test_common_hdr_init(struct kunit *test)
{
	u8 type = *(const u8 *)test->param_value;
	u8 buf[sizeof(struct homa_common_hdr)];

	KUNIT_ASSERT_EQ(test, sizeof(buf), 28);
	memset(buf, 0xff, sizeof(buf));
	homa_common_hdr_init((struct homa_common_hdr *)buf, type, 0xfedc,
			     0x0102, 0x0123456789abcdefULL);

	KUNIT_EXPECT_EQ(test, buf[0], 0xfe);
	KUNIT_EXPECT_EQ(test, buf[1], 0xdc);
	KUNIT_EXPECT_EQ(test, buf[2], 0x01);
	KUNIT_EXPECT_EQ(test, buf[3], 0x02);
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 4, 4), 0);	/* sequence */
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 8, 3), 0);	/* unused1 */
	KUNIT_EXPECT_EQ(test, buf[11], type);
	KUNIT_EXPECT_EQ(test, buf[12], type == 0x10 ? 14 << 4 : 5 << 4);
	KUNIT_EXPECT_EQ(test, buf[13], 0);			/* flags */
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 14, 2), 0);	/* window */
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 16, 2), 0);	/* checksum */
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 18, 2), 0);	/* urgent */
	KUNIT_EXPECT_EQ(test, homa_test_get_be(buf, 20, 8),
			0x0123456789abcdefULL);
}

/**
 * struct homa_test_len - Expected header length of one type value.
 * @type: Value of the type field.
 * @len:  homa_pkt_hdr_len() result the specification demands.
 * @name: homa_pkt_type_name() result.
 */
struct homa_test_len {
	u8 type;
	unsigned int len;
	const char *name;
};

static const struct homa_test_len homa_test_lens[] = {
	{ 0x10, 56, "DATA" },
	{ 0x11, 33, "GRANT" },
	{ 0x12, 37, "RESEND" },
	{ 0x13, 28, "RPC_UNKNOWN" },
	{ 0x14, 28, "BUSY" },
	{ 0x15, 62, "CUTOFFS" },
	{ 0x16, 28, "FREEZE" },
	{ 0x17, 28, "NEED_ACK" },
	{ 0x18, 80, "ACK" },
	{ 0x00, 0, "UNKNOWN" },
	{ 0x01, 0, "UNKNOWN" },
	{ 0x0f, 0, "UNKNOWN" },
	{ 0x19, 0, "UNKNOWN" },
	{ 0x20, 0, "UNKNOWN" },
	{ 0x90, 0, "UNKNOWN" },
	{ 0xff, 0, "UNKNOWN" },
};

/**
 * homa_wire_test_hdr_len() - homa_pkt_hdr_len() for every type and for
 * values that are not types, and that no value outside 0x10..0x18 has a
 * length.
 * @test: Test context.
 */
static void homa_wire_test_hdr_len(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(homa_test_lens); i++) {
		const struct homa_test_len *t = &homa_test_lens[i];

		KUNIT_EXPECT_EQ_MSG(test, homa_pkt_hdr_len(t->type), t->len,
				    "type 0x%02x", t->type);
		KUNIT_EXPECT_LE_MSG(test, homa_pkt_hdr_len(t->type),
				    HOMA_MAX_HEADER, "type 0x%02x", t->type);
	}
	for (i = 0; i < 256; i++) {
		if (i >= 0x10 && i <= 0x18)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, homa_pkt_hdr_len(i), 0,
				    "type 0x%02x", i);
	}
}

/**
 * homa_wire_test_type_name() - homa_pkt_type_name() for every type, and
 * "UNKNOWN" for other values.
 * @test: Test context.
 */
static void homa_wire_test_type_name(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(homa_test_lens); i++)
		KUNIT_EXPECT_STREQ_MSG(test,
				       homa_pkt_type_name(homa_test_lens[i].type),
				       homa_test_lens[i].name, "type 0x%02x",
				       homa_test_lens[i].type);
}

/**
 * homa_wire_test_local_id() - homa_local_id() converts from network order
 * and flips the low bit, so a client id becomes the server's and back.
 * @test: Test context.
 */
static void homa_wire_test_local_id(struct kunit *test)
{
	static const u8 raw[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	__be64 wire;

	/* sender_id exactly as it arrives in a packet. */
	memcpy(&wire, raw, sizeof(wire));
	KUNIT_EXPECT_EQ(test, homa_local_id(wire), 0x0102030405060709ULL);

	KUNIT_EXPECT_EQ(test, homa_local_id(cpu_to_be64(0x0102030405060709ULL)),
			0x0102030405060708ULL);
	KUNIT_EXPECT_EQ(test, homa_local_id(cpu_to_be64(0)), 1);
	KUNIT_EXPECT_EQ(test, homa_local_id(cpu_to_be64(1)), 0);
	KUNIT_EXPECT_EQ(test, homa_local_id(cpu_to_be64(U64_MAX)), U64_MAX - 1);
	KUNIT_EXPECT_EQ(test, homa_local_id(cpu_to_be64(U64_MAX - 1)), U64_MAX);

	/* Converting twice gives the original id back. */
	KUNIT_EXPECT_EQ(test,
			homa_local_id(cpu_to_be64(homa_local_id(cpu_to_be64(1000)))),
			1000);

	/* A client's (even) id names a server RPC at the receiver. */
	KUNIT_EXPECT_FALSE(test, homa_is_client(homa_local_id(cpu_to_be64(1000))));
	KUNIT_EXPECT_TRUE(test, homa_is_client(homa_local_id(cpu_to_be64(1001))));
}

/**
 * homa_wire_test_is_client() - Even ids are client ids.
 * @test: Test context.
 */
static void homa_wire_test_is_client(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, homa_is_client(0));
	KUNIT_EXPECT_TRUE(test, homa_is_client(2));
	KUNIT_EXPECT_TRUE(test, homa_is_client(0x8000000000000000ULL));
	KUNIT_EXPECT_TRUE(test, homa_is_client(U64_MAX - 1));
	KUNIT_EXPECT_FALSE(test, homa_is_client(1));
	KUNIT_EXPECT_FALSE(test, homa_is_client(3));
	KUNIT_EXPECT_FALSE(test, homa_is_client(0x8000000000000001ULL));
	KUNIT_EXPECT_FALSE(test, homa_is_client(U64_MAX));
}

/**
 * homa_wire_test_data_offset() - homa_data_offset() reads seg.offset at
 * byte 52, big-endian, and ignores the TCP-like sequence field.
 * @test: Test context.
 */
static void homa_wire_test_data_offset(struct kunit *test)
{
	u8 buf[sizeof(struct homa_data_hdr)];

	memset(buf, 0, sizeof(buf));
	buf[4] = 0x77;		/* sequence: not the segment offset */
	buf[52] = 0x00;
	buf[53] = 0x0f;
	buf[54] = 0x42;
	buf[55] = 0x3f;
	KUNIT_EXPECT_EQ(test, homa_data_offset((struct homa_data_hdr *)buf),
			999999);
	buf[52] = 0xff;
	KUNIT_EXPECT_EQ(test, homa_data_offset((struct homa_data_hdr *)buf),
			0xff0f423fU);
}

/**
 * struct homa_test_seg - One case for homa_data_seg_valid().
 * @desc:    What the case checks.
 * @msg_len: message_length from the packet.
 * @offset:  Segment offset.
 * @len:     Segment length.
 * @max:     Largest acceptable message.
 * @valid:   Expected result.
 */
struct homa_test_seg {
	const char *desc;
	u32 msg_len;
	u32 offset;
	u32 len;
	u32 max;
	bool valid;
};

static const struct homa_test_seg homa_test_segs[] = {
	{ "whole message", 100, 0, 100, 1000000, true },
	{ "first byte", 100, 0, 1, 1000000, true },
	{ "last byte", 100, 99, 1, 1000000, true },
	{ "end == msg_len", 100, 60, 40, 1000000, true },
	{ "end == msg_len + 1", 100, 60, 41, 1000000, false },
	{ "msg_len 0", 0, 0, 1, 1000000, false },
	{ "msg_len 0, len 0", 0, 0, 0, 1000000, false },
	{ "msg_len == max", 1000000, 999000, 1000, 1000000, true },
	{ "msg_len == max + 1", 1000001, 0, 1000, 1000000, false },
	{ "msg_len > max", 0xffffffff, 0, 1000, 1000000, false },
	{ "max 0", 1, 0, 1, 0, false },
	{ "offset == msg_len", 100, 100, 1, 1000000, false },
	{ "offset > msg_len", 100, 101, 1, 1000000, false },
	{ "len 0", 100, 0, 0, 1000000, false },
	{ "len 0 at end", 100, 100, 0, 1000000, false },
	{ "len > msg_len", 100, 0, 101, 1000000, false },
	{ "offset + len wraps u32", 1000000, 0xfffffff0, 0x20, 1000000, false },
	{ "offset + len wraps, max u32", 0xffffffff, 0xfffffff0, 0x20,
	  0xffffffff, false },
	{ "last byte, max u32", 0xffffffff, 0xfffffffe, 1, 0xffffffff, true },
	{ "ends at u32 max", 0xffffffff, 0xfffffff0, 0xf, 0xffffffff, true },
	{ "len u32 max", 100, 50, 0xffffffff, 1000000, false },
	{ "offset u32 max", 100, 0xffffffff, 2, 1000000, false },
	{ "all u32 max", 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
	  false },
};

/**
 * homa_wire_test_data_seg_valid() - homa_data_seg_valid() accepts exactly
 * the non-empty segments that lie inside an acceptable message, without
 * being fooled by u32 overflow.
 * @test: Test context.
 */
static void homa_wire_test_data_seg_valid(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(homa_test_segs); i++) {
		const struct homa_test_seg *s = &homa_test_segs[i];

		KUNIT_EXPECT_EQ_MSG(test,
				    homa_data_seg_valid(s->msg_len, s->offset,
							s->len, s->max),
				    s->valid,
				    "%s: msg_len %u offset %u len %u max %u",
				    s->desc, s->msg_len, s->offset, s->len,
				    s->max);
	}
}

/**
 * homa_wire_test_constants() - Constants of the wire format.
 * @test: Test context.
 */
static void homa_wire_test_constants(struct kunit *test)
{
	/* Compile-time layout checks must build in any context. */
	homa_wire_check_layout();

	KUNIT_EXPECT_EQ(test, HOMA_PKT_DATA, 0x10);
	KUNIT_EXPECT_EQ(test, HOMA_PKT_ACK, 0x18);
	KUNIT_EXPECT_EQ(test, HOMA_PKT_NUM_TYPES, 9);
	KUNIT_EXPECT_EQ(test, HOMA_DOFF_DATA, 14);
	KUNIT_EXPECT_EQ(test, HOMA_DOFF_OTHER, 5);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_HEADER, 90);
	KUNIT_EXPECT_EQ(test, HOMA_MIN_PKT_LENGTH, 26);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_PRIORITIES, 8);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_ACKS_PER_PKT, 5);
	KUNIT_EXPECT_EQ(test, HOMA_RESEND_ALL, 0xffffffffU);
	KUNIT_EXPECT_EQ(test, sizeof(struct homa_ack), 10);
	KUNIT_EXPECT_EQ(test, sizeof(struct homa_seg_hdr), 4);
}

static struct kunit_case homa_wire_test_cases[] = {
	KUNIT_CASE_PARAM(homa_wire_test_encode, homa_test_hdrs_gen_params),
	KUNIT_CASE_PARAM(homa_wire_test_decode, homa_test_hdrs_gen_params),
	KUNIT_CASE_PARAM(homa_wire_test_common_hdr_init,
			 homa_test_types_gen_params),
	KUNIT_CASE(homa_wire_test_hdr_len),
	KUNIT_CASE(homa_wire_test_type_name),
	KUNIT_CASE(homa_wire_test_local_id),
	KUNIT_CASE(homa_wire_test_is_client),
	KUNIT_CASE(homa_wire_test_data_offset),
	KUNIT_CASE(homa_wire_test_data_seg_valid),
	KUNIT_CASE(homa_wire_test_constants),
	{}
};

static struct kunit_suite homa_wire_test_suite = {
	.name = "homa_wire",
	.test_cases = homa_wire_test_cases,
};

kunit_test_suite(homa_wire_test_suite);

MODULE_DESCRIPTION("KUnit tests for the Homa wire format");
MODULE_LICENSE("GPL");
