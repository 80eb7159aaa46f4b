/*
 * test_framing.c: the framer alone (mqtt_framing.h), no network.
 *
 * Vectors, each with its source:
 * - PINGRESP  D0 00              MQTT 3.1.1 §3.13 (fixed header only)
 * - CONNACK   20 02 00 00        MQTT 3.1.1 §3.2 (session present 0, accepted)
 * - PUBLISH   30 C8 01 ...       QoS 0, topic "a/b", Remaining Length 200
 *                                 = C8 01 (MQTT 3.1.1 §2.2.3 Table 2.4: two bytes)
 * - PUBLISH   30 80 80 01 ...    Remaining Length 16384, the smallest three-byte value
 * - PUBLISH   30 80 80 80 01 ... Remaining Length 2097152, the smallest four-byte value
 * The Remaining Length encodings follow the table in MQTT 3.1.1 §2.2.3
 * (same algorithm as MQTT 5.0 §1.5.5).
 */

#include <stdint.h>
#include <stdlib.h>

#include "mqtt_framing.h"
#include "runner.h"

/* Encodes a Remaining Length; returns its byte count. */
static size_t encode_remaining_length(uint32_t value, uint8_t *out)
{
	size_t n = 0;
	do {
		uint8_t byte = value & 0x7F;
		value >>= 7;
		if (value)
			byte |= 0x80;
		out[n++] = byte;
	} while (value);
	return n;
}

/* Builds a PUBLISH (QoS 0, topic "a/b") with the given Remaining Length. */
static size_t build_publish(uint32_t remaining_length, uint8_t *out)
{
	size_t n = 0, i;
	out[n++] = 0x30;
	n += encode_remaining_length(remaining_length, out + n);
	out[n++] = 0x00;
	out[n++] = 0x03;
	out[n++] = 'a';
	out[n++] = '/';
	out[n++] = 'b';
	for (i = 5; i < remaining_length; i++)
		out[n++] = (uint8_t)(i * 7 + 3);
	return n;
}

typedef struct {
	uint8_t *bytes;        /* concatenated packets seen */
	size_t length;
	size_t capacity;
	size_t lengths[64];
	size_t count;
	mqtt_framing_status_t last;
} framed_t;

static void framed_init(framed_t *framed, size_t capacity)
{
	memset(framed, 0, sizeof(*framed));
	framed->bytes = malloc(capacity);
	framed->capacity = capacity;
}

/*
 * Feeds `stream` cut at `cuts` (ascending offsets), taking every packet the
 * way a transport does: on PACKET copy it out, release, feed the rest.
 */
static void feed_with_cuts(mqtt_framing_t *framing, const uint8_t *stream, size_t length,
		const size_t *cuts, size_t cut_count, framed_t *framed)
{
	size_t start = 0, c;
	for (c = 0; c <= cut_count; c++) {
		size_t end = (c < cut_count) ? cuts[c] : length;
		size_t at = start;
		while (at < end) {
			mqtt_framing_status_t status;
			size_t used = mqtt_framing_feed(framing, stream + at, end - at, &status);
			at += used;
			framed->last = status;
			if (MQTT_FRAMING_PACKET == status) {
				uint32_t packet_length;
				const uint8_t *packet = mqtt_framing_packet(framing, &packet_length);
				if (framed->length + packet_length <= framed->capacity) {
					memcpy(framed->bytes + framed->length, packet, packet_length);
					framed->length += packet_length;
				}
				if (framed->count < 64)
					framed->lengths[framed->count] = packet_length;
				framed->count++;
				mqtt_framing_release(framing);
			}
			else if (MQTT_FRAMING_NEED_MORE != status)
				return;
			else if (at < end)
				return;	/* NEED_MORE must mean everything was consumed */
		}
		start = end;
	}
}

static uint8_t pingresp[] = { 0xD0, 0x00 };
static uint8_t connack[] = { 0x20, 0x02, 0x00, 0x00 };

