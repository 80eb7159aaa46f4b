/*
 * mqtt_framing.c: see mqtt_framing.h for the theory of operation.
 */

#include "mqtt_framing.h"

#include <string.h>

enum {
	MQTT_FRAMING_STATE_HEADER = 0,
	MQTT_FRAMING_STATE_LENGTH = 1,
	MQTT_FRAMING_STATE_BODY = 2,
	MQTT_FRAMING_STATE_READY = 3,
	MQTT_FRAMING_STATE_FAILED = 4
};

int mqtt_framing_init(mqtt_framing_t *framing, uint8_t *buffer, uint32_t maximum_packet_size)
{
	if ((NULL == framing) || (NULL == buffer))
		return -1;
	if ((maximum_packet_size < MQTT_FRAMING_MINIMUM) || (maximum_packet_size > MQTT_FRAMING_LIMIT))
		return -1;
	framing->buffer = buffer;
	framing->maximum_packet_size = maximum_packet_size;
	mqtt_framing_reset(framing);
	return 0;
}

void mqtt_framing_reset(mqtt_framing_t *framing)
{
	framing->remaining_length = 0;
	framing->packet_size = 0;
	framing->fill = 0;
	framing->length_bytes = 0;
	framing->state = MQTT_FRAMING_STATE_HEADER;
	framing->status = MQTT_FRAMING_NEED_MORE;
}

static mqtt_framing_status_t fail(mqtt_framing_t *framing, mqtt_framing_status_t status)
{
	framing->state = MQTT_FRAMING_STATE_FAILED;
	framing->status = (uint8_t)status;
	return status;
}

/* The packet is complete once `fill` reaches `packet_size`. */
static mqtt_framing_status_t complete_if_done(mqtt_framing_t *framing)
{
	if (framing->fill < framing->packet_size)
		return MQTT_FRAMING_NEED_MORE;
	framing->state = MQTT_FRAMING_STATE_READY;
	return MQTT_FRAMING_PACKET;
}

/* One fixed-header byte: the type byte or a Remaining Length byte. */
static mqtt_framing_status_t take_header_byte(mqtt_framing_t *framing, uint8_t byte)
{
	/* A header that needs more room than the buffer: the packet would too. */
	if (framing->fill >= framing->maximum_packet_size)
		return fail(framing, MQTT_FRAMING_TOO_LARGE);

	if (MQTT_FRAMING_STATE_HEADER == framing->state) {
		if (0 == (byte >> 4))
			return fail(framing, MQTT_FRAMING_MALFORMED);	/* type 0 is reserved */
		framing->buffer[framing->fill++] = byte;
		framing->state = MQTT_FRAMING_STATE_LENGTH;
		return MQTT_FRAMING_NEED_MORE;
	}

	/* Remaining Length: 7 bits per byte, least significant group first. */
	framing->remaining_length |= (uint32_t)(byte & 0x7F) << (7 * framing->length_bytes);
	framing->length_bytes += 1;
	framing->buffer[framing->fill++] = byte;

	if (byte & 0x80) {
		if (4 == framing->length_bytes)
			return fail(framing, MQTT_FRAMING_MALFORMED);	/* a fifth byte would follow */
		return MQTT_FRAMING_NEED_MORE;
	}
	if ((framing->length_bytes > 1) && (0 == byte))
		return fail(framing, MQTT_FRAMING_MALFORMED);	/* not minimal [MQTT-1.5.5-1] */

	/* Size check on the header alone, before the body is stored. */
	framing->packet_size = 1u + framing->length_bytes + framing->remaining_length;
	if (framing->packet_size > framing->maximum_packet_size)
		return fail(framing, MQTT_FRAMING_TOO_LARGE);
	framing->state = MQTT_FRAMING_STATE_BODY;
	return complete_if_done(framing);
}

size_t mqtt_framing_feed(mqtt_framing_t *framing, const uint8_t *data, size_t length,
		mqtt_framing_status_t *status)
{
	size_t consumed = 0;
	mqtt_framing_status_t result = MQTT_FRAMING_NEED_MORE;

	if (MQTT_FRAMING_STATE_READY == framing->state) {
		*status = MQTT_FRAMING_PACKET;
		return 0;
	}
	if (MQTT_FRAMING_STATE_FAILED == framing->state) {
		*status = (mqtt_framing_status_t)framing->status;
		return 0;
	}

	while (consumed < length) {
		if (MQTT_FRAMING_STATE_BODY == framing->state) {
			size_t wanted = framing->packet_size - framing->fill;
			size_t use = length - consumed;
			if (use > wanted)
				use = wanted;
			memcpy(framing->buffer + framing->fill, data + consumed, use);
			framing->fill += (uint32_t)use;
			consumed += use;
			result = complete_if_done(framing);
		}
		else
			result = take_header_byte(framing, data[consumed++]);

		if (MQTT_FRAMING_NEED_MORE != result)
			break;
	}

	*status = result;
	return consumed;
}

const uint8_t *mqtt_framing_packet(const mqtt_framing_t *framing, uint32_t *length)
{
	if (MQTT_FRAMING_STATE_READY != framing->state) {
		*length = 0;
		return NULL;
	}
	*length = framing->packet_size;
	return framing->buffer;
}

void mqtt_framing_release(mqtt_framing_t *framing)
{
	if (MQTT_FRAMING_STATE_READY == framing->state)
		mqtt_framing_reset(framing);
}
