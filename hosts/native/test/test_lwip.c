/*
 * test_lwip.c: the lwIP transport (mqtt_lwip_tcp.h) against the real lwIP
 * stack of Debian's liblwip-dev, in-process.
 *
 * Setup. tcpip_init starts lwIP's own thread, as on an ESP32. A netif whose
 * output calls netif_loop_output, address 127.0.0.2/8, carries TCP between
 * the transport under test and an lwIP listener in this same process (the
 * "server" below, written against the raw API as well). Nothing reaches the
 * kernel's network, except the optional relay to a Mosquitto on 127.0.0.1.
 *
 * Threads, as on an ESP32: the transport runs its owner-side calls through
 * mqtt_lwip_run_tcpip (tcpip_api_call; this lwIP build has
 * LWIP_TCPIP_CORE_LOCKING, so the call runs under the core lock), its lwIP
 * callbacks run on the lwIP thread, and the notification latch
 * (mqtt_events.h) posts to this test's main thread, which plays the XS
 * machine: it takes the events and reads one packet per onReadable, as the
 * XS binding does.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

#include "mqtt_events.h"
#include "mqtt_lwip_tcp.h"
#include "runner.h"
#include "test_support.h"

/* ---- lwIP, once per process ---- */

static struct netif loop_netif;
static volatile int tcpip_started;
static int lwip_ready;

static void net_run(void (*fn)(void *), void *argument)
{
	mqtt_lwip_run_tcpip(NULL, fn, argument);
}

static err_t loop_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *address)
{
	(void)address;
	return netif_loop_output(netif, p);
}

static err_t loop_netif_init(struct netif *netif)
{
	netif->name[0] = 'l';
	netif->name[1] = 't';
	netif->output = loop_output;
	netif->mtu = 1500;
	return ERR_OK;
}

static void netif_setup_body(void *argument)
{
	ip4_addr_t address, netmask, gateway;

	(void)argument;
	IP4_ADDR(&address, 127, 0, 0, 2);
	IP4_ADDR(&netmask, 255, 0, 0, 0);
	IP4_ADDR(&gateway, 0, 0, 0, 0);
	netif_add(&loop_netif, &address, &netmask, &gateway, NULL, loop_netif_init, tcpip_input);
	netif_set_up(&loop_netif);
	netif_set_link_up(&loop_netif);
	/* No default netif: addresses outside 127/8 have no route (ERR_RTE). */
}

static void tcpip_done(void *argument)
{
	(void)argument;
	tcpip_started = 1;
}

static int lwip_setup(void)
{
	uint64_t deadline;

	if (lwip_ready)
		return 1;
	tcpip_init(tcpip_done, NULL);
	deadline = now_ms() + 5000;
	while (!tcpip_started && now_ms() < deadline)
		sleep_ms(1);
	if (!tcpip_started)
		return 0;
	net_run(netif_setup_body, NULL);
	lwip_ready = 1;
	return 1;
}

/* ---- the lwIP server (network side only, except where noted) ---- */

typedef struct {
	struct tcp_pcb *listener;
	struct tcp_pcb *pcb;
	u16_t port;
	int accepted;
	uint8_t *received;
	size_t received_length;
	size_t received_capacity;
	int hold;                 /* 1: do not tcp_recved (the window closes) */
	size_t not_recved;
	int peer_closed;
	int errored;
	err_t error;
	int segments;
	int relay_fd;             /* >= 0: forward received bytes there */
} server_t;

static server_t server = { .relay_fd = -1 };

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (NULL == p) {
		server.peer_closed = 1;
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		tcp_err(pcb, NULL);
		if (ERR_OK != tcp_close(pcb)) {
			tcp_abort(pcb);
			server.pcb = NULL;
			return ERR_ABRT;
		}
		server.pcb = NULL;
		return ERR_OK;
	}
	if (server.received_length + p->tot_len > server.received_capacity) {
		size_t capacity = (server.received_capacity ? server.received_capacity * 2 : 65536) + p->tot_len;
		server.received = realloc(server.received, capacity);
		server.received_capacity = capacity;
	}
	pbuf_copy_partial(p, server.received + server.received_length, p->tot_len, 0);
	if (server.relay_fd >= 0) {
		ssize_t sent = send(server.relay_fd, server.received + server.received_length, p->tot_len, MSG_NOSIGNAL);
		(void)sent;
	}
	server.received_length += p->tot_len;
	server.segments += 1;
	if (server.hold)
		server.not_recved += p->tot_len;
	else
		tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void server_err(void *arg, err_t err)
{
	(void)arg;
	server.errored = 1;
	server.error = err;
	server.pcb = NULL;
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if ((ERR_OK != err) || (NULL == pcb))
		return ERR_VAL;
	if (server.pcb) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	server.pcb = pcb;
	server.accepted += 1;
	tcp_arg(pcb, &server);
	tcp_recv(pcb, server_recv);
	tcp_err(pcb, server_err);
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

static void server_listen_body(void *argument)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	ip_addr_t address;

	(void)argument;
	IP_ADDR4(&address, 127, 0, 0, 2);
	if (!pcb || ERR_OK != tcp_bind(pcb, &address, 0))
		return;
	server.listener = tcp_listen(pcb);
	if (!server.listener)
		return;
	server.port = server.listener->local_port;
	tcp_accept(server.listener, server_accept);
}

/* Main thread: drops any connection and clears what was observed. */
static void server_reset_body(void *argument)
{
	(void)argument;
	if (server.pcb) {
		tcp_arg(server.pcb, NULL);
		tcp_recv(server.pcb, NULL);
		tcp_err(server.pcb, NULL);
		tcp_abort(server.pcb);
		server.pcb = NULL;
	}
	free(server.received);
	server.received = NULL;
	server.received_length = server.received_capacity = 0;
	server.accepted = server.hold = server.peer_closed = server.errored = server.segments = 0;
	server.not_recved = 0;
	server.error = ERR_OK;
	server.relay_fd = -1;
}

static int server_start(void)
{
	if (!lwip_setup())
		return 0;
	if (!server.listener)
		net_run(server_listen_body, NULL);
	net_run(server_reset_body, NULL);
	return NULL != server.listener;
}

