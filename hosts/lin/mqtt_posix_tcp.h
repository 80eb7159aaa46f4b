/*
 * mqtt_posix_tcp.h: the simulator twin of mqtt_lwip_tcp.h, over POSIX
 * non-blocking sockets (Linux, for the Moddable simulator).
 *
 * Same contract as the lwIP transport (mqtt_transport.h): the same framer,
 * the same callbacks, the same error codes, all-or-nothing writes, one
 * on_packet per complete packet, the peer's FIN reported after the last
 * packet has been read. What differs:
 * - one thread: the owner calls mqtt_posix_tcp_poll from its run loop
 *   (the XS binding uses a Moddable timer) and the callbacks run inside it,
 *   or inside read_packet (the next buffered packet). No runner is needed.
 * - names are resolved with getaddrinfo, which blocks (acceptable in the
 *   simulator; the lwIP transport resolves asynchronously). An IPv4
 *   answer is preferred.
 * - writes go to the kernel at once; what the kernel does not take waits
 *   in a fixed send buffer (MQTT_POSIX_SEND_BYTES), which bounds a write.
 *
 * States: IDLE -> CONNECTING -> CONNECTED; fatal error -> FAILED (on_error
 * once); close -> CLOSED (on_release, inside close).
 *
 * Memory: the struct holds the receive scratch and the send buffer
 * (MQTT_POSIX_RECEIVE_BYTES + MQTT_POSIX_SEND_BYTES); the caller provides
 * the packet buffer (maximum packet size bytes). Nothing is allocated.
 */

#ifndef MQTT_POSIX_TCP_H
#define MQTT_POSIX_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "mqtt_framing.h"
#include "mqtt_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes read from the socket at a time (one recv). */
#define MQTT_POSIX_RECEIVE_BYTES 1536
/** Bytes the transport keeps when the kernel's send buffer is full; also
 *  the largest single write. */
#define MQTT_POSIX_SEND_BYTES 4096

typedef struct {
	const mqtt_transport_callbacks_t *callbacks;
	void *user;
	uint8_t *packet_buffer;          /* maximum_packet_size bytes */
	uint32_t maximum_packet_size;    /* 2..268435460 */
	uint8_t no_delay;                /* 1: TCP_NODELAY (recommended) */
} mqtt_posix_tcp_config_t;

typedef struct {
	uint32_t recv_calls;   /* recv() calls that returned data */
	uint32_t packets;      /* on_packet calls */
	uint32_t bytes_framed;
} mqtt_posix_tcp_stats_t;

/* Treat as opaque. */
typedef struct {
	int fd;
	const mqtt_transport_callbacks_t *callbacks;
	void *user;
	mqtt_framing_t framing;
	uint8_t state;
	uint8_t no_delay;
	uint8_t writable_wanted;
	uint8_t peer_closed;
	uint8_t error_reported;
	uint16_t receive_start;
	uint16_t receive_end;
	uint16_t send_length;
	mqtt_posix_tcp_stats_t stats;
	uint8_t receive[MQTT_POSIX_RECEIVE_BYTES];
	uint8_t send[MQTT_POSIX_SEND_BYTES];
} mqtt_posix_tcp_t;

/** No system call. Returns OK or ARGUMENT (missing field, bad size). */
int mqtt_posix_tcp_init(mqtt_posix_tcp_t *tcp, const mqtt_posix_tcp_config_t *config);

/**
 * Starts a non-blocking connection to `host` (address or name) on `port`.
 * Returns OK (on_connect or on_error follows from mqtt_posix_tcp_poll), or
 * a final error: ARGUMENT, STATE, DNS, UNREACHABLE, REFUSED, NO_MEMORY,
 * INTERNAL.
 */
int mqtt_posix_tcp_connect(mqtt_posix_tcp_t *tcp, const char *host, uint16_t port);

/** The socket, for the owner's poll/select (-1 when none). */
int mqtt_posix_tcp_fd(const mqtt_posix_tcp_t *tcp);

/** poll() events worth waiting for now (POLLIN, POLLOUT), 0 when none. */
short mqtt_posix_tcp_poll_events(const mqtt_posix_tcp_t *tcp);

/** Makes progress: finishes connecting, sends what waits, reads and frames
 *  while no packet waits, and calls the callbacks. Never blocks. */
void mqtt_posix_tcp_poll(mqtt_posix_tcp_t *tcp);

/** All or nothing, at most `mqtt_posix_tcp_writable` bytes. Returns OK,
 *  WOULD_BLOCK (on_writable follows), STATE, ARGUMENT. */
int mqtt_posix_tcp_write(mqtt_posix_tcp_t *tcp, const void *data, size_t length);

/** Bytes a write can take now; 0 when not connected. */
size_t mqtt_posix_tcp_writable(const mqtt_posix_tcp_t *tcp);

/** Length of the packet waiting to be read, 0 when none. */
size_t mqtt_posix_tcp_packet_length(const mqtt_posix_tcp_t *tcp);

/** As mqtt_lwip_tcp_read_packet: OK, WOULD_BLOCK (none), ARGUMENT (too small). */
int mqtt_posix_tcp_read_packet(mqtt_posix_tcp_t *tcp, void *destination, size_t capacity, size_t *length);

/** Closes the socket, stops callbacks, calls on_release. Idempotent. */
void mqtt_posix_tcp_close(mqtt_posix_tcp_t *tcp);

void mqtt_posix_tcp_get_stats(const mqtt_posix_tcp_t *tcp, mqtt_posix_tcp_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif
