/*
 * mqtt_transport.h: what every native MQTT transport of mqtt-xs shares.
 *
 * Two transports implement this contract: the lwIP raw-API one
 * (mqtt_lwip_tcp.h, ESP32 and ESP8266) and the POSIX one
 * (hosts/lin/mqtt_posix_tcp.h, the Moddable simulator on Linux). Both feed
 * received bytes through the same framer (mqtt_framing.h) and report to their
 * owner through the same callback table, so one XS binding shape and one
 * event latch (mqtt_events.h) serve both.
 *
 * This header includes neither lwIP nor XS headers.
 *
 * Threads. A transport has two sides:
 * - the network side, where the TCP stack runs (the lwIP thread on ESP32,
 *   lwIP's single context on ESP8266, the simulator's run loop on Linux).
 *   Callbacks are always called there.
 * - the owner side (the XS machine's thread), which calls the transport's
 *   functions. Each of those runs its body on the network side through an
 *   `mqtt_run_fn`, so the two never touch transport state at the same time.
 */

#ifndef MQTT_TRANSPORT_H
#define MQTT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes. Stable numbers: the XS bindings hand them to JavaScript as-is
 * (onError(code)), and hosts/<platform>/mqtt-tcp.d.ts lists the same values.
 * "Fatal" means the connection is gone (or going) and is reported once,
 * through on_error; the other codes are returned by owner-side calls.
 */
typedef enum {
	MQTT_TRANSPORT_OK = 0,
	/** Not fatal: no room now. Nothing was queued; on_writable follows. */
	MQTT_TRANSPORT_ERR_WOULD_BLOCK = 1,
	/** Bad argument (length over 65535, destination too small, bad port). */
	MQTT_TRANSPORT_ERR_ARGUMENT = 2,
	/** The call does not fit the state (not connected yet, already closed). */
	MQTT_TRANSPORT_ERR_STATE = 3,
	/** The stack had no memory for a socket or a segment (fatal in connect). */
	MQTT_TRANSPORT_ERR_NO_MEMORY = 4,
	/** The host is not an IP address and no resolver is configured. */
	MQTT_TRANSPORT_ERR_ADDRESS = 5,
	/** Fatal: the name did not resolve. */
	MQTT_TRANSPORT_ERR_DNS = 6,
	/** Fatal: no route to the address. */
	MQTT_TRANSPORT_ERR_UNREACHABLE = 7,
	/** Fatal: the peer answered the connection request with a reset. */
	MQTT_TRANSPORT_ERR_REFUSED = 8,
	/** Fatal: the stack gave up (SYN or retransmission timeout, or it
	 *  reclaimed the connection under memory pressure). lwIP's ERR_ABRT. */
	MQTT_TRANSPORT_ERR_ABORTED = 9,
	/** Fatal: the peer reset an established connection. */
	MQTT_TRANSPORT_ERR_RESET = 10,
	/** Fatal: the peer closed its side (FIN). Reported only after every
	 *  complete packet received before the FIN has been read. */
	MQTT_TRANSPORT_ERR_CLOSED_BY_PEER = 11,
	/** Fatal: an inbound packet is larger than the maximum packet size.
	 *  Detected from the fixed header, before any of its body is stored;
	 *  the connection is closed. The size counts the whole packet, fixed
	 *  header included, as MQTT 5.0 §3.1.2.11.4 (Maximum Packet Size) does. */
	MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE = 12,
	/** Fatal: the fixed header is malformed: a Remaining Length longer than
	 *  four bytes (MQTT 3.1.1 §2.2.3, MQTT 5.0 §1.5.5) or not in its
	 *  shortest form [MQTT-1.5.5-1], or the reserved packet type 0. The
	 *  connection is closed. */
	MQTT_TRANSPORT_ERR_MALFORMED = 13,
	/** Fatal or returned: any other stack error. */
	MQTT_TRANSPORT_ERR_INTERNAL = 14
} mqtt_transport_error_t;

/** A short constant name for a code, e.g. "PACKET_TOO_LARGE". Never NULL. */
const char *mqtt_transport_error_name(int code);

/*
 * Runs `fn(argument)` in the network-side context and returns after it has
 * returned. `context` is the runner's own state (may be NULL).
 * - ESP8266 (lwIP NO_SYS): a direct call (mqtt_run_direct).
 * - ESP32 (lwIP thread): tcpip_api_call, which queues a message to the lwIP
 *   thread (or takes the core lock) and waits (mqtt_lwip_run_tcpip).
 * - Linux simulator: a direct call; everything runs on the run loop.
 */
typedef void (*mqtt_run_fn)(void *context, void (*fn)(void *argument), void *argument);

/** The runner for single-context stacks: calls fn(argument) at once. */
void mqtt_run_direct(void *context, void (*fn)(void *argument), void *argument);

/*
 * What a transport tells its owner. All callbacks run on the network side
 * and may also run from inside an owner-side call (the runner executes the
 * body there): they must only record the event and return, never call back
 * into the transport. `user` is the pointer given in the configuration.
 */
typedef struct {
	/** The connection is established. `writable`: bytes that can be written now. */
	void (*on_connect)(void *user, size_t writable);
	/** One complete packet (fixed header included) waits to be read: called
	 *  once per packet, however many TCP segments carried it. The next one
	 *  is not announced until this one has been read. */
	void (*on_packet)(void *user, size_t length);
	/** A write was refused since the last call, and room has been freed
	 *  (the peer acknowledged data). `writable`: bytes writable now. */
	void (*on_writable)(void *user, size_t writable);
	/** The connection failed or ended: a fatal mqtt_transport_error_t.
	 *  Called at most once; no other callback follows except on_release. */
	void (*on_error)(void *user, int code);
	/** After close: the transport no longer references its memory, which the
	 *  owner may now free. Called exactly once per close, either inside the
	 *  close call or later (lwIP: a DNS lookup that was still running).
	 *  May be NULL when the owner frees nothing. */
	void (*on_release)(void *user);
} mqtt_transport_callbacks_t;

#ifdef __cplusplus
}
#endif

#endif