static void frames_fixed_vectors_whole_and_bytewise(void)
{
	uint8_t buffer[64];
	mqtt_framing_t framing;
	const uint8_t *vectors[2] = { pingresp, connack };
	const size_t sizes[2] = { sizeof(pingresp), sizeof(connack) };
	int v;

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");
	for (v = 0; v < 2; v++) {
		mqtt_framing_status_t status;
		uint32_t length;
		size_t used, i;
		const uint8_t *packet;

		used = mqtt_framing_feed(&framing, vectors[v], sizes[v], &status);
		CHECK_EQ(used, sizes[v], "whole: consumed");
		CHECK_EQ(status, MQTT_FRAMING_PACKET, "whole: status");
		packet = mqtt_framing_packet(&framing, &length);
		CHECK(packet && (length == sizes[v]) && !memcmp(packet, vectors[v], sizes[v]), "whole: bytes of vector %d", v);
		mqtt_framing_release(&framing);

		for (i = 0; i < sizes[v]; i++) {
			used = mqtt_framing_feed(&framing, vectors[v] + i, 1, &status);
			CHECK_EQ(used, 1, "bytewise: consumed");
			CHECK_EQ(status, (i + 1 == sizes[v]) ? MQTT_FRAMING_PACKET : MQTT_FRAMING_NEED_MORE, "bytewise: status");
		}
		packet = mqtt_framing_packet(&framing, &length);
		CHECK(packet && (length == sizes[v]) && !memcmp(packet, vectors[v], sizes[v]), "bytewise: bytes of vector %d", v);
		mqtt_framing_release(&framing);
	}
}

/* Every single split point, and every pair of split points, of a stream of
 * PINGRESP + PUBLISH(RL 200, two-byte length) + CONNACK. */
static void frames_every_two_and_three_way_split(void)
{
	uint8_t stream[300];
	uint8_t buffer[256];
	size_t length = 0, a, b;
	mqtt_framing_t framing;
	framed_t framed;
	size_t publish_length;

	memcpy(stream, pingresp, 2);
	length = 2;
	publish_length = build_publish(200, stream + length);
	CHECK_EQ(publish_length, 203, "PUBLISH RL 200 is 1 + 2 + 200 bytes");
	CHECK(stream[3] == 0xC8 && stream[4] == 0x01, "RL 200 encodes as C8 01");
	length += publish_length;
	memcpy(stream + length, connack, 4);
	length += 4;

	framed_init(&framed, 4096);
	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");

	for (a = 0; a <= length; a++) {
		size_t cuts[1] = { a };
		framed.length = 0;
		framed.count = 0;
		mqtt_framing_reset(&framing);
		feed_with_cuts(&framing, stream, length, cuts, 1, &framed);
		if ((framed.count != 3) || (framed.length != length) || memcmp(framed.bytes, stream, length)) {
			CHECK(0, "two-way split at %zu: %zu packets, %zu bytes", a, framed.count, framed.length);
			break;
		}
	}
	for (a = 0; a <= length && !test_failed; a++) {
		for (b = a; b <= length; b++) {
			size_t cuts[2] = { a, b };
			framed.length = 0;
			framed.count = 0;
			mqtt_framing_reset(&framing);
			feed_with_cuts(&framing, stream, length, cuts, 2, &framed);
			if ((framed.count != 3) || (framed.length != length) || memcmp(framed.bytes, stream, length)
					|| (framed.lengths[0] != 2) || (framed.lengths[1] != 203) || (framed.lengths[2] != 4)) {
				CHECK(0, "three-way split at %zu,%zu: %zu packets", a, b, framed.count);
				break;
			}
		}
	}
	free(framed.bytes);
}

/* Three- and four-byte Remaining Lengths: every split inside the header and
 * its neighbourhood, then strided splits through the body. */
static void frames_three_and_four_byte_remaining_lengths(void)
{
	static const uint32_t lengths[2] = { 16384, 2097152 };
	static const uint8_t headers[2][5] = { { 0x30, 0x80, 0x80, 0x01 }, { 0x30, 0x80, 0x80, 0x80, 0x01 } };
	int k;

	for (k = 0; k < 2 && !test_failed; k++) {
		uint32_t rl = lengths[k];
		size_t header = (size_t)k + 4;
		size_t total = 1 + (header - 1) + rl, a;
		uint8_t *stream = malloc(total + 2);
		uint8_t *buffer = malloc(total);
		mqtt_framing_t framing;
		framed_t framed;

		REQUIRE(stream && buffer, "memory");
		CHECK_EQ(build_publish(rl, stream), total, "built size");
		CHECK(!memcmp(stream, headers[k], header), "Remaining Length %u encodes in %zu bytes", rl, header - 1);
		memcpy(stream + total, pingresp, 2);	/* a trailing packet */
		framed_init(&framed, total + 2);
		REQUIRE(0 == mqtt_framing_init(&framing, buffer, (uint32_t)total), "init at exactly the packet size");

		for (a = 0; a <= total + 2; a = (a < 16) ? a + 1 : a + 4093) {
			size_t cuts[1] = { a };
			framed.length = 0;
			framed.count = 0;
			mqtt_framing_reset(&framing);
			feed_with_cuts(&framing, stream, total + 2, cuts, 1, &framed);
			if ((framed.count != 2) || (framed.lengths[0] != total) || memcmp(framed.bytes, stream, total + 2)) {
				CHECK(0, "RL %u split at %zu: %zu packets", rl, a, framed.count);
				break;
			}
		}
		free(framed.bytes);
		free(stream);
		free(buffer);
	}
}

