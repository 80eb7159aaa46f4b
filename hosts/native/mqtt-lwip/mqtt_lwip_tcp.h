/*
 * mqtt_lwip_tcp.h: an MQTT client connection over lwIP's raw TCP API.
 *
 * Theory of operation. One mqtt_lwip_tcp_t is one TCP connection to a
 * broker. It connects by IP address or by name (a resolver, by default
 * lwIP's dns_gethostbyname when LWIP_DNS is on), frames inbound bytes into
 * whole MQTT packets (mqtt_framing.h) and writes without blocking.
 *
 * States:
 *   IDLE --connect--> RESOLVING --name found--> CONNECTING --SYN/ACK-->
 *   CONNECTED; any fatal error --> FAILED (reported once by on_error);
 *   close, from any state --> CLOSED (terminal; on_release follows).
 *
 * Receive path. tcp_recv hands over pbufs; they are copied into the framer
 * until a packet is complete. Then framing stops: on_packet(length) fires
 * once, and later segments are kept, in order, as lwIP pbufs ("held") until
 * the owner has read the packet. Bytes are acknowledged to lwIP
 * (tcp_recved, which reopens the receive window) only once they are in the
 * framer, so a slow reader slows the broker down instead of growing memory:
 * the held pbufs never exceed the receive window (TCP_WND). A packet whose
 * fixed header announces more than the maximum packet size fails the
 * connection before its body is stored (PACKET_TOO_LARGE). A FIN from the
 * peer is reported (CLOSED_BY_PEER) only after every complete packet that
 * preceded it has been read.
 *
 * Send path. mqtt_lwip_tcp_write queues all of the bytes or none of them
 * (WOULD_BLOCK when they do not fit tcp_sndbuf; lwIP's tcp_write is itself
 * all-or-nothing). After WOULD_BLOCK, the next tcp_sent (the peer
 * acknowledged data) calls on_writable once. Unless MQTT_LWIP_WRITE_MORE is
 * given, the data is pushed out at once (tcp_output); Nagle is off by
 * default (tcp_nagle_disable): MQTT packets are small and latency matters.
 *
 * Copy or not (TCP_WRITE_FLAG_COPY). The default copies, for three reasons:
 * - the XS bindings write from ArrayBuffers in the XS heap, which XS may
 *   move or free when it runs again (the pointer from
 *   xsmcGetBufferReadable is only valid until the next allocation), while
 *   lwIP would read uncopied data until the peer acknowledges it, possibly
 *   after retransmissions;
 * - on ESP8266, frozen (preloaded) buffers live in flash, which lwIP cannot
 *   read byte by byte (see MQTT_LWIP_WRITE_STAGED);
 * - lwIP builds with LWIP_NETIF_TX_SINGLE_PBUF force TCP_WRITE_FLAG_COPY
 *   anyway (Debian's liblwip does; so does the ESP-IDF lwipopts.h seen
 *   while writing this).
 * MQTT_LWIP_WRITE_NOCOPY is there for C callers whose memory is static and
 * unchanged until mqtt_lwip_tcp_unacknowledged() has dropped past it.
 *
 * Threads. Owner-side functions (everything below except the callbacks) run
 * their body on the network side through config.run: on ESP32 the XS thread
 * blocks in tcpip_api_call while the lwIP thread executes it, so a pointer
 * into the XS heap passed to write or read_packet stays valid for the whole
 * call. Callbacks run on the network side (see mqtt_transport.h).
 *
 * Memory. The caller provides the struct and the packet buffer (maximum
 * packet size bytes); nothing is allocated here. lwIP allocates its pcb
 * and segments as usual.
 */

#ifndef MQTT_LWIP_TCP_H
#define MQTT_LWIP_TCP_H

#include "lwip/opt.h"
#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"

#include "mqtt_framing.h"
#include "mqtt_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Same shape as lwIP's dns_found_callback. `address` is NULL on failure. */
typedef void (*mqtt_lwip_resolved_fn)(const char *name, const ip_addr_t *address, void *argument);

/**
 * Same shape as lwIP's dns_gethostbyname: returns ERR_OK with *address set,
 * ERR_INPROGRESS and calls `found` later (network side), or another error.
 */
typedef err_t (*mqtt_lwip_resolve_fn)(const char *name, ip_addr_t *address,
		mqtt_lwip_resolved_fn found, void *argument);

/** Copies `length` bytes from memory lwIP must not read directly (flash). */
typedef void (*mqtt_lwip_load_fn)(void *destination, const void *source, size_t length);

/** Write flags (combine with |). */
enum {
	/** lwIP copies the bytes (the default when no flag is given). */
	MQTT_LWIP_WRITE_COPY = 0,
	/** More bytes follow at once: no PSH, no tcp_output yet. */
	MQTT_LWIP_WRITE_MORE = 1 << 0,
	/** lwIP references the caller's bytes until they are acknowledged. */
	MQTT_LWIP_WRITE_NOCOPY = 1 << 1,
	/** The bytes are read through config.load, MQTT_LWIP_STAGE_BYTES at a
	 *  time, into a stack buffer lwIP copies from (ESP8266 flash). */
	MQTT_LWIP_WRITE_STAGED = 1 << 2
};

/** Stack bytes used by a staged write. */
#define MQTT_LWIP_STAGE_BYTES 128