typedef struct {
	const uint8_t *data;
	size_t length;
	int separate;
	int result;   /* 1 written, 0 not yet possible, -1 no connection */
} server_write_t;

static void server_write_body(void *argument)
{
	server_write_t *w = argument;
	struct tcp_pcb *pcb = server.pcb;

	if (!pcb) {
		w->result = -1;
		return;
	}
	/* lwIP appends small writes to a segment not sent yet; once nothing is
	 * unsent, the next write starts a segment of its own. */
	if ((tcp_sndbuf(pcb) < w->length) || (w->separate && pcb->unsent)) {
		w->result = 0;
		return;
	}
	w->result = (ERR_OK == tcp_write(pcb, w->data, (u16_t)w->length, TCP_WRITE_FLAG_COPY)) ? 1 : 0;
	if (1 == w->result)
		tcp_output(pcb);
}

/*
 * Main thread: sends `data` in writes of `segment` bytes. With `separate`,
 * each write waits until the previous one has left the unsent queue, so
 * that every write travels as its own TCP segment. Returns 0, or -1 on
 * timeout.
 */
static int server_send(const uint8_t *data, size_t length, size_t segment, int separate)
{
	size_t at = 0;
	uint64_t deadline = now_ms() + 10000;

	while (at < length) {
		server_write_t w = { data + at, (length - at < segment) ? length - at : segment, separate, 0 };
		net_run(server_write_body, &w);
		if (w.result < 0)
			return -1;
		if (w.result > 0) {
			at += w.length;
			continue;
		}
		if (now_ms() > deadline)
			return -1;
		usleep(200);
	}
	return 0;
}

static void server_close_body(void *argument)
{
	(void)argument;
	if (server.pcb) {
		tcp_recv(server.pcb, NULL);
		tcp_close(server.pcb);
		server.pcb = NULL;
	}
}

static void server_abort_body(void *argument)
{
	(void)argument;
	if (server.pcb) {
		tcp_arg(server.pcb, NULL);
		tcp_err(server.pcb, NULL);
		tcp_recv(server.pcb, NULL);
		tcp_abort(server.pcb);	/* sends RST */
		server.pcb = NULL;
	}
}

static void server_release_window_body(void *argument)
{
	(void)argument;
	server.hold = 0;
	if (server.pcb) {
		while (server.not_recved) {
			u16_t part = server.not_recved > 0xFFFF ? 0xFFFF : (u16_t)server.not_recved;
			tcp_recved(server.pcb, part);
			server.not_recved -= part;
		}
	}
}

static void server_hold_body(void *argument)
{
	(void)argument;
	server.hold = 1;
}

typedef struct {
	size_t received_length;
	int accepted;
	int peer_closed;
	int errored;
	err_t error;
	int segments;
	int has_pcb;
	int unsent;
} server_view_t;

static void server_view_body(void *argument)
{
	server_view_t *v = argument;
	v->received_length = server.received_length;
	v->accepted = server.accepted;
	v->peer_closed = server.peer_closed;
	v->errored = server.errored;
	v->error = server.error;
	v->segments = server.segments;
	v->has_pcb = NULL != server.pcb;
	v->unsent = server.pcb && (server.pcb->unsent || server.pcb->unacked);
}

static server_view_t server_view(void)
{
	server_view_t v;
	net_run(server_view_body, &v);
	return v;
}

/* ---- the client under test and its "XS machine" (the main thread) ---- */

static pthread_mutex_t machine_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t machine_cond = PTHREAD_COND_INITIALIZER;

typedef struct {
	mqtt_lwip_tcp_t tcp;
	mqtt_events_t events;
	uint8_t *buffer;
	uint32_t maximum;
	/* under machine_lock (written on the network side) */
	unsigned posted;
	unsigned released;
	/* main thread only */
	unsigned delivered;
	int auto_read;           /* read one packet per onReadable, like JS would */
	int connected;
	size_t connect_writable;
	int error;
	int writable_events;
	size_t last_writable;
	int readable_events;
	uint8_t *received;       /* packets read, concatenated */
	size_t received_length;
	size_t received_capacity;
	size_t packets_read;
	size_t packet_lengths[256];
} client_t;

static int client_post(void *context)
{
	client_t *c = context;
	pthread_mutex_lock(&machine_lock);
	c->posted += 1;
	pthread_cond_broadcast(&machine_cond);
	pthread_mutex_unlock(&machine_lock);
	return 0;
}

static void client_released(void *context)
{
	client_t *c = context;
	pthread_mutex_lock(&machine_lock);
	c->released += 1;
	pthread_cond_broadcast(&machine_cond);
	pthread_mutex_unlock(&machine_lock);
}

static int client_read_one(client_t *c)
{
	size_t length = mqtt_lwip_tcp_packet_length(&c->tcp), got = 0;
	int result;

	if (!length)
		return 0;
	if (c->received_length + length > c->received_capacity) {
		c->received_capacity = (c->received_length + length) * 2;
		c->received = realloc(c->received, c->received_capacity);
	}
	result = mqtt_lwip_tcp_read_packet(&c->tcp, c->received + c->received_length, length, &got);
	if ((MQTT_TRANSPORT_OK != result) || (got != length))
		return -1;
	c->received_length += got;
	if (c->packets_read < 256)
		c->packet_lengths[c->packets_read] = got;
	c->packets_read += 1;
	return 1;
}

/* What the XS binding's deliver function does, minus JavaScript. */
static void client_deliver(client_t *c)
{
	mqtt_events_snapshot_t snapshot;

	mqtt_events_take(&c->events, mqtt_lwip_run_tcpip, NULL, &snapshot);
	if (snapshot.events & MQTT_EVENT_CONNECT) {
		c->connected = 1;
		c->connect_writable = snapshot.writable;
	}
	if (snapshot.events & MQTT_EVENT_PACKET) {
		c->readable_events += 1;
		if (c->auto_read)
			client_read_one(c);
	}
	if (snapshot.events & MQTT_EVENT_WRITABLE) {
		c->writable_events += 1;
		c->last_writable = snapshot.writable;
	}
	if (snapshot.events & MQTT_EVENT_ERROR)
		c->error = snapshot.error;
}