static void stops_at_packet_end_and_leaves_trailing_bytes(void)
{
	uint8_t stream[] = { 0xD0, 0x00, 0x20, 0x02, 0x00, 0x00, 0x30 };
	uint8_t buffer[16];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;
	size_t used;
	uint32_t length;

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");
	used = mqtt_framing_feed(&framing, stream, sizeof(stream), &status);
	CHECK_EQ(used, 2, "stops after PINGRESP");
	CHECK_EQ(status, MQTT_FRAMING_PACKET, "status");

	used = mqtt_framing_feed(&framing, stream + 2, sizeof(stream) - 2, &status);
	CHECK_EQ(used, 0, "nothing consumed while a packet waits");
	CHECK_EQ(status, MQTT_FRAMING_PACKET, "still PACKET: delivered once, not re-framed");
	CHECK(mqtt_framing_packet(&framing, &length) && length == 2, "the waiting packet is the PINGRESP");

	mqtt_framing_release(&framing);
	used = mqtt_framing_feed(&framing, stream + 2, sizeof(stream) - 2, &status);
	CHECK_EQ(used, 4, "CONNACK");
	CHECK_EQ(status, MQTT_FRAMING_PACKET, "status");
	mqtt_framing_release(&framing);
	used = mqtt_framing_feed(&framing, stream + 6, 1, &status);
	CHECK_EQ(used, 1, "first byte of the next packet");
	CHECK_EQ(status, MQTT_FRAMING_NEED_MORE, "need more");
	CHECK(NULL == mqtt_framing_packet(&framing, &length) && 0 == length, "no packet waits");
}

/* The size check uses the header alone: no body byte is stored. */
static void rejects_oversize_from_header_before_storing_body(void)
{
	uint8_t stream[512];
	uint8_t buffer[100 + 16];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;
	size_t length = build_publish(200, stream), used, i;
	int untouched = 1;

	memset(buffer, 0xEE, sizeof(buffer));
	REQUIRE(0 == mqtt_framing_init(&framing, buffer, 100), "init");
	used = mqtt_framing_feed(&framing, stream, length, &status);
	CHECK_EQ(status, MQTT_FRAMING_TOO_LARGE, "status");
	CHECK_EQ(used, 3, "consumed the three header bytes only");
	CHECK_EQ(framing.fill, 3, "stored the header only");
	for (i = 3; i < sizeof(buffer); i++)
		untouched &= (buffer[i] == 0xEE);
	CHECK(untouched, "no body byte written");

	used = mqtt_framing_feed(&framing, stream + 3, length - 3, &status);
	CHECK_EQ(used, 0, "sticky: nothing more consumed");
	CHECK_EQ(status, MQTT_FRAMING_TOO_LARGE, "sticky status");
	mqtt_framing_reset(&framing);
	used = mqtt_framing_feed(&framing, pingresp, 2, &status);
	CHECK_EQ(status, MQTT_FRAMING_PACKET, "usable again after reset");
}

static void accepts_exactly_the_maximum_and_rejects_one_more(void)
{
	uint8_t stream[256];
	uint8_t buffer[128];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;
	size_t length = build_publish(125, stream);	/* 1 + 1 + 125 = 127 bytes */

	REQUIRE(length == 127, "vector size");
	REQUIRE(0 == mqtt_framing_init(&framing, buffer, 127), "init 127");
	CHECK_EQ(mqtt_framing_feed(&framing, stream, length, &status), 127, "consumed");
	CHECK_EQ(status, MQTT_FRAMING_PACKET, "127-byte packet at maximum 127");

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, 126), "init 126");
	CHECK_EQ(mqtt_framing_feed(&framing, stream, length, &status), 2, "consumed the header");
	CHECK_EQ(status, MQTT_FRAMING_TOO_LARGE, "127-byte packet at maximum 126");
}

