/*
 * suites.h: the suites linked into native-tests, in run order.
 */

#ifndef MQTT_TEST_SUITES_H
#define MQTT_TEST_SUITES_H

#include "runner.h"

extern const test_suite_t suite_framing;  /* test_framing.c: framer alone */
extern const test_suite_t suite_events;   /* test_events.c: notification latch */
extern const test_suite_t suite_lwip;     /* test_lwip.c: transport over real lwIP */
extern const test_suite_t suite_posix;    /* test_posix.c: simulator twin over POSIX sockets */

static const test_suite_t *const test_suites[] = {
	&suite_framing,
	&suite_events,
	&suite_lwip,
	&suite_posix
};
static const size_t test_suite_count = sizeof(test_suites) / sizeof(test_suites[0]);

#endif