static void client_service(client_t *c, unsigned wait_ms)
{
	unsigned posted;

	pthread_mutex_lock(&machine_lock);
	if ((c->posted == c->delivered) && wait_ms) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)wait_ms * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec += 1;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&machine_cond, &machine_lock, &until);
	}
	posted = c->posted;
	pthread_mutex_unlock(&machine_lock);
	while (c->delivered != posted) {
		c->delivered += 1;
		client_deliver(c);
	}
}

typedef int (*predicate_t)(client_t *c, long argument);

static int client_wait(client_t *c, predicate_t predicate, long argument, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		client_service(c, 0);
		if (predicate(c, argument))
			return 1;
		if (now_ms() >= deadline)
			return 0;
		client_service(c, 5);
	}
}

static int is_connected(client_t *c, long unused) { (void)unused; return c->connected; }
static int has_error(client_t *c, long unused) { (void)unused; return 0 != c->error; }
static int has_read(client_t *c, long count) { return c->packets_read >= (size_t)count; }
static int has_readable(client_t *c, long count) { return c->readable_events >= count; }
static int has_writable(client_t *c, long count) { return c->writable_events >= count; }
static int has_released(client_t *c, long count)
{
	int done;
	pthread_mutex_lock(&machine_lock);
	done = c->released >= (unsigned)count;
	pthread_mutex_unlock(&machine_lock);
	return done;
}
static int server_has(client_t *c, long bytes) { (void)c; return server_view().received_length >= (size_t)bytes; }
static int server_gone(client_t *c, long unused)
{
	server_view_t v = server_view();
	(void)c;
	(void)unused;
	return v.peer_closed || v.errored || !v.has_pcb;
}
static int unacknowledged_zero(client_t *c, long unused) { (void)unused; return 0 == mqtt_lwip_tcp_unacknowledged(&c->tcp); }
static int waited(client_t *c, long unused) { (void)c; (void)unused; return 0; }

static mqtt_lwip_resolve_fn test_resolver;
static mqtt_lwip_load_fn test_loader;

static client_t *client_new(uint32_t maximum)
{
	client_t *c = calloc(1, sizeof(client_t));
	mqtt_lwip_tcp_config_t config;

	c->maximum = maximum;
	c->buffer = malloc(maximum);
	c->auto_read = 1;
	mqtt_events_init(&c->events, client_post, client_released, c);
	memset(&config, 0, sizeof(config));
	config.callbacks = &mqtt_events_callbacks;
	config.user = &c->events;
	config.run = mqtt_lwip_run_tcpip;
	config.packet_buffer = c->buffer;
	config.maximum_packet_size = maximum;
	config.resolve = test_resolver;
	config.load = test_loader;
	config.no_delay = 1;
	if (MQTT_TRANSPORT_OK != mqtt_lwip_tcp_init(&c->tcp, &config)) {
		free(c->buffer);
		free(c);
		return NULL;
	}
	return c;
}

/* Closes, waits for on_release, frees. */
static void client_free(client_t *c)
{
	if (!c)
		return;
	mqtt_lwip_tcp_close(&c->tcp);
	client_wait(c, has_released, 1, 2000);
	free(c->received);
	free(c->buffer);
	free(c);
}

static client_t *connected_client(uint32_t maximum)
{
	client_t *c;
	char host[] = "127.0.0.2";

	if (!server_start())
		return NULL;
	c = client_new(maximum);
	if (!c)
		return NULL;
	if ((MQTT_TRANSPORT_OK != mqtt_lwip_tcp_connect(&c->tcp, host, server.port))
			|| !client_wait(c, is_connected, 0, 3000)) {
		client_free(c);
		return NULL;
	}
	return c;
}

/* ---- tests ---- */

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	int nodelay;
	int has_pcb;
} nagle_view_t;

static void nagle_body(void *argument)
{
	nagle_view_t *v = argument;
	v->has_pcb = NULL != v->tcp->pcb;
	v->nodelay = v->has_pcb && tcp_nagle_disabled(v->tcp->pcb);
}

static void connects_by_address_with_nagle_off(void)
{
	client_t *c = connected_client(64);
	nagle_view_t v;

	REQUIRE(c, "connected to the lwIP listener at 127.0.0.2");
	CHECK_EQ(server_view().accepted, 1, "server accepted one connection");
	CHECK_EQ(c->connect_writable, TCP_SND_BUF, "on_connect reports tcp_sndbuf (TCP_SND_BUF of this build)");
	CHECK_EQ(mqtt_lwip_tcp_writable(&c->tcp), TCP_SND_BUF, "writable");
	v.tcp = &c->tcp;
	net_run(nagle_body, &v);
	CHECK(v.has_pcb && v.nodelay, "TCP_NODELAY: tcp_nagle_disabled on the client pcb");
	CHECK_EQ(c->error, 0, "no error");
	client_free(c);
}

/* PINGRESP + PUBLISH(RL 200) + CONNACK: 209 bytes. */
static size_t small_stream(uint8_t *out)
{
	static const uint8_t pingresp[] = { 0xD0, 0x00 }, connack[] = { 0x20, 0x02, 0x00, 0x00 };
	size_t n = 0;
	memcpy(out, pingresp, 2);
	n = 2;
	n += mqtt_build_publish("a/b", 195, out + n);	/* RL 2 + 3 + 195 = 200: C8 01 */
	memcpy(out + n, connack, 4);
	return n + 4;
}