/* A maximum smaller than the header itself: fail before writing past it. */
static void never_writes_past_a_tiny_buffer(void)
{
	uint8_t buffer[2 + 8];
	uint8_t stream[] = { 0x30, 0x80, 0x01 };	/* RL 128: 131 bytes */
	mqtt_framing_t framing;
	mqtt_framing_status_t status;
	size_t used, i;
	int untouched = 1;

	memset(buffer, 0xEE, sizeof(buffer));
	REQUIRE(0 == mqtt_framing_init(&framing, buffer, 2), "init 2");
	used = mqtt_framing_feed(&framing, stream, sizeof(stream), &status);
	CHECK_EQ(status, MQTT_FRAMING_TOO_LARGE, "status");
	CHECK_EQ(used, 3, "failed on the third header byte");
	for (i = 2; i < sizeof(buffer); i++)
		untouched &= (buffer[i] == 0xEE);
	CHECK(untouched, "nothing written past 2 bytes");
}

static void computes_the_largest_remaining_length_without_overflow(void)
{
	uint8_t stream[] = { 0x30, 0xFF, 0xFF, 0xFF, 0x7F };	/* 268,435,455 */
	uint8_t buffer[64];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");
	CHECK_EQ(mqtt_framing_feed(&framing, stream, sizeof(stream), &status), 5, "consumed");
	CHECK_EQ(status, MQTT_FRAMING_TOO_LARGE, "status");
	CHECK_EQ(framing.remaining_length, 268435455u, "decoded Remaining Length");
	CHECK_EQ(framing.packet_size, MQTT_FRAMING_LIMIT, "1 + 4 + 268435455");
}

