/* SPDX-License-Identifier: GPL-2.0 */

/* Homa packet formats as they appear on the wire (all multi-byte fields
 * big-endian), and small helpers to build and parse them. Sizes and field
 * offsets are pinned in homa_wire_check_layout().
 */

#ifndef _HOMA_WIRE_H
#define _HOMA_WIRE_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <asm/byteorder.h>

/**
 * enum homa_packet_type - Values of homa_common_hdr.type.
 * @HOMA_PKT_DATA:        part of a message.
 * @HOMA_PKT_GRANT:       permission to send more of a message.
 * @HOMA_PKT_RESEND:      request to retransmit a range of a message.
 * @HOMA_PKT_RPC_UNKNOWN: the sender has no state for the RPC.
 * @HOMA_PKT_BUSY:        the sender is alive but will not send now.
 * @HOMA_PKT_CUTOFFS:     unscheduled priority cutoffs of the sender.
 * @HOMA_PKT_FREEZE:      debugging aid; ignored.
 * @HOMA_PKT_NEED_ACK:    a server asks whether a response arrived.
 * @HOMA_PKT_ACK:         a client confirms completed RPCs.
 */
enum homa_packet_type {
	HOMA_PKT_DATA		= 0x10,
	HOMA_PKT_GRANT		= 0x11,
	HOMA_PKT_RESEND		= 0x12,
	HOMA_PKT_RPC_UNKNOWN	= 0x13,
	HOMA_PKT_BUSY		= 0x14,
	HOMA_PKT_CUTOFFS	= 0x15,
	HOMA_PKT_FREEZE		= 0x16,
	HOMA_PKT_NEED_ACK	= 0x17,
	HOMA_PKT_ACK		= 0x18,
};

#define HOMA_PKT_MIN_TYPE	HOMA_PKT_DATA
#define HOMA_PKT_MAX_TYPE	HOMA_PKT_ACK
#define HOMA_PKT_NUM_TYPES	(HOMA_PKT_MAX_TYPE - HOMA_PKT_MIN_TYPE + 1)

/* Largest Homa header of any type (a DATA header plus GSO room to spare:
 * the value the format reserves).
 */
#define HOMA_MAX_HEADER		90

/* Packets with fewer bytes of Homa header plus data are padded. */
#define HOMA_MIN_PKT_LENGTH	26

/* Number of unscheduled priority levels described by a CUTOFFS packet. */
#define HOMA_MAX_PRIORITIES	8

/* Most acks carried by one ACK packet. */
#define HOMA_MAX_ACKS_PER_PKT	5

/* RESEND length meaning "everything sent so far". */
#define HOMA_RESEND_ALL		0xffffffffU

/**
 * struct homa_common_hdr - First 28 bytes of every Homa packet. The first
 * 20 bytes line up with a TCP header so that NICs can apply TSO to DATA
 * packets: @sequence sits where TCP's sequence number is, and @doff where
 * TCP's data offset is.
 */
struct homa_common_hdr {
	/** @sport: Source port. */
	__be16 sport;

	/** @dport: Destination port. */
	__be16 dport;

	/**
	 * @sequence: DATA only: message offset of the first data byte;
	 * TSO advances it like a TCP sequence number. Zero otherwise.
	 */
	__be32 sequence;

	/** @unused1: Zero (the first bytes of TCP's ack field). */
	__u8 unused1[3];

	/** @type: One of enum homa_packet_type. */
	__u8 type;

	/**
	 * @doff: High 4 bits: header length in 32-bit words (14 for DATA,
	 * 5 otherwise, as a TCP parser would expect); low bits zero.
	 */
	__u8 doff;

	/** @flags: Zero (TCP flags position). */
	__u8 flags;

	/** @window: Zero. */
	__be16 window;

	/** @checksum: Zero; Homa relies on the link layer's checks. */
	__be16 checksum;

	/** @urgent: Zero. */
	__be16 urgent;

	/** @sender_id: The RPC's id as the sender of the packet knows it. */
	__be64 sender_id;
} __packed;

/**
 * struct homa_ack - Acknowledges that a client has received the whole
 * response of an RPC, so that the server may free its state.
 */
struct homa_ack {
	/** @client_id: Client's id of the RPC; 0 means "no ack". */
	__be64 client_id;

	/** @server_port: Server port of the RPC. */
	__be16 server_port;
} __packed;

/**
 * struct homa_seg_hdr - Precedes each data segment; in a GSO packet
 * every segment after the first carries its own copy.
 */
struct homa_seg_hdr {
	/** @offset: Message offset of the segment's first byte. */
	__be32 offset;
} __packed;

/**
 * struct homa_data_hdr - Header of a DATA packet.
 */
struct homa_data_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;

	/** @message_length: Total bytes in the message. */
	__be32 message_length;

	/**
	 * @incoming: The sender will send at least up to this offset without
	 * further grants.
	 */
	__be32 incoming;

	/** @ack: Piggy-backed acknowledgment (client_id 0: none). */
	struct homa_ack ack;

	/** @cutoff_version: Version of the receiver's cutoffs in use. */
	__be16 cutoff_version;

	/** @retransmit: Non-zero if sent in response to a RESEND. */
	__u8 retransmit;

	/** @pad: Zero. */
	__u8 pad[3];

	/** @seg: Offset of the first segment. */
	struct homa_seg_hdr seg;
} __packed;