static void frames_across_every_two_segment_split_over_tcp(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream), k;
	client_t *c = connected_client(256);
	mqtt_lwip_tcp_stats_t before, after;
	unsigned wakeups_before;

	REQUIRE(c, "connected");
	REQUIRE(length == 209 && stream[3] == 0xC8 && stream[4] == 0x01, "stream as documented");
	mqtt_lwip_tcp_get_stats(&c->tcp, &before);
	wakeups_before = c->delivered;

	for (k = 1; k < length && !test_failed; k++) {
		size_t packets = c->packets_read;
		REQUIRE(0 == server_send(stream, k, k, 1), "first segment");
		REQUIRE(0 == server_send(stream + k, length - k, length, 1), "second segment");
		if (!client_wait(c, has_read, (long)(packets + 3), 3000))
			CHECK(0, "split at %zu: %zu of 3 packets", k, c->packets_read - packets);
	}
	mqtt_lwip_tcp_get_stats(&c->tcp, &after);
	CHECK_EQ(c->received_length, (length - 1) * length, "every byte of every round delivered");
	for (k = 0; k + 1 < length && !test_failed; k++)
		CHECK(!memcmp(c->received + k * length, stream, length), "round %zu bytes", k);
	CHECK_EQ(after.packets - before.packets, 3 * (length - 1), "one on_packet per packet");
	CHECK_EQ(after.recv_callbacks - before.recv_callbacks, 2 * (length - 1), "two segments per round reached tcp_recv");
	CHECK_EQ(c->delivered - wakeups_before, 3 * (length - 1), "the machine woke once per packet");
	CHECK_EQ(c->error, 0, "no error");
	client_free(c);
}

static void wakes_once_per_packet_with_one_byte_segments(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream);
	client_t *c = connected_client(256);
	mqtt_lwip_tcp_stats_t stats;

	REQUIRE(c, "connected");
	REQUIRE(0 == server_send(stream, length, 1, 1), "209 one-byte segments");
	CHECK(client_wait(c, has_read, 3, 5000), "three packets read");
	mqtt_lwip_tcp_get_stats(&c->tcp, &stats);
	CHECK_EQ(stats.recv_callbacks, 209, "209 segments reached tcp_recv");
	CHECK_EQ(stats.packets, 3, "three on_packet");
	CHECK_EQ(c->delivered, 4, "four wakeups: connect + one per packet");
	CHECK(c->received_length == length && !memcmp(c->received, stream, length), "bytes intact");
	client_free(c);
}

/* Three- and four-byte Remaining Lengths, carried by many segments. */
static void frames_large_packets_over_many_segments(void)
{
	static const size_t payloads[2] = { 16384, 2097152 };
	uint8_t *packet = malloc(2097152 + 16);
	client_t *c = connected_client(2097152 + 16);
	int k;

	REQUIRE(packet && c, "connected");
	for (k = 0; k < 2 && !test_failed; k++) {
		size_t length = mqtt_build_publish("a/b", payloads[k], packet);
		size_t start = c->received_length;
		/* 1 type byte + Remaining Length bytes + topic (2 + 3) + payload */
		CHECK_EQ(length - 1 - 5 - payloads[k], k + 3, "Remaining Length bytes");
		REQUIRE(0 == server_send(packet, length, 1000, 0), "sent in 1000-byte writes");
		CHECK(client_wait(c, has_read, k + 1, 10000), "packet %d read", k);
		CHECK(c->received_length - start == length && !memcmp(c->received + start, packet, length),
				"packet %d intact (%zu bytes)", k, length);
	}
	CHECK_EQ(c->readable_events, 2, "one onReadable per packet");
	free(packet);
	client_free(c);
}

/*
 * A reader that does not read: framing stops after one packet, the rest
 * stays in lwIP pbufs unacknowledged to lwIP, the receive window closes and
 * the sender stalls. Reading then delivers everything, in order.
 */
static void slow_reader_closes_the_window_instead_of_growing(void)
{
	enum { COUNT = 300, PAYLOAD = 995 };
	uint8_t one[1024];
	uint8_t *all = malloc(COUNT * 1024);
	size_t one_length = mqtt_build_publish("a/b", PAYLOAD, one), i;
	client_t *c = connected_client(1024);
	mqtt_lwip_tcp_stats_t stats;
	server_write_t w;
	size_t queued = 0;
	uint64_t deadline;

	REQUIRE(c && all, "connected");
	REQUIRE(one_length == 1003, "1003-byte packets");
	for (i = 0; i < COUNT; i++)
		memcpy(all + i * one_length, one, one_length);
	c->auto_read = 0;

	/* Queue as much as the server's send buffer takes, for 300 ms. */
	deadline = now_ms() + 300;
	while (queued < COUNT * one_length && now_ms() < deadline) {
		w = (server_write_t){ all + queued, (COUNT * one_length - queued) > 1000 ? 1000 : COUNT * one_length - queued, 0, 0 };
		net_run(server_write_body, &w);
		if (w.result > 0)
			queued += w.length;
		else
			usleep(500);
	}
	client_wait(c, waited, 0, 100);
	mqtt_lwip_tcp_get_stats(&c->tcp, &stats);
	CHECK_EQ(stats.packets, 1, "one packet announced while unread");
	CHECK_EQ(c->readable_events, 1, "one onReadable");
	CHECK(queued < COUNT * one_length, "the sender stalled: %zu of %zu bytes queued", queued, (size_t)COUNT * one_length);
	CHECK(server_view().unsent, "the sender has unacknowledged data waiting for the window");

	/* Now read everything, one packet per onReadable. */
	c->auto_read = 1;
	client_read_one(c);
	deadline = now_ms() + 10000;
	while (queued < COUNT * one_length && now_ms() < deadline) {
		w = (server_write_t){ all + queued, (COUNT * one_length - queued) > 1000 ? 1000 : COUNT * one_length - queued, 0, 0 };
		net_run(server_write_body, &w);
		if (w.result > 0)
			queued += w.length;
		else
			client_service(c, 1);
	}
	CHECK(client_wait(c, has_read, COUNT, 10000), "all %d packets read (%zu)", COUNT, c->packets_read);
	CHECK(c->received_length == COUNT * one_length && !memcmp(c->received, all, COUNT * one_length), "in order, intact");
	free(all);
	client_free(c);
}

static uint8_t pattern_byte(size_t index)
{
	return (uint8_t)(index * 13 + 7);
}

/*
 * The server stops reading: the client's writes fill the window and then
 * tcp_sndbuf; a refused write resumes after tcp_sent reports room.
 */
