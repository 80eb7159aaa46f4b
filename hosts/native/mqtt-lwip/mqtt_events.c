/*
 * mqtt_events.c: see mqtt_events.h.
 */

#include "mqtt_events.h"

#include <string.h>

void mqtt_events_init(mqtt_events_t *events, int (*post)(void *context),
		void (*release)(void *context), void *context)
{
	memset(events, 0, sizeof(*events));
	events->post = post;
	events->release = release;
	events->context = context;
}

static void latch(mqtt_events_t *events, uint8_t event)
{
	events->pending.events = (uint8_t)(events->pending.events | event);
	if (events->posted)
		return;		/* the message in flight will take this event too */
	if (0 == events->post(events->context)) {
		events->posted = 1;
		events->posts += 1;
	}
}

static void on_connect(void *user, size_t writable)
{
	mqtt_events_t *events = user;
	events->pending.writable = writable;
	latch(events, MQTT_EVENT_CONNECT);
}

static void on_packet(void *user, size_t length)
{
	mqtt_events_t *events = user;
	events->pending.packet_length = length;
	latch(events, MQTT_EVENT_PACKET);
}

static void on_writable(void *user, size_t writable)
{
	mqtt_events_t *events = user;
	events->pending.writable = writable;
	latch(events, MQTT_EVENT_WRITABLE);
}

static void on_error(void *user, int code)
{
	mqtt_events_t *events = user;
	if (0 == (events->pending.events & MQTT_EVENT_ERROR))
		events->pending.error = code;
	latch(events, MQTT_EVENT_ERROR);
}

static void on_release(void *user)
{
	mqtt_events_t *events = user;
	if (events->release)
		events->release(events->context);
}

const mqtt_transport_callbacks_t mqtt_events_callbacks = {
	on_connect,
	on_packet,
	on_writable,
	on_error,
	on_release
};

typedef struct {
	mqtt_events_t *events;
	mqtt_events_snapshot_t *out;
} take_call_t;

static void take_in_context(void *argument)
{
	take_call_t *call = argument;
	*call->out = call->events->pending;
	memset(&call->events->pending, 0, sizeof(call->events->pending));
	call->events->posted = 0;
}

void mqtt_events_take(mqtt_events_t *events, mqtt_run_fn run, void *run_context,
		mqtt_events_snapshot_t *out)
{
	take_call_t call = { events, out };
	run(run_context, take_in_context, &call);
}
