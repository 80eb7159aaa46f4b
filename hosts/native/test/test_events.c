/*
 * test_events.c: the notification latch (mqtt_events.h) alone.
 */

#include "mqtt_events.h"
#include "runner.h"

typedef struct {
	int posts;
	int releases;
} counts_t;

static int count_post(void *context)
{
	((counts_t *)context)->posts++;
	return 0;
}

static int refusing_post(void *context)
{
	((counts_t *)context)->posts++;
	return ((counts_t *)context)->posts < 3 ? -1 : 0;	/* the first two fail */
}

static void count_release(void *context)
{
	((counts_t *)context)->releases++;
}

static void posts_once_per_batch_and_take_empties_it(void)
{
	counts_t counts = { 0, 0 };
	mqtt_events_t events;
	mqtt_events_snapshot_t snapshot;
	const mqtt_transport_callbacks_t *cb = &mqtt_events_callbacks;

	mqtt_events_init(&events, count_post, count_release, &counts);
	cb->on_connect(&events, 5744);
	cb->on_packet(&events, 4);
	cb->on_writable(&events, 2920);
	cb->on_packet(&events, 7);
	CHECK_EQ(counts.posts, 1, "one message for four events");
	CHECK_EQ(events.posts, 1, "posts counter");

	mqtt_events_take(&events, mqtt_run_direct, NULL, &snapshot);
	CHECK_EQ(snapshot.events, MQTT_EVENT_CONNECT | MQTT_EVENT_PACKET | MQTT_EVENT_WRITABLE, "all kinds kept");
	CHECK_EQ(snapshot.packet_length, 7, "latest packet length");
	CHECK_EQ(snapshot.writable, 2920, "latest writable count");

	mqtt_events_take(&events, mqtt_run_direct, NULL, &snapshot);
	CHECK_EQ(snapshot.events, 0, "taken: nothing left");

	cb->on_packet(&events, 9);
	CHECK_EQ(counts.posts, 2, "the first event after a take posts again");
}

static void keeps_the_first_error_and_forwards_release(void)
{
	counts_t counts = { 0, 0 };
	mqtt_events_t events;
	mqtt_events_snapshot_t snapshot;

	mqtt_events_init(&events, count_post, count_release, &counts);
	mqtt_events_callbacks.on_error(&events, MQTT_TRANSPORT_ERR_RESET);
	mqtt_events_callbacks.on_error(&events, MQTT_TRANSPORT_ERR_INTERNAL);
	mqtt_events_take(&events, mqtt_run_direct, NULL, &snapshot);
	CHECK_EQ(snapshot.events, MQTT_EVENT_ERROR, "error pending");
	CHECK_EQ(snapshot.error, MQTT_TRANSPORT_ERR_RESET, "first code wins");
	CHECK_EQ(counts.posts, 1, "one message");

	mqtt_events_callbacks.on_release(&events);
	CHECK_EQ(counts.releases, 1, "on_release reaches the owner");
	CHECK_EQ(counts.posts, 1, "release is not an event");
}

static void retries_a_failed_post_on_the_next_event(void)
{
	counts_t counts = { 0, 0 };
	mqtt_events_t events;
	mqtt_events_snapshot_t snapshot;

	mqtt_events_init(&events, refusing_post, NULL, &counts);
	mqtt_events_callbacks.on_packet(&events, 4);
	CHECK_EQ(counts.posts, 1, "tried");
	CHECK_EQ(events.posted, 0, "not in flight after a failure");
	mqtt_events_callbacks.on_writable(&events, 100);
	CHECK_EQ(counts.posts, 2, "tried again on the next event");
	mqtt_events_callbacks.on_writable(&events, 200);
	CHECK_EQ(counts.posts, 3, "third try succeeds");
	CHECK_EQ(events.posts, 1, "one message in flight");
	mqtt_events_callbacks.on_writable(&events, 300);
	CHECK_EQ(counts.posts, 3, "no post while one is in flight");
	mqtt_events_take(&events, mqtt_run_direct, NULL, &snapshot);
	CHECK_EQ(snapshot.events, MQTT_EVENT_PACKET | MQTT_EVENT_WRITABLE, "nothing lost");
	CHECK_EQ(snapshot.writable, 300, "latest count");
}

static void names_every_error_code(void)
{
	int code;
	for (code = 0; code <= MQTT_TRANSPORT_ERR_INTERNAL; code++)
		CHECK(strcmp(mqtt_transport_error_name(code), "UNKNOWN"), "code %d has a name", code);
	CHECK(!strcmp(mqtt_transport_error_name(MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE), "PACKET_TOO_LARGE"), "name");
	CHECK(!strcmp(mqtt_transport_error_name(99), "UNKNOWN"), "out of range");
}

static const test_case_t cases[] = {
	{ "posts one message per batch; take empties the set", posts_once_per_batch_and_take_empties_it },
	{ "keeps the first error code; forwards on_release", keeps_the_first_error_and_forwards_release },
	{ "retries a failed post on the next event, losing nothing", retries_a_failed_post_on_the_next_event },
	{ "names every error code", names_every_error_code },
};

const test_suite_t suite_events = { "events", cases, TEST_COUNT(cases) };