static void blocked_writer_resumes_on_tcp_sent(void)
{
	uint8_t chunk[1000];
	client_t *c = connected_client(64);
	size_t written = 0, i;
	int result = MQTT_TRANSPORT_OK, refusals = 0, base;
	uint64_t deadline, blocked_since = 0;

	REQUIRE(c, "connected");
	net_run(server_hold_body, NULL);
	/* Write until writes stay refused for 300 ms: by then the peer's
	 * receive window is closed and our tcp_sndbuf is used up. */
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern_byte(written + i);
		result = mqtt_lwip_tcp_write(&c->tcp, chunk, sizeof(chunk), 0);
		if (MQTT_TRANSPORT_OK == result) {
			written += sizeof(chunk);
			blocked_since = 0;
			client_service(c, 0);
			continue;
		}
		REQUIRE(MQTT_TRANSPORT_ERR_WOULD_BLOCK == result, "write: %s", mqtt_transport_error_name(result));
		if (!blocked_since)
			blocked_since = now_ms();
		else if (now_ms() - blocked_since > 300)
			break;
		client_wait(c, waited, 0, 20);
	}
	CHECK_EQ(result, MQTT_TRANSPORT_ERR_WOULD_BLOCK, "a write was refused when tcp_sndbuf ran out");
	CHECK(mqtt_lwip_tcp_writable(&c->tcp) < sizeof(chunk), "writable below one chunk");
	CHECK(written > TCP_SND_BUF, "the peer's window and our send buffer were both filled (%zu bytes)", written);
	base = c->writable_events;
	client_wait(c, waited, 0, 200);
	CHECK_EQ(c->writable_events, base, "no onWritable while the peer reads nothing");
	/* Nothing moves now: every byte lwIP holds for sending is counted. */
	CHECK_EQ(mqtt_lwip_tcp_unacknowledged(&c->tcp) + mqtt_lwip_tcp_writable(&c->tcp), TCP_SND_BUF,
			"unacknowledged + writable = TCP_SND_BUF");
	CHECK_EQ(mqtt_lwip_tcp_unacknowledged(&c->tcp), written - server_view().received_length,
			"unacknowledged = written - received by the peer");

	net_run(server_release_window_body, NULL);
	refusals = 1;
	do {
		/* The first acknowledgement may free little (a window probe), so a
		 * resumed write may be refused again: one onWritable per refusal. */
		CHECK(client_wait(c, has_writable, base + refusals, 5000), "onWritable after tcp_sent (refusal %d)", refusals);
		result = mqtt_lwip_tcp_write(&c->tcp, chunk, sizeof(chunk), 0);
		if (MQTT_TRANSPORT_ERR_WOULD_BLOCK == result)
			refusals++;
	} while ((MQTT_TRANSPORT_ERR_WOULD_BLOCK == result) && (refusals < 10) && !test_failed);
	CHECK_EQ(result, MQTT_TRANSPORT_OK, "the writer resumes");
	written += sizeof(chunk);	/* same bytes as the refused write */

	CHECK(client_wait(c, server_has, (long)written, 5000), "server received %zu bytes", written);
	{
		int intact = server.received_length == written;
		for (i = 0; intact && i < written; i++)
			intact = server.received[i] == pattern_byte(i);
		CHECK(intact, "every byte in order");
	}
	CHECK(client_wait(c, unacknowledged_zero, 0, 5000), "all acknowledged");
	CHECK_EQ(c->writable_events - base, refusals, "onWritable once per refusal after room was freed");
	client_free(c);
}

static void rejects_oversize_packet_before_its_body_and_closes(void)
{
	uint8_t header[3] = { 0x30, 0xC8, 0x01 };	/* PUBLISH, RL 200: 203 bytes */
	client_t *c = connected_client(128);
	mqtt_lwip_tcp_stats_t stats;

	REQUIRE(c, "connected");
	REQUIRE(0 == server_send(header, sizeof(header), 3, 1), "header only; the body never comes");
	CHECK(client_wait(c, has_error, 0, 3000), "error without waiting for the body");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE, "PACKET_TOO_LARGE");
	mqtt_lwip_tcp_get_stats(&c->tcp, &stats);
	CHECK_EQ(stats.bytes_framed, 3, "only the fixed header was taken in");
	CHECK_EQ(stats.packets, 0, "nothing delivered");
	CHECK_EQ(mqtt_lwip_tcp_packet_length(&c->tcp), 0, "nothing to read");
	CHECK(client_wait(c, server_gone, 0, 3000), "the connection was closed");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, header, 3, 0), MQTT_TRANSPORT_ERR_STATE, "writes refused after");
	client_free(c);
}

static void rejects_malformed_remaining_length_and_closes(void)
{
	uint8_t header[6] = { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
	client_t *c = connected_client(1024);

	REQUIRE(c, "connected");
	REQUIRE(0 == server_send(header, sizeof(header), 6, 1), "sent");
	CHECK(client_wait(c, has_error, 0, 3000), "error");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_MALFORMED, "MALFORMED (five length bytes)");
	CHECK(client_wait(c, server_gone, 0, 3000), "the connection was closed");
	client_free(c);
}

static void reports_remote_close_after_the_last_packet(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream);
	client_t *c = connected_client(256);

	REQUIRE(c, "connected");
	c->auto_read = 0;
	REQUIRE(0 == server_send(stream, length, length, 1), "three packets");
	net_run(server_close_body, NULL);
	CHECK(client_wait(c, has_readable, 1, 3000), "first packet announced");
	client_wait(c, waited, 0, 100);
	CHECK_EQ(c->error, 0, "FIN not reported while packets wait");
	CHECK_EQ(client_read_one(c), 1, "packet 1");
	client_wait(c, has_readable, 2, 1000);
	CHECK_EQ(c->error, 0, "still not reported");
	CHECK_EQ(client_read_one(c), 1, "packet 2");
	CHECK(client_wait(c, has_readable, 3, 1000), "packet 3 announced");
	CHECK_EQ(c->error, 0, "not reported while the last packet waits");
	CHECK_EQ(client_read_one(c), 1, "packet 3");
	CHECK(client_wait(c, has_error, 0, 3000), "then the close");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_CLOSED_BY_PEER, "CLOSED_BY_PEER");
	CHECK(c->received_length == length && !memcmp(c->received, stream, length), "all bytes first");
	client_free(c);
}