static void rejects_a_fifth_remaining_length_byte(void)
{
	uint8_t stream[] = { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
	uint8_t *buffer = malloc(1024);
	mqtt_framing_t framing;
	mqtt_framing_status_t status;

	/* A maximum larger than any header, so only the length rule can fail. */
	REQUIRE(buffer && 0 == mqtt_framing_init(&framing, buffer, 1024), "init");
	CHECK_EQ(mqtt_framing_feed(&framing, stream, sizeof(stream), &status), 5, "failed on the fourth length byte");
	CHECK_EQ(status, MQTT_FRAMING_MALFORMED, "MQTT 3.1.1 §2.2.3: at most four bytes");
	free(buffer);
}

static void rejects_non_minimal_remaining_length(void)
{
	uint8_t two[] = { 0x30, 0x80, 0x00 };
	uint8_t four[] = { 0x30, 0x80, 0x80, 0x80, 0x00 };
	uint8_t buffer[64];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");
	mqtt_framing_feed(&framing, two, sizeof(two), &status);
	CHECK_EQ(status, MQTT_FRAMING_MALFORMED, "80 00 is 0 in two bytes [MQTT-1.5.5-1]");
	mqtt_framing_reset(&framing);
	mqtt_framing_feed(&framing, four, sizeof(four), &status);
	CHECK_EQ(status, MQTT_FRAMING_MALFORMED, "80 80 80 00 is 0 in four bytes [MQTT-1.5.5-1]");
}

static void rejects_reserved_packet_type_zero(void)
{
	uint8_t stream[] = { 0x00, 0x00 };
	uint8_t buffer[64];
	mqtt_framing_t framing;
	mqtt_framing_status_t status;

	REQUIRE(0 == mqtt_framing_init(&framing, buffer, sizeof(buffer)), "init");
	CHECK_EQ(mqtt_framing_feed(&framing, stream, 2, &status), 1, "consumed the type byte");
	CHECK_EQ(status, MQTT_FRAMING_MALFORMED, "type 0 is reserved (MQTT 3.1.1 §2.2.1, MQTT 5.0 §2.1.2)");
}

static void init_rejects_sizes_outside_the_protocol(void)
{
	uint8_t buffer[4];
	mqtt_framing_t framing;

	CHECK_EQ(mqtt_framing_init(&framing, buffer, 1), -1, "1 byte cannot hold any packet");
	CHECK_EQ(mqtt_framing_init(&framing, NULL, 16), -1, "no buffer");
	CHECK_EQ(mqtt_framing_init(&framing, buffer, MQTT_FRAMING_LIMIT + 1), -1, "over the protocol limit");
	CHECK_EQ(mqtt_framing_init(&framing, buffer, 2), 0, "2 bytes is the minimum");
}

/* xorshift32: deterministic, seeds kept as hex. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/*
 * Property (seed 0x5eed, 300 runs): a random stream of 1..6 packets with
 * Remaining Lengths drawn from around every encoding boundary, cut at up to
 * 12 random points, yields exactly the same packets in the same order.
 */
static void random_streams_split_randomly_frame_identically(void)
{
	static const uint32_t pool[] = { 0, 1, 2, 5, 126, 127, 128, 129, 300, 16382, 16383, 16384, 16385, 40000 };
	uint32_t seed = 0x5eed;
	size_t capacity = 6 * (40000 + 5) + 16;
	uint8_t *stream = malloc(capacity);
	uint8_t *buffer = malloc(40005);
	mqtt_framing_t framing;
	framed_t framed;
	int run;

	REQUIRE(stream && buffer, "memory");
	framed_init(&framed, capacity);
	REQUIRE(0 == mqtt_framing_init(&framing, buffer, 40005), "init");

	for (run = 0; run < 300 && !test_failed; run++) {
		size_t length = 0, count = 1 + next_random(&seed) % 6, p, cut_count, c;
		size_t cuts[12], sizes[6];

		for (p = 0; p < count; p++) {
			uint32_t rl = pool[next_random(&seed) % (sizeof(pool) / sizeof(pool[0]))];
			if (rl < 5) {	/* too short for build_publish: a PUBACK-like shape */
				size_t i, start = length;
				stream[length++] = 0x40;
				length += encode_remaining_length(rl, stream + length);
				for (i = 0; i < rl; i++)
					stream[length++] = (uint8_t)next_random(&seed);
				sizes[p] = length - start;
			}
			else {
				sizes[p] = build_publish(rl, stream + length);
				length += sizes[p];
			}
		}
		cut_count = next_random(&seed) % 13;
		for (c = 0; c < cut_count; c++)
			cuts[c] = next_random(&seed) % (length + 1);
		for (c = 1; c < cut_count; c++) {	/* insertion sort */
			size_t v = cuts[c], d = c;
			while (d && cuts[d - 1] > v) {
				cuts[d] = cuts[d - 1];
				d--;
			}
			cuts[d] = v;
		}
		framed.length = 0;
		framed.count = 0;
		mqtt_framing_reset(&framing);
		feed_with_cuts(&framing, stream, length, cuts, cut_count, &framed);
		CHECK(framed.count == count && framed.length == length && !memcmp(framed.bytes, stream, length),
				"run %d (seed state 0x%08x): %zu of %zu packets", run, seed, framed.count, count);
		for (p = 0; p < count && p < framed.count; p++)
			CHECK(framed.lengths[p] == sizes[p], "run %d packet %zu length", run, p);
	}
	free(framed.bytes);
	free(stream);
	free(buffer);
}

static const test_case_t cases[] = {
	{ "frames fixed vectors whole and byte by byte", frames_fixed_vectors_whole_and_bytewise },
	{ "frames a stream at every two- and three-way split (two-byte Remaining Length)", frames_every_two_and_three_way_split },
	{ "frames three- and four-byte Remaining Lengths across splits", frames_three_and_four_byte_remaining_lengths },
	{ "stops at each packet end, delivers it once, leaves trailing bytes", stops_at_packet_end_and_leaves_trailing_bytes },
	{ "rejects an oversize packet from its header before storing body bytes", rejects_oversize_from_header_before_storing_body },
	{ "accepts exactly the maximum packet size and rejects one byte more", accepts_exactly_the_maximum_and_rejects_one_more },
	{ "never writes past a buffer smaller than the header", never_writes_past_a_tiny_buffer },
	{ "decodes Remaining Length 268435455 without overflow", computes_the_largest_remaining_length_without_overflow },
	{ "rejects a fifth Remaining Length byte (MQTT 3.1.1 §2.2.3)", rejects_a_fifth_remaining_length_byte },
	{ "rejects a non-minimal Remaining Length [MQTT-1.5.5-1]", rejects_non_minimal_remaining_length },
	{ "rejects the reserved packet type 0", rejects_reserved_packet_type_zero },
	{ "init rejects maximum sizes outside 2..268435460", init_rejects_sizes_outside_the_protocol },
	{ "random streams cut at random points frame identically (seed 0x5eed)", random_streams_split_randomly_frame_identically },
};

const test_suite_t suite_framing = { "framing", cases, TEST_COUNT(cases) };