/**
 * struct homa_grant_hdr - Header of a GRANT packet.
 */
struct homa_grant_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;

	/** @offset: The sender may send all bytes below this offset. */
	__be32 offset;

	/** @priority: Priority level for the granted bytes. */
	__u8 priority;
} __packed;

/**
 * struct homa_resend_hdr - Header of a RESEND packet.
 */
struct homa_resend_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;

	/** @offset: First byte to retransmit. */
	__be32 offset;

	/** @length: Bytes to retransmit; HOMA_RESEND_ALL for all sent. */
	__be32 length;

	/** @priority: Priority level for the retransmitted bytes. */
	__u8 priority;
} __packed;

/**
 * struct homa_rpc_unknown_hdr - Header of an RPC_UNKNOWN packet.
 */
struct homa_rpc_unknown_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;
} __packed;

/**
 * struct homa_busy_hdr - Header of a BUSY packet.
 */
struct homa_busy_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;
} __packed;

/**
 * struct homa_cutoffs_hdr - Header of a CUTOFFS packet.
 */
struct homa_cutoffs_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;

	/**
	 * @unsched_cutoffs: Entry i is the largest message that may use
	 * unscheduled priority level i.
	 */
	__be32 unsched_cutoffs[HOMA_MAX_PRIORITIES];

	/** @cutoff_version: Identifies this set of cutoffs. */
	__be16 cutoff_version;
} __packed;

/**
 * struct homa_freeze_hdr - Header of a FREEZE packet.
 */
struct homa_freeze_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;
} __packed;

/**
 * struct homa_need_ack_hdr - Header of a NEED_ACK packet.
 */
struct homa_need_ack_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;
} __packed;

/**
 * struct homa_ack_hdr - Header of an ACK packet.
 */
struct homa_ack_hdr {
	/** @common: Common header. */
	struct homa_common_hdr common;

	/** @num_acks: Valid entries in @acks. */
	__be16 num_acks;

	/** @acks: Acknowledged RPCs. */
	struct homa_ack acks[HOMA_MAX_ACKS_PER_PKT];
} __packed;

/* Header length in 32-bit words stored in doff's high nibble. */
#define HOMA_DOFF_DATA		(sizeof(struct homa_data_hdr) / 4)
#define HOMA_DOFF_OTHER		5

/**
 * homa_wire_check_layout() - Compile-time checks of every wire layout.
 * Called (for its side effect at build time only) from module init.
 */
static inline void homa_wire_check_layout(void)
{
	BUILD_BUG_ON(sizeof(struct homa_common_hdr) != 28);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, sport) != 0);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, dport) != 2);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, sequence) != 4);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, type) != 11);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, doff) != 12);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, flags) != 13);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, window) != 14);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, checksum) != 16);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, urgent) != 18);
	BUILD_BUG_ON(offsetof(struct homa_common_hdr, sender_id) != 20);

	BUILD_BUG_ON(sizeof(struct homa_ack) != 10);
	BUILD_BUG_ON(sizeof(struct homa_seg_hdr) != 4);

	BUILD_BUG_ON(sizeof(struct homa_data_hdr) != 56);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, message_length) != 28);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, incoming) != 32);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, ack) != 36);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, ack.server_port) != 44);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, cutoff_version) != 46);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, retransmit) != 48);
	BUILD_BUG_ON(offsetof(struct homa_data_hdr, seg) != 52);
	BUILD_BUG_ON(HOMA_DOFF_DATA != 14);

	BUILD_BUG_ON(sizeof(struct homa_grant_hdr) != 33);
	BUILD_BUG_ON(offsetof(struct homa_grant_hdr, offset) != 28);
	BUILD_BUG_ON(offsetof(struct homa_grant_hdr, priority) != 32);

	BUILD_BUG_ON(sizeof(struct homa_resend_hdr) != 37);
	BUILD_BUG_ON(offsetof(struct homa_resend_hdr, offset) != 28);
	BUILD_BUG_ON(offsetof(struct homa_resend_hdr, length) != 32);
	BUILD_BUG_ON(offsetof(struct homa_resend_hdr, priority) != 36);

	BUILD_BUG_ON(sizeof(struct homa_rpc_unknown_hdr) != 28);
	BUILD_BUG_ON(sizeof(struct homa_busy_hdr) != 28);
	BUILD_BUG_ON(sizeof(struct homa_freeze_hdr) != 28);
	BUILD_BUG_ON(sizeof(struct homa_need_ack_hdr) != 28);

	BUILD_BUG_ON(sizeof(struct homa_cutoffs_hdr) != 62);
	BUILD_BUG_ON(offsetof(struct homa_cutoffs_hdr, unsched_cutoffs) != 28);
	BUILD_BUG_ON(offsetof(struct homa_cutoffs_hdr, cutoff_version) != 60);

	BUILD_BUG_ON(sizeof(struct homa_ack_hdr) != 80);
	BUILD_BUG_ON(offsetof(struct homa_ack_hdr, num_acks) != 28);
	BUILD_BUG_ON(offsetof(struct homa_ack_hdr, acks) != 30);

	BUILD_BUG_ON(sizeof(struct homa_data_hdr) > HOMA_MAX_HEADER);
}