static void reports_a_reset_by_the_peer(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream);
	client_t *c = connected_client(256);

	REQUIRE(c, "connected");
	c->auto_read = 0;
	REQUIRE(0 == server_send(stream, length, length, 1), "three packets, unread");
	CHECK(client_wait(c, has_readable, 1, 3000), "first announced");
	net_run(server_abort_body, NULL);
	CHECK(client_wait(c, has_error, 0, 3000), "error");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_RESET, "RESET");
	CHECK_EQ(client_read_one(c), 1, "the packet complete before the reset can still be read");
	CHECK(c->received_length == 2 && !memcmp(c->received, stream, 2), "it is the PINGRESP");
	CHECK_EQ(mqtt_lwip_tcp_packet_length(&c->tcp), 0, "bytes after it were dropped with the connection");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, stream, 2, 0), MQTT_TRANSPORT_ERR_STATE, "no writes after a reset");
	client_free(c);
}

static void reports_connection_refused(void)
{
	client_t *c;
	char host[] = "127.0.0.2";

	REQUIRE(server_start(), "lwIP up");
	c = client_new(64);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, host, (uint16_t)(server.port + 1)), MQTT_TRANSPORT_OK, "under way");
	CHECK(client_wait(c, has_error, 0, 3000), "error");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_REFUSED, "REFUSED (RST to our SYN)");
	CHECK_EQ(c->connected, 0, "never connected");
	client_free(c);
}

static void reports_no_route_at_once(void)
{
	client_t *c;
	char host[] = "10.1.2.3";

	REQUIRE(server_start(), "lwIP up");
	c = client_new(64);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, host, 1883), MQTT_TRANSPORT_ERR_UNREACHABLE, "UNREACHABLE from tcp_connect (ERR_RTE)");
	client_wait(c, waited, 0, 50);
	CHECK_EQ(c->delivered, 0, "no callback after a final connect result");
	client_free(c);
}

/* ---- name resolution through an injected resolver ----
 * Debian's lwIP is built without LWIP_DNS, so dns_gethostbyname does not
 * exist here. The resolver hook has its exact shape; this fake answers
 * like it: ERR_OK at once, or ERR_INPROGRESS and the answer later on the
 * lwIP thread (tcpip_callback). */

static int fake_mode;            /* 0 sync OK, 1 async OK, 2 async failure, 3 held, 4 ERR_ARG */
static mqtt_lwip_resolved_fn fake_found;
static void *fake_argument;
static int fake_calls;
static char fake_name[64];

static err_t fake_resolve(const char *name, ip_addr_t *address, mqtt_lwip_resolved_fn found, void *argument)
{
	fake_calls++;
	snprintf(fake_name, sizeof(fake_name), "%s", name);
	if (4 == fake_mode)
		return ERR_ARG;
	if (0 == fake_mode) {
		IP_ADDR4(address, 127, 0, 0, 2);
		return ERR_OK;
	}
	fake_found = found;
	fake_argument = argument;
	return ERR_INPROGRESS;
}

static void fake_answer(void *context)
{
	ip_addr_t address;
	(void)context;
	IP_ADDR4(&address, 127, 0, 0, 2);
	fake_found(fake_name, (2 == fake_mode) ? NULL : &address, fake_argument);
}

static client_t *resolver_client(int mode)
{
	client_t *c;
	fake_mode = mode;
	fake_calls = 0;
	test_resolver = fake_resolve;
	c = client_new(64);
	test_resolver = NULL;
	return c;
}

static void connects_by_name_through_the_resolver(void)
{
	client_t *c;
	char name[] = "broker.test";
	int mode;

	REQUIRE(server_start(), "lwIP up");
	for (mode = 0; mode <= 1; mode++) {
		c = resolver_client(mode);
		REQUIRE(c, "client");
		CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, name, server.port), MQTT_TRANSPORT_OK, "under way");
		CHECK_EQ(fake_calls, 1, "resolver asked once");
		CHECK(!strcmp(fake_name, "broker.test"), "with the name");
		if (1 == mode)
			tcpip_callback(fake_answer, NULL);
		CHECK(client_wait(c, is_connected, 0, 3000), "%s answer: connected", mode ? "later" : "immediate");
		client_free(c);
		net_run(server_reset_body, NULL);
	}
}

static void reports_unresolved_names(void)
{
	client_t *c;
	char name[] = "nowhere.test";

	REQUIRE(server_start(), "lwIP up");
	c = resolver_client(2);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, name, 1883), MQTT_TRANSPORT_OK, "under way");
	tcpip_callback(fake_answer, NULL);
	CHECK(client_wait(c, has_error, 0, 3000), "error");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_DNS, "DNS (lookup answered NULL)");
	client_free(c);

	c = resolver_client(4);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, name, 1883), MQTT_TRANSPORT_ERR_DNS, "DNS at once (resolver refused)");
	client_free(c);

	c = client_new(64);	/* no resolver, and this lwIP has no LWIP_DNS */
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, name, 1883), MQTT_TRANSPORT_ERR_ADDRESS, "ADDRESS without a resolver");
	client_free(c);
}

static void close_during_lookup_defers_release_until_the_answer(void)
{
	client_t *c;
	char name[] = "slow.test";

	REQUIRE(server_start(), "lwIP up");
	c = resolver_client(3);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, name, server.port), MQTT_TRANSPORT_OK, "under way");
	mqtt_lwip_tcp_close(&c->tcp);
	client_wait(c, waited, 0, 50);
	CHECK(!has_released(c, 1), "not released while the resolver still holds our pointer");
	fake_mode = 1;
	tcpip_callback(fake_answer, NULL);
	CHECK(client_wait(c, has_released, 1, 3000), "released when the answer came");
	client_wait(c, waited, 0, 100);
	CHECK_EQ(c->connected, 0, "no connection after close");
	CHECK_EQ(c->error, 0, "no error after close");
	CHECK_EQ(server_view().accepted, 0, "nothing reached the server");
	free(c->received);
	free(c->buffer);
	free(c);
}