typedef struct {
	/** Required. Called on the network side; `user` is passed back. */
	const mqtt_transport_callbacks_t *callbacks;
	void *user;
	/** Required. Runs owner-side calls on the network side. */
	mqtt_run_fn run;
	void *run_context;
	/** Required: `maximum_packet_size` bytes, kept until on_release. */
	uint8_t *packet_buffer;
	/** Largest inbound packet, fixed header included (2..268435460). */
	uint32_t maximum_packet_size;
	/** Name resolver; NULL: dns_gethostbyname if LWIP_DNS, else names fail
	 *  with MQTT_TRANSPORT_ERR_ADDRESS. */
	mqtt_lwip_resolve_fn resolve;
	/** For MQTT_LWIP_WRITE_STAGED; NULL: staged writes fail with ARGUMENT. */
	mqtt_lwip_load_fn load;
	/** 1: disable Nagle (recommended); 0: leave lwIP's default. */
	uint8_t no_delay;
} mqtt_lwip_tcp_config_t;

typedef struct {
	uint32_t recv_callbacks;   /* tcp_recv calls with data */
	uint32_t packets;          /* on_packet calls */
	uint32_t bytes_framed;     /* bytes moved from pbufs into the framer */
} mqtt_lwip_tcp_stats_t;

/* Treat as opaque; fields are public only so the caller can allocate it. */
typedef struct {
	struct tcp_pcb *pcb;
	const mqtt_transport_callbacks_t *callbacks;
	void *user;
	mqtt_run_fn run;
	void *run_context;
	mqtt_lwip_resolve_fn resolve;
	mqtt_lwip_load_fn load;
	mqtt_framing_t framing;
	struct pbuf *held;        /* received, not yet framed; first pbuf partly used */
	struct pbuf *held_tail;
	u16_t held_offset;        /* bytes of `held` already framed */
	u16_t port;
	uint32_t unacknowledged;  /* bytes queued and not yet acknowledged */
	ip_addr_t address;
	uint8_t state;
	uint8_t no_delay;
	uint8_t resolving;        /* a resolver callback is still due */
	uint8_t writable_wanted;  /* a write was refused: report on tcp_sent */
	uint8_t peer_closed;      /* FIN seen */
	uint8_t error_reported;
	mqtt_lwip_tcp_stats_t stats;
} mqtt_lwip_tcp_t;

/**
 * Prepares a connection; no lwIP call. Returns MQTT_TRANSPORT_OK, or
 * MQTT_TRANSPORT_ERR_ARGUMENT when a required field is missing or the
 * maximum packet size is out of range.
 */
int mqtt_lwip_tcp_init(mqtt_lwip_tcp_t *tcp, const mqtt_lwip_tcp_config_t *config);

/**
 * Starts connecting to `host` (dotted IPv4, IPv6 when lwIP has it, or a
 * name) on `port`. `host` is only read during the call.
 * Returns MQTT_TRANSPORT_OK when the attempt is under way (on_connect or
 * on_error follows), or a final error (no callback follows): ARGUMENT,
 * STATE (not IDLE), ADDRESS, DNS, UNREACHABLE, NO_MEMORY, INTERNAL.
 */
int mqtt_lwip_tcp_connect(mqtt_lwip_tcp_t *tcp, const char *host, uint16_t port);

/**
 * Queues `length` bytes (at most 65535 per call), all or nothing.
 * Returns OK, WOULD_BLOCK (nothing queued; on_writable follows),
 * ARGUMENT, STATE (not connected), or NO_MEMORY / INTERNAL (a staged write
 * failed half-way: the connection is closed and on_error reports the same).
 */
int mqtt_lwip_tcp_write(mqtt_lwip_tcp_t *tcp, const void *data, size_t length, unsigned flags);

/** Bytes that a write can take now (tcp_sndbuf); 0 when not connected. */
size_t mqtt_lwip_tcp_writable(mqtt_lwip_tcp_t *tcp);

/** Bytes written and not yet acknowledged by the peer. */
uint32_t mqtt_lwip_tcp_unacknowledged(mqtt_lwip_tcp_t *tcp);

/** Length of the complete packet waiting to be read, 0 when none. */
size_t mqtt_lwip_tcp_packet_length(mqtt_lwip_tcp_t *tcp);

/**
 * Copies the waiting packet (fixed header included) into `destination` and
 * frees its place, which lets framing continue with the held bytes (the
 * next on_packet may fire during this call). Returns OK with *length set,
 * WOULD_BLOCK when no packet waits, or ARGUMENT when `capacity` is too
 * small (the packet stays).
 */
int mqtt_lwip_tcp_read_packet(mqtt_lwip_tcp_t *tcp, void *destination, size_t capacity, size_t *length);

/**
 * Closes (FIN; a reset when lwIP has no memory for it, or when unread data
 * is dropped), stops every callback, and calls on_release: at once, or when
 * a running name lookup ends. Idempotent.
 */
void mqtt_lwip_tcp_close(mqtt_lwip_tcp_t *tcp);

/** Counters, read on the network side. */
void mqtt_lwip_tcp_get_stats(mqtt_lwip_tcp_t *tcp, mqtt_lwip_tcp_stats_t *stats);

#if !NO_SYS
/**
 * The runner for lwIP with its own thread (ESP32, Linux): tcpip_api_call,
 * which runs `fn` on the lwIP thread (or under the core lock when
 * LWIP_TCPIP_CORE_LOCKING) and waits for it. Must not be called from the
 * lwIP thread itself.
 */
void mqtt_lwip_run_tcpip(void *context, void (*fn)(void *argument), void *argument);
#endif

#ifdef __cplusplus
}
#endif

#endif
