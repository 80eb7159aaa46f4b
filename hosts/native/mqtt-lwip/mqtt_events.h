/*
 * mqtt_events.h: one combined notification per turn, from the network side
 * to the XS machine.
 *
 * Theory of operation. A transport calls its callbacks on the network side
 * (the lwIP thread on ESP32). The XS machine must not be entered from there:
 * it runs on its own thread and is woken by a message (Moddable's
 * modMessagePostToMachine). This latch implements the transport callbacks
 * by recording what happened in a small pending set; the first event of a
 * batch calls `post` once, and later events only update the set until the
 * owner takes it. If `post` fails (the machine's queue is full), the set
 * stays pending and the next event tries to post again. The owner (on the XS thread) takes the whole set through
 * the transport's runner, so the set is only ever touched on the network
 * side: no atomics and no locks are needed, whatever the platform.
 *
 * States: IDLE (nothing pending, no message in flight) -> POSTED (a
 * message is in flight; events accumulate) -> IDLE again on take.
 *
 * What is pending:
 * - CONNECT with the writable count at that time;
 * - PACKET with the length of the packet waiting (the owner must still ask
 *   the transport, since it may have read it meanwhile);
 * - WRITABLE with the latest writable count;
 * - ERROR with the first fatal code.
 */

#ifndef MQTT_EVENTS_H
#define MQTT_EVENTS_H

#include "mqtt_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	MQTT_EVENT_CONNECT = 1 << 0,
	MQTT_EVENT_PACKET = 1 << 1,
	MQTT_EVENT_WRITABLE = 1 << 2,
	MQTT_EVENT_ERROR = 1 << 3
};

typedef struct {
	uint8_t events;        /* MQTT_EVENT_* bits */
	int error;             /* with MQTT_EVENT_ERROR: an mqtt_transport_error_t */
	size_t packet_length;  /* with MQTT_EVENT_PACKET */
	size_t writable;       /* with MQTT_EVENT_CONNECT or MQTT_EVENT_WRITABLE */
} mqtt_events_snapshot_t;

typedef struct {
	mqtt_events_snapshot_t pending;
	/** Called on the network side when a batch starts: post one message.
	 *  Returns 0 when posted, anything else when it could not. */
	int (*post)(void *context);
	/** Called on the network side for on_release (may be NULL). */
	void (*release)(void *context);
	void *context;
	/** 1 while a posted message has not been taken. */
	uint8_t posted;
	/** Messages posted successfully: for tests and instrumentation. */
	uint32_t posts;
} mqtt_events_t;

/** Prepares an empty latch. `post` must not be NULL. */
void mqtt_events_init(mqtt_events_t *events, int (*post)(void *context),
		void (*release)(void *context), void *context);

/** The transport callbacks that feed a latch; their `user` is the mqtt_events_t. */
extern const mqtt_transport_callbacks_t mqtt_events_callbacks;

/**
 * Owner side: moves the pending set into *out and empties it, running on the
 * network side through `run` (the same runner the transport uses). After
 * this, the next event posts a new message.
 */
void mqtt_events_take(mqtt_events_t *events, mqtt_run_fn run, void *run_context,
		mqtt_events_snapshot_t *out);

#ifdef __cplusplus
}
#endif

#endif