/* ---- writes ---- */

static uint8_t static_bytes[5000];

static void nocopy_write_tracks_unacknowledged_bytes(void)
{
	client_t *c = connected_client(64);
	size_t i;

	REQUIRE(c, "connected");
	for (i = 0; i < sizeof(static_bytes); i++)
		static_bytes[i] = pattern_byte(i);
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, static_bytes, sizeof(static_bytes), MQTT_LWIP_WRITE_NOCOPY), MQTT_TRANSPORT_OK, "write");
	CHECK(mqtt_lwip_tcp_unacknowledged(&c->tcp) <= sizeof(static_bytes), "counted");
	CHECK(client_wait(c, unacknowledged_zero, 0, 3000), "acknowledged: the memory may be reused");
	CHECK(client_wait(c, server_has, sizeof(static_bytes), 3000), "received");
	CHECK(server.received_length == sizeof(static_bytes) && !memcmp(server.received, static_bytes, sizeof(static_bytes)), "intact");
	client_free(c);
}

static int loads;

static void counting_load(void *destination, const void *source, size_t length)
{
	loads++;
	memcpy(destination, source, length);
}

static void staged_write_copies_through_the_loader(void)
{
	client_t *c;
	uint8_t bytes[1000];
	size_t i;

	test_loader = counting_load;
	c = connected_client(64);
	test_loader = NULL;
	REQUIRE(c, "connected");
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = pattern_byte(i);
	loads = 0;
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, bytes, sizeof(bytes), MQTT_LWIP_WRITE_STAGED), MQTT_TRANSPORT_OK, "write");
	CHECK_EQ(loads, (sizeof(bytes) + MQTT_LWIP_STAGE_BYTES - 1) / MQTT_LWIP_STAGE_BYTES, "read in 128-byte pieces");
	CHECK(client_wait(c, server_has, sizeof(bytes), 3000), "received");
	CHECK(server.received_length == sizeof(bytes) && !memcmp(server.received, bytes, sizeof(bytes)), "intact");
	client_free(c);
}

static void refuses_misuse_with_clear_codes(void)
{
	client_t *c;
	uint8_t small[2];
	uint8_t *big = calloc(70000, 1);
	size_t got = 99;
	char host[] = "127.0.0.2", bad[] = "";
	mqtt_lwip_tcp_t tcp;
	mqtt_lwip_tcp_config_t config;
	uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };

	REQUIRE(server_start() && big, "lwIP up");
	c = client_new(64);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, small, 2, 0), MQTT_TRANSPORT_ERR_STATE, "write before connect");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, host, 0), MQTT_TRANSPORT_ERR_ARGUMENT, "port 0");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, bad, 1883), MQTT_TRANSPORT_ERR_ADDRESS, "empty host, no resolver");
	client_free(c);

	c = connected_client(64);
	REQUIRE(c, "connected");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, host, server.port), MQTT_TRANSPORT_ERR_STATE, "connect twice");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, big, 70000, 0), MQTT_TRANSPORT_ERR_ARGUMENT, "over 65535 in one write");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, big, 10, MQTT_LWIP_WRITE_STAGED), MQTT_TRANSPORT_ERR_ARGUMENT, "staged without a loader");
	CHECK_EQ(mqtt_lwip_tcp_read_packet(&c->tcp, small, sizeof(small), &got), MQTT_TRANSPORT_ERR_WOULD_BLOCK, "nothing to read");
	c->auto_read = 0;
	REQUIRE(0 == server_send(connack, 4, 4, 1), "CONNACK");
	CHECK(client_wait(c, has_readable, 1, 3000), "announced");
	CHECK_EQ(mqtt_lwip_tcp_read_packet(&c->tcp, small, sizeof(small), &got), MQTT_TRANSPORT_ERR_ARGUMENT, "2-byte buffer for 4 bytes");
	CHECK_EQ(mqtt_lwip_tcp_packet_length(&c->tcp), 4, "the packet stays");
	CHECK_EQ(client_read_one(c), 1, "then reads");
	client_free(c);

	memset(&config, 0, sizeof(config));
	config.run = mqtt_lwip_run_tcpip;
	config.packet_buffer = small;
	config.maximum_packet_size = 2;
	CHECK_EQ(mqtt_lwip_tcp_init(&tcp, &config), MQTT_TRANSPORT_ERR_ARGUMENT, "init without callbacks");
	config.callbacks = &mqtt_events_callbacks;
	config.maximum_packet_size = 1;
	CHECK_EQ(mqtt_lwip_tcp_init(&tcp, &config), MQTT_TRANSPORT_ERR_ARGUMENT, "maximum packet size 1");
	free(big);
}

static void close_releases_once_and_silences_callbacks(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream);
	client_t *c = connected_client(256);
	unsigned delivered;

	REQUIRE(c, "connected");
	mqtt_lwip_tcp_close(&c->tcp);
	CHECK(has_released(c, 1), "on_release inside close");
	mqtt_lwip_tcp_close(&c->tcp);
	CHECK(!has_released(c, 2), "a second close releases nothing");
	CHECK(client_wait(c, server_gone, 0, 3000), "the server saw the close");
	delivered = c->delivered;
	server_send(stream, length, length, 0);	/* may fail: the server side is gone */
	client_wait(c, waited, 0, 100);
	CHECK_EQ(c->delivered, delivered, "no callback after close");
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, stream, 2, 0), MQTT_TRANSPORT_ERR_STATE, "write after close");
	free(c->received);
	free(c->buffer);
	free(c);
}

/* ---- a real broker: relay from the lwIP listener to Mosquitto ---- */

static volatile int relay_stop;

static void set_relay_body(void *argument)
{
	server.relay_fd = *(int *)argument;
}

typedef struct {
	uint8_t data[4096];
	size_t length;
	int result;
} relay_write_t;

