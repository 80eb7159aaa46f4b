/*
 * test_support.h: shared by the network suites: a Mosquitto started on a
 * free loopback port, MQTT 3.1.1 packet builders, and a clock.
 */

#ifndef MQTT_TEST_SUPPORT_H
#define MQTT_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	pid_t pid;
	int port;
	char directory[64];
} mosquitto_t;

/* Starts `mosquitto -c <generated config>` on 127.0.0.1:<free port> and
 * waits until it accepts connections. Returns 0, or -1 (not installed, or
 * did not come up within 5 s). */
int mosquitto_start(mosquitto_t *broker);
void mosquitto_stop(mosquitto_t *broker);

/* A free TCP port on 127.0.0.1 (the kernel's choice). */
int free_loopback_port(void);

/* Milliseconds from a monotonic clock. */
uint64_t now_ms(void);
void sleep_ms(unsigned ms);

/* Encodes a Remaining Length; returns its byte count (1..4). */
size_t mqtt_encode_remaining_length(uint32_t value, uint8_t *out);

/* MQTT 3.1.1 CONNECT, clean session, keepalive 60 s (MQTT 3.1.1 §3.1). */
size_t mqtt_build_connect(const char *client_id, uint8_t *out);
/* SUBSCRIBE packet id 1, one filter at QoS 0 (MQTT 3.1.1 §3.8). */
size_t mqtt_build_subscribe(const char *filter, uint8_t *out);
/* PUBLISH QoS 0 (MQTT 3.1.1 §3.3), payload bytes i*7+3. */
size_t mqtt_build_publish(const char *topic, size_t payload_length, uint8_t *out);

#endif