/**
 * homa_pkt_hdr_len() - Bytes of header a packet of a given type must have.
 * @type: Value of the type field.
 *
 * Return: header length for @type, or 0 if @type is not a Homa packet
 * type.
 */
static inline unsigned int homa_pkt_hdr_len(u8 type)
{
	switch (type) {
	case HOMA_PKT_DATA:
		return sizeof(struct homa_data_hdr);
	case HOMA_PKT_GRANT:
		return sizeof(struct homa_grant_hdr);
	case HOMA_PKT_RESEND:
		return sizeof(struct homa_resend_hdr);
	case HOMA_PKT_RPC_UNKNOWN:
		return sizeof(struct homa_rpc_unknown_hdr);
	case HOMA_PKT_BUSY:
		return sizeof(struct homa_busy_hdr);
	case HOMA_PKT_CUTOFFS:
		return sizeof(struct homa_cutoffs_hdr);
	case HOMA_PKT_FREEZE:
		return sizeof(struct homa_freeze_hdr);
	case HOMA_PKT_NEED_ACK:
		return sizeof(struct homa_need_ack_hdr);
	case HOMA_PKT_ACK:
		return sizeof(struct homa_ack_hdr);
	}
	return 0;
}

/**
 * homa_pkt_type_name() - Printable name of a packet type.
 * @type: Value of the type field.
 *
 * Return: a constant string; "UNKNOWN" for values that are not types.
 */
static inline const char *homa_pkt_type_name(u8 type)
{
	static const char * const names[HOMA_PKT_NUM_TYPES] = {
		"DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS",
		"FREEZE", "NEED_ACK", "ACK",
	};

	if (type < HOMA_PKT_MIN_TYPE || type > HOMA_PKT_MAX_TYPE)
		return "UNKNOWN";
	return names[type - HOMA_PKT_MIN_TYPE];
}

/**
 * homa_common_hdr_init() - Fill in the common header of an outgoing packet.
 * @h:         Header to fill; every byte is written.
 * @type:      Packet type.
 * @sport:     Source port (host order).
 * @dport:     Destination port (host order).
 * @sender_id: RPC id as this host knows it.
 */
static inline void homa_common_hdr_init(struct homa_common_hdr *h, u8 type,
					u16 sport, u16 dport, u64 sender_id)
{
	h->sport = cpu_to_be16(sport);
	h->dport = cpu_to_be16(dport);
	h->sequence = 0;
	h->unused1[0] = 0;
	h->unused1[1] = 0;
	h->unused1[2] = 0;
	h->type = type;
	h->doff = (type == HOMA_PKT_DATA ? HOMA_DOFF_DATA : HOMA_DOFF_OTHER)
		  << 4;
	h->flags = 0;
	h->window = 0;
	h->checksum = 0;
	h->urgent = 0;
	h->sender_id = cpu_to_be64(sender_id);
}

/**
 * homa_local_id() - Convert the sender_id of an incoming packet to the id
 * this host uses for the same RPC (clients use even ids, servers the same
 * id with the low bit set).
 * @sender_id: Field from the packet.
 *
 * Return: the local id.
 */
static inline u64 homa_local_id(__be64 sender_id)
{
	return be64_to_cpu(sender_id) ^ 1;
}

/**
 * homa_is_client() - Whether a local RPC id belongs to a client RPC.
 * @id: Local RPC id.
 *
 * Return: true for client (even) ids.
 */
static inline bool homa_is_client(u64 id)
{
	return (id & 1) == 0;
}

/**
 * homa_data_offset() - Message offset of the first segment of a DATA packet.
 * @h: DATA header, already checked to be complete.
 *
 * Return: the offset.
 */
static inline u32 homa_data_offset(const struct homa_data_hdr *h)
{
	return be32_to_cpu(h->seg.offset);
}

/**
 * homa_data_seg_valid() - Whether a DATA segment lies inside its message.
 * @msg_len: message_length from the packet.
 * @offset:  Segment offset.
 * @len:     Bytes of data in the segment.
 * @max_msg: Largest message length this host accepts.
 *
 * Return: true if @msg_len is acceptable and [@offset, @offset + @len) is
 * a non-empty range inside the message.
 */
static inline bool homa_data_seg_valid(u32 msg_len, u32 offset, u32 len,
				       u32 max_msg)
{
	if (msg_len == 0 || msg_len > max_msg)
		return false;
	if (len == 0 || offset >= msg_len)
		return false;
	return len <= msg_len - offset;
}

#endif /* _HOMA_WIRE_H */