static void relay_write_body(void *argument)
{
	relay_write_t *w = argument;
	if (!server.pcb) {
		w->result = -1;
		return;
	}
	if (tcp_sndbuf(server.pcb) < w->length) {
		w->result = 0;
		return;
	}
	w->result = (ERR_OK == tcp_write(server.pcb, w->data, (u16_t)w->length, TCP_WRITE_FLAG_COPY)) ? 1 : 0;
	if (w->result)
		tcp_output(server.pcb);
}

static void *relay_from_broker(void *argument)
{
	int fd = *(int *)argument;
	relay_write_t w;

	while (!relay_stop) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recv(fd, w.data, sizeof(w.data), 0);
		if (n <= 0) {
			net_run(server_close_body, NULL);
			break;
		}
		w.length = (size_t)n;
		do {
			net_run(relay_write_body, &w);
			if (0 == w.result)
				usleep(200);
		} while (0 == w.result && !relay_stop);
	}
	return NULL;
}

static void exchanges_connect_subscribe_publish_with_mosquitto(void)
{
	mosquitto_t broker;
	struct sockaddr_in address;
	int fd;
	pthread_t relay;
	client_t *c;
	uint8_t *packet = malloc(21000);
	size_t length, start;
	static const uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };   /* MQTT 3.1.1 §3.2: accepted */
	static const uint8_t suback[5] = { 0x90, 0x03, 0x00, 0x01, 0x00 }; /* §3.9: id 1, QoS 0 granted */
	static const size_t payloads[2] = { 300, 20000 };
	char host[] = "127.0.0.2";
	int k;

	REQUIRE(packet, "memory");
	if (0 != mosquitto_start(&broker)) {
		free(packet);
		SKIP("mosquitto not available");
	}
	REQUIRE(server_start(), "lwIP up");

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_port = htons((uint16_t)broker.port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&address, sizeof(address))) {
		CHECK(0, "relay could not reach mosquitto on port %d", broker.port);
		close(fd);
		mosquitto_stop(&broker);
		free(packet);
		return;
	}
	net_run(set_relay_body, &fd);
	relay_stop = 0;
	pthread_create(&relay, NULL, relay_from_broker, &fd);

	c = client_new(32768);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_lwip_tcp_connect(&c->tcp, host, server.port), MQTT_TRANSPORT_OK, "connect");
	CHECK(client_wait(c, is_connected, 0, 3000), "TCP up");

	length = mqtt_build_connect("mqtt-xs-native", packet);
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, packet, length, 0), MQTT_TRANSPORT_OK, "CONNECT written");
	CHECK(client_wait(c, has_read, 1, 3000), "a packet came back");
	CHECK(c->received_length == 4 && !memcmp(c->received, connack, 4), "CONNACK accepted: 20 02 00 00");

	length = mqtt_build_subscribe("mqtt-xs/native", packet);
	CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, packet, length, 0), MQTT_TRANSPORT_OK, "SUBSCRIBE written");
	CHECK(client_wait(c, has_read, 2, 3000), "SUBACK");
	CHECK(c->received_length == 9 && !memcmp(c->received + 4, suback, 5), "SUBACK 90 03 00 01 00");

	for (k = 0; k < 2; k++) {
		length = mqtt_build_publish("mqtt-xs/native", payloads[k], packet);
		start = c->received_length;
		CHECK_EQ(mqtt_lwip_tcp_write(&c->tcp, packet, length, 0), MQTT_TRANSPORT_OK, "PUBLISH written");
		CHECK(client_wait(c, has_read, 3 + k, 5000), "PUBLISH %d came back", k);
		CHECK(c->received_length - start == length && !memcmp(c->received + start, packet, length),
				"PUBLISH of %zu bytes (%s Remaining Length) echoed byte for byte", length, k ? "3-byte" : "2-byte");
	}
	CHECK_EQ(c->error, 0, "no error");

	client_free(c);
	relay_stop = 1;
	pthread_join(relay, NULL);
	net_run(server_reset_body, NULL);
	close(fd);
	mosquitto_stop(&broker);
	free(packet);
}

static const test_case_t cases[] = {
	{ "connects by IP address, Nagle off, reports tcp_sndbuf", connects_by_address_with_nagle_off },
	{ "frames packets split at every point into two TCP segments", frames_across_every_two_segment_split_over_tcp },
	{ "wakes the machine once per packet with one-byte segments", wakes_once_per_packet_with_one_byte_segments },
	{ "frames 3- and 4-byte Remaining Length packets over many segments", frames_large_packets_over_many_segments },
	{ "a slow reader closes the receive window instead of buffering", slow_reader_closes_the_window_instead_of_growing },
	{ "a writer refused at tcp_sndbuf resumes on tcp_sent", blocked_writer_resumes_on_tcp_sent },
	{ "rejects an oversize packet from its header and closes", rejects_oversize_packet_before_its_body_and_closes },
	{ "rejects a five-byte Remaining Length and closes", rejects_malformed_remaining_length_and_closes },
	{ "reports the peer's FIN only after the last packet is read", reports_remote_close_after_the_last_packet },
	{ "reports a reset by the peer", reports_a_reset_by_the_peer },
	{ "reports connection refused", reports_connection_refused },
	{ "reports no route at once", reports_no_route_at_once },
	{ "connects by name through the resolver (immediate and later answer)", connects_by_name_through_the_resolver },
	{ "reports names that do not resolve", reports_unresolved_names },
	{ "close during a lookup defers on_release until the answer", close_during_lookup_defers_release_until_the_answer },
	{ "no-copy write: unacknowledged bytes drop to zero", nocopy_write_tracks_unacknowledged_bytes },
	{ "staged write reads the source through the loader", staged_write_copies_through_the_loader },
	{ "refuses misuse with clear codes", refuses_misuse_with_clear_codes },
	{ "close releases once and silences callbacks", close_releases_once_and_silences_callbacks },
	{ "CONNECT/CONNACK, SUBSCRIBE, PUBLISH echo with Mosquitto via an lwIP relay", exchanges_connect_subscribe_publish_with_mosquitto },
};

const test_suite_t suite_lwip = { "lwip", cases, TEST_COUNT(cases) };
