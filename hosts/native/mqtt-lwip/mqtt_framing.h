/*
 * mqtt_framing.h: incremental MQTT packet framing over a byte stream.
 *
 * Theory of operation. TCP delivers bytes in segments cut anywhere; MQTT
 * packets start with a fixed header: one byte (type and flags), then the
 * Remaining Length as a variable byte integer of one to four bytes (MQTT
 * 3.1.1 §2.2.3, MQTT 5.0 §1.5.5), then that many bytes. The framer is fed
 * whatever arrived and copies bytes into one fixed buffer until a whole
 * packet is there; then it stops and says so, once. The owner hands the
 * packet on (to JavaScript) and releases it; only then does the framer take
 * the next bytes. So the reader is woken once per packet, not per segment.
 *
 * States: HEADER (waiting for the first byte), LENGTH (inside the Remaining
 * Length), BODY, READY (a complete packet waits; feeding consumes nothing),
 * FAILED (sticky until mqtt_framing_reset).
 *
 * Invariants:
 * - The size check happens on the fixed header, before any byte of the body
 *   is stored: a packet of `1 + n + remainingLength` bytes larger than
 *   `maximum_packet_size` fails at once with MQTT_FRAMING_TOO_LARGE. While
 *   the Remaining Length is still arriving, a header that cannot fit the
 *   buffer fails the same way; nothing is ever written past the buffer.
 * - The buffer is the caller's, of exactly `maximum_packet_size` bytes,
 *   given once at init. The framer never allocates.
 * - The Remaining Length must use at most four bytes and its shortest form
 *   [MQTT-1.5.5-1]; packet type 0 is reserved in both versions. Anything
 *   else about the packet (flags, per-type rules) is left to the codec.
 *
 * Not thread-safe: one owner context (the transport's network side).
 */

#ifndef MQTT_FRAMING_H
#define MQTT_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The largest packet MQTT can express: 1 + 4 + 268,435,455 bytes. */
#define MQTT_FRAMING_LIMIT 268435460u
/** The smallest useful maximum: a two-byte packet (PINGRESP). */
#define MQTT_FRAMING_MINIMUM 2u

typedef enum {
	/** Every byte given was consumed; the packet is not complete yet. */
	MQTT_FRAMING_NEED_MORE = 0,
	/** A complete packet waits (mqtt_framing_packet); the bytes after it
	 *  were not consumed. Release it before feeding more. */
	MQTT_FRAMING_PACKET = 1,
	/** The packet announced by the fixed header exceeds the maximum. */
	MQTT_FRAMING_TOO_LARGE = 2,
	/** Remaining Length longer than four bytes or not minimal, or type 0. */
	MQTT_FRAMING_MALFORMED = 3
} mqtt_framing_status_t;

typedef struct {
	uint8_t *buffer;               /* the caller's, maximum_packet_size bytes */
	uint32_t maximum_packet_size;  /* whole packet, fixed header included */
	uint32_t remaining_length;     /* decoded so far / final */
	uint32_t packet_size;          /* 1 + length bytes + remaining_length, once known */
	uint32_t fill;                 /* bytes of the current packet stored */
	uint8_t state;                 /* private: MQTT_FRAMING_STATE_* in the .c */
	uint8_t length_bytes;          /* Remaining Length bytes seen */
	uint8_t status;                /* sticky mqtt_framing_status_t when FAILED */
} mqtt_framing_t;

/**
 * Prepares a framer over `buffer`, which must hold `maximum_packet_size`
 * bytes and stay valid while the framer is used.
 * Returns 0, or -1 when buffer is NULL or the size is outside
 * MQTT_FRAMING_MINIMUM..MQTT_FRAMING_LIMIT.
 */
int mqtt_framing_init(mqtt_framing_t *framing, uint8_t *buffer, uint32_t maximum_packet_size);

/**
 * Feeds `length` bytes. Returns how many were consumed and sets *status:
 * - NEED_MORE: all consumed;
 * - PACKET: consumed up to the end of a packet, which now waits; the rest
 *   of `data` is untouched (feed it again after mqtt_framing_release);
 * - TOO_LARGE / MALFORMED: failed, consumed up to and including the
 *   offending header byte; the framer stays failed.
 * While a packet waits or after a failure nothing is consumed and the same
 * status is reported. `data` may be NULL when `length` is 0.
 */
size_t mqtt_framing_feed(mqtt_framing_t *framing, const uint8_t *data, size_t length,
		mqtt_framing_status_t *status);

/**
 * The waiting packet (fixed header included) and its length, or NULL (and
 * *length 0) when none waits. The bytes stay valid until release or reset.
 */
const uint8_t *mqtt_framing_packet(const mqtt_framing_t *framing, uint32_t *length);

/** Drops the waiting packet so the next one can be framed. No-op otherwise. */
void mqtt_framing_release(mqtt_framing_t *framing);

/** Forgets any partial or waiting packet and any failure (new connection). */
void mqtt_framing_reset(mqtt_framing_t *framing);

#ifdef __cplusplus
}
#endif

#endif
