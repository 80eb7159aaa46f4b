/*
 * test_posix.c: the simulator twin (hosts/lin/mqtt_posix_tcp.h) against the
 * kernel's TCP on 127.0.0.1: a local server in this thread, and Mosquitto.
 *
 * Everything runs on the test's main thread, as in the simulator: the loop
 * waits with poll(), calls mqtt_posix_tcp_poll, and delivers the latched
 * events the way the XS binding does (one packet read per onReadable).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt_events.h"
#include "mqtt_posix_tcp.h"
#include "runner.h"
#include "test_support.h"

/* ---- a kernel TCP server on 127.0.0.1 ---- */

static int listen_fd = -1;
static int listen_port;
static int conn_fd = -1;
static uint8_t *server_received;
static size_t server_received_length;
static size_t server_received_capacity;
static int server_reading = 1;
static int server_saw_close;

static int server_start(void)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);
	int on = 1;

	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
	server_received_length = 0;
	server_reading = 1;
	server_saw_close = 0;
	if (listen_fd >= 0)
		return 1;
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&address, sizeof(address)) || listen(listen_fd, 4)
			|| getsockname(listen_fd, (struct sockaddr *)&address, &length))
		return 0;
	listen_port = ntohs(address.sin_port);
	return 1;
}

/* Accepts and reads whatever is there (when reading). */
static void server_service(void)
{
	if (conn_fd < 0) {
		int on = 1;
		conn_fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn_fd >= 0)
			setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	while ((conn_fd >= 0) && server_reading && !server_saw_close) {
		uint8_t chunk[65536];
		ssize_t got = recv(conn_fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (got > 0) {
			if (server_received_length + (size_t)got > server_received_capacity) {
				server_received_capacity = (server_received_length + (size_t)got) * 2;
				server_received = realloc(server_received, server_received_capacity);
			}
			memcpy(server_received + server_received_length, chunk, (size_t)got);
			server_received_length += (size_t)got;
			continue;
		}
		if ((0 == got) || ((errno != EAGAIN) && (errno != EWOULDBLOCK)))
			server_saw_close = 1;
		break;
	}
}

/* ---- the client under test ---- */

typedef struct {
	mqtt_posix_tcp_t tcp;
	mqtt_events_t events;
	uint8_t *buffer;
	unsigned posted, delivered, released;
	int auto_read;
	int connected, error, writable_events, readable_events;
	size_t last_writable;
	uint8_t *received;
	size_t received_length, received_capacity, packets_read;
} pclient_t;

static int pclient_post(void *context) { ((pclient_t *)context)->posted++; return 0; }
static void pclient_released(void *context) { ((pclient_t *)context)->released++; }

static pclient_t *pclient_new(uint32_t maximum)
{
	pclient_t *c = calloc(1, sizeof(pclient_t));
	mqtt_posix_tcp_config_t config = { &mqtt_events_callbacks, NULL, NULL, maximum, 1 };

	c->buffer = malloc(maximum);
	c->auto_read = 1;
	mqtt_events_init(&c->events, pclient_post, pclient_released, c);
	config.user = &c->events;
	config.packet_buffer = c->buffer;
	if (MQTT_TRANSPORT_OK != mqtt_posix_tcp_init(&c->tcp, &config)) {
		free(c->buffer);
		free(c);
		return NULL;
	}
	return c;
}

static int pclient_read_one(pclient_t *c)
{
	size_t length = mqtt_posix_tcp_packet_length(&c->tcp), got = 0;
	if (!length)
		return 0;
	if (c->received_length + length > c->received_capacity) {
		c->received_capacity = (c->received_length + length) * 2;
		c->received = realloc(c->received, c->received_capacity);
	}
	if (MQTT_TRANSPORT_OK != mqtt_posix_tcp_read_packet(&c->tcp, c->received + c->received_length, length, &got))
		return -1;
	c->received_length += got;
	c->packets_read++;
	return 1;
}

static void pclient_step(pclient_t *c, int wait_ms)
{
	struct pollfd p = { mqtt_posix_tcp_fd(&c->tcp), mqtt_posix_tcp_poll_events(&c->tcp), 0 };

	if ((p.fd >= 0) && p.events)
		poll(&p, 1, wait_ms);
	else if (wait_ms)
		sleep_ms((unsigned)wait_ms);
	server_service();
	mqtt_posix_tcp_poll(&c->tcp);
	while (c->delivered != c->posted) {
		mqtt_events_snapshot_t s;
		c->delivered++;
		mqtt_events_take(&c->events, mqtt_run_direct, NULL, &s);
		if (s.events & MQTT_EVENT_CONNECT)
			c->connected = 1;
		if (s.events & MQTT_EVENT_PACKET) {
			c->readable_events++;
			if (c->auto_read)
				pclient_read_one(c);
		}
		if (s.events & MQTT_EVENT_WRITABLE) {
			c->writable_events++;
			c->last_writable = s.writable;
		}
		if (s.events & MQTT_EVENT_ERROR)
			c->error = s.error;
	}
}

typedef int (*ppredicate_t)(pclient_t *c, long argument);

static int pclient_wait(pclient_t *c, ppredicate_t predicate, long argument, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		pclient_step(c, 0);
		if (predicate(c, argument))
			return 1;
		if (now_ms() >= deadline)
			return 0;
		pclient_step(c, 2);
	}
}

static int p_connected(pclient_t *c, long a) { (void)a; return c->connected; }
static int p_error(pclient_t *c, long a) { (void)a; return 0 != c->error; }
static int p_read(pclient_t *c, long n) { return c->packets_read >= (size_t)n; }
static int p_readable(pclient_t *c, long n) { return c->readable_events >= n; }
static int p_writable(pclient_t *c, long n) { return c->writable_events >= n; }
static int p_server_has(pclient_t *c, long n) { (void)c; return server_received_length >= (size_t)n; }
static int p_server_closed(pclient_t *c, long a) { (void)c; (void)a; return server_saw_close; }
static int p_never(pclient_t *c, long a) { (void)c; (void)a; return 0; }
static int p_recv_calls(pclient_t *c, long n) { return (long)c->tcp.stats.recv_calls >= n; }

static void pclient_free(pclient_t *c)
{
	if (!c)
		return;
	mqtt_posix_tcp_close(&c->tcp);
	free(c->received);
	free(c->buffer);
	free(c);
}

static pclient_t *pclient_connected(uint32_t maximum, const char *host)
{
	pclient_t *c;
	if (!server_start())
		return NULL;
	c = pclient_new(maximum);
	if (!c)
		return NULL;
	if ((MQTT_TRANSPORT_OK != mqtt_posix_tcp_connect(&c->tcp, host, (uint16_t)listen_port))
			|| !pclient_wait(c, p_connected, 0, 3000)) {
		pclient_free(c);
		return NULL;
	}
	pclient_wait(c, p_never, 0, 5);	/* let the server accept */
	return c;
}

static size_t small_stream(uint8_t *out)
{
	static const uint8_t pingresp[] = { 0xD0, 0x00 }, connack[] = { 0x20, 0x02, 0x00, 0x00 };
	size_t n;
	memcpy(out, pingresp, 2);
	n = 2 + mqtt_build_publish("a/b", 195, out + 2);
	memcpy(out + n, connack, 4);
	return n + 4;
}

/* ---- tests ---- */

static void connects_by_address_and_by_name_with_nodelay(void)
{
	const char *hosts[2] = { "127.0.0.1", "localhost" };
	int h;

	for (h = 0; h < 2; h++) {
		pclient_t *c = pclient_connected(64, hosts[h]);
		int nodelay = 0;
		socklen_t length = sizeof(nodelay);

		REQUIRE(c, "connected to %s", hosts[h]);
		getsockopt(mqtt_posix_tcp_fd(&c->tcp), IPPROTO_TCP, TCP_NODELAY, &nodelay, &length);
		CHECK(nodelay, "TCP_NODELAY set (%s)", hosts[h]);
		CHECK_EQ(mqtt_posix_tcp_writable(&c->tcp), MQTT_POSIX_SEND_BYTES, "writable");
		CHECK(conn_fd >= 0, "server accepted");
		pclient_free(c);
	}
}

static void frames_packets_split_at_every_point(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream), k;
	pclient_t *c = pclient_connected(256, "127.0.0.1");
	unsigned delivered_before;

	REQUIRE(c, "connected");
	delivered_before = c->delivered;
	for (k = 1; k < length && !test_failed; k++) {
		size_t packets = c->packets_read;
		long calls = (long)c->tcp.stats.recv_calls;
		REQUIRE(send(conn_fd, stream, k, MSG_NOSIGNAL) == (ssize_t)k, "first part");
		CHECK(pclient_wait(c, p_recv_calls, calls + 1, 2000), "first part received (split %zu)", k);
		REQUIRE(send(conn_fd, stream + k, length - k, MSG_NOSIGNAL) == (ssize_t)(length - k), "second part");
		CHECK(pclient_wait(c, p_read, (long)(packets + 3), 2000), "split at %zu: three packets", k);
	}
	CHECK_EQ(c->received_length, (length - 1) * length, "every byte delivered");
	for (k = 0; k + 1 < length && !test_failed; k++)
		CHECK(!memcmp(c->received + k * length, stream, length), "round %zu intact", k);
	CHECK_EQ(c->tcp.stats.packets, 3 * (length - 1), "one on_packet per packet");
	CHECK_EQ(c->delivered - delivered_before, 3 * (length - 1), "one wakeup per packet");
	pclient_free(c);
}

static void rejects_oversize_from_header_and_closes(void)
{
	uint8_t header[3] = { 0x30, 0xC8, 0x01 };
	pclient_t *c = pclient_connected(128, "127.0.0.1");

	REQUIRE(c, "connected");
	REQUIRE(send(conn_fd, header, 3, MSG_NOSIGNAL) == 3, "header only");
	CHECK(pclient_wait(c, p_error, 0, 2000), "error without the body");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE, "PACKET_TOO_LARGE");
	CHECK_EQ(c->tcp.stats.bytes_framed, 3, "header only framed");
	CHECK_EQ(mqtt_posix_tcp_fd(&c->tcp), -1, "socket closed");
	CHECK(pclient_wait(c, p_server_closed, 0, 2000), "server saw the close");
	pclient_free(c);
}

static void reports_peer_close_after_the_last_packet(void)
{
	uint8_t stream[256];
	size_t length = small_stream(stream);
	pclient_t *c = pclient_connected(256, "127.0.0.1");

	REQUIRE(c, "connected");
	c->auto_read = 0;
	REQUIRE(send(conn_fd, stream, length, MSG_NOSIGNAL) == (ssize_t)length, "three packets");
	shutdown(conn_fd, SHUT_WR);
	CHECK(pclient_wait(c, p_readable, 1, 2000), "first announced");
	pclient_wait(c, p_never, 0, 50);
	CHECK_EQ(c->error, 0, "FIN not reported while packets wait");
	CHECK_EQ(pclient_read_one(c), 1, "packet 1");
	CHECK_EQ(pclient_read_one(c), 1, "packet 2 (already in the scratch)");
	CHECK_EQ(c->error, 0, "still not reported");
	CHECK_EQ(pclient_read_one(c), 1, "packet 3");
	CHECK(pclient_wait(c, p_error, 0, 2000), "then the close");
	CHECK_EQ(c->error, MQTT_TRANSPORT_ERR_CLOSED_BY_PEER, "CLOSED_BY_PEER");
	CHECK(c->received_length == length && !memcmp(c->received, stream, length), "bytes intact");
	pclient_free(c);
}

static void reports_connection_refused(void)
{
	pclient_t *c = pclient_new(64);
	int port = free_loopback_port(), result;

	REQUIRE(c && port > 0, "client");
	result = mqtt_posix_tcp_connect(&c->tcp, "127.0.0.1", (uint16_t)port);
	if (MQTT_TRANSPORT_OK == result) {
		CHECK(pclient_wait(c, p_error, 0, 2000), "error");
		result = c->error;
	}
	CHECK_EQ(result, MQTT_TRANSPORT_ERR_REFUSED, "REFUSED");
	pclient_free(c);
}

static uint8_t pattern_byte(size_t index)
{
	return (uint8_t)(index * 13 + 7);
}

static void blocked_writer_resumes_when_the_kernel_drains(void)
{
	uint8_t chunk[1000];
	pclient_t *c = pclient_connected(64, "127.0.0.1");
	size_t written = 0, i;
	int result = MQTT_TRANSPORT_OK, refusals = 0;
	uint64_t deadline = now_ms() + 10000;

	REQUIRE(c, "connected");
	server_reading = 0;
	/* First, writes that fit: some wait in our buffer, none is refused;
	 * draining them must not call onWritable. */
	while (now_ms() < deadline && mqtt_posix_tcp_writable(&c->tcp) == MQTT_POSIX_SEND_BYTES) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern_byte(written + i);
		REQUIRE(MQTT_TRANSPORT_OK == mqtt_posix_tcp_write(&c->tcp, chunk, sizeof(chunk)), "fits");
		written += sizeof(chunk);
	}
	CHECK(mqtt_posix_tcp_writable(&c->tcp) < MQTT_POSIX_SEND_BYTES, "bytes wait in the send buffer");
	server_reading = 1;
	CHECK(pclient_wait(c, p_server_has, (long)written, 10000), "drained");
	CHECK_EQ(c->writable_events, 0, "no onWritable without a refused write");
	server_reading = 0;
	while (now_ms() < deadline) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern_byte(written + i);
		result = mqtt_posix_tcp_write(&c->tcp, chunk, sizeof(chunk));
		if (MQTT_TRANSPORT_ERR_WOULD_BLOCK == result)
			break;
		REQUIRE(MQTT_TRANSPORT_OK == result, "write: %s", mqtt_transport_error_name(result));
		written += sizeof(chunk);
		pclient_step(c, 0);
	}
	CHECK_EQ(result, MQTT_TRANSPORT_ERR_WOULD_BLOCK, "refused once the kernel and our buffer are full");
	refusals = 1;
	server_reading = 1;
	do {
		CHECK(pclient_wait(c, p_writable, refusals, 5000), "onWritable after draining");
		result = mqtt_posix_tcp_write(&c->tcp, chunk, sizeof(chunk));
		if (MQTT_TRANSPORT_ERR_WOULD_BLOCK == result)
			refusals++;
	} while ((MQTT_TRANSPORT_ERR_WOULD_BLOCK == result) && (refusals < 10) && !test_failed);
	CHECK_EQ(result, MQTT_TRANSPORT_OK, "the writer resumes");
	written += sizeof(chunk);
	CHECK(pclient_wait(c, p_server_has, (long)written, 10000), "server received %zu bytes", written);
	{
		int intact = server_received_length == written;
		for (i = 0; intact && i < written; i++)
			intact = server_received[i] == pattern_byte(i);
		CHECK(intact, "every byte in order");
	}
	CHECK_EQ(c->writable_events, refusals, "onWritable once per refusal");
	pclient_free(c);
}

static void refuses_misuse(void)
{
	pclient_t *c = pclient_new(64);
	uint8_t small[2];
	size_t got;

	REQUIRE(c, "client");
	CHECK_EQ(mqtt_posix_tcp_write(&c->tcp, small, 2), MQTT_TRANSPORT_ERR_STATE, "write before connect");
	CHECK_EQ(mqtt_posix_tcp_connect(&c->tcp, "", 1883), MQTT_TRANSPORT_ERR_ARGUMENT, "empty host");
	CHECK_EQ(mqtt_posix_tcp_read_packet(&c->tcp, small, 2, &got), MQTT_TRANSPORT_ERR_WOULD_BLOCK, "nothing to read");
	CHECK_EQ(c->released, 0, "not released yet");
	mqtt_posix_tcp_close(&c->tcp);
	mqtt_posix_tcp_close(&c->tcp);
	CHECK_EQ(c->released, 1, "released once");
	free(c->buffer);
	free(c);
}

/* Writes `length` bytes in pieces no larger than the writable count. */
static int pclient_write_all(pclient_t *c, const uint8_t *data, size_t length)
{
	uint64_t deadline = now_ms() + 5000;
	while (length && now_ms() < deadline) {
		size_t room = mqtt_posix_tcp_writable(&c->tcp), use = length < room ? length : room;
		if (use) {
			if (MQTT_TRANSPORT_OK != mqtt_posix_tcp_write(&c->tcp, data, use))
				return -1;
			data += use;
			length -= use;
		}
		pclient_step(c, use ? 0 : 2);
	}
	return length ? -1 : 0;
}

static void exchanges_with_mosquitto(void)
{
	mosquitto_t broker;
	pclient_t *c;
	uint8_t *packet = malloc(21000);
	static const uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };
	static const uint8_t suback[5] = { 0x90, 0x03, 0x00, 0x01, 0x00 };
	static const size_t payloads[2] = { 300, 20000 };
	size_t length, start;
	int k;

	REQUIRE(packet, "memory");
	if (mosquitto_start(&broker)) {
		free(packet);
		SKIP("mosquitto not available");
	}
	c = pclient_new(32768);
	REQUIRE(c, "client");
	CHECK_EQ(mqtt_posix_tcp_connect(&c->tcp, "127.0.0.1", (uint16_t)broker.port), MQTT_TRANSPORT_OK, "connect");
	CHECK(pclient_wait(c, p_connected, 0, 3000), "TCP up");

	length = mqtt_build_connect("mqtt-xs-posix", packet);
	CHECK_EQ(pclient_write_all(c, packet, length), 0, "CONNECT written");
	CHECK(pclient_wait(c, p_read, 1, 3000) && c->received_length == 4 && !memcmp(c->received, connack, 4), "CONNACK 20 02 00 00");
	length = mqtt_build_subscribe("mqtt-xs/posix", packet);
	CHECK_EQ(pclient_write_all(c, packet, length), 0, "SUBSCRIBE written");
	CHECK(pclient_wait(c, p_read, 2, 3000) && !memcmp(c->received + 4, suback, 5), "SUBACK 90 03 00 01 00");
	for (k = 0; k < 2; k++) {
		length = mqtt_build_publish("mqtt-xs/posix", payloads[k], packet);
		start = c->received_length;
		CHECK_EQ(pclient_write_all(c, packet, length), 0, "PUBLISH written in writable-sized pieces");
		CHECK(pclient_wait(c, p_read, 3 + k, 5000), "PUBLISH %d came back", k);
		CHECK(c->received_length - start == length && !memcmp(c->received + start, packet, length), "echoed byte for byte (%zu bytes)", length);
	}
	CHECK_EQ(c->error, 0, "no error");
	pclient_free(c);
	mosquitto_stop(&broker);
	free(packet);
}

static const test_case_t cases[] = {
	{ "connects by address and by name, TCP_NODELAY set", connects_by_address_and_by_name_with_nodelay },
	{ "frames packets split at every point into two sends", frames_packets_split_at_every_point },
	{ "rejects an oversize packet from its header and closes", rejects_oversize_from_header_and_closes },
	{ "reports the peer's FIN only after the last packet is read", reports_peer_close_after_the_last_packet },
	{ "reports connection refused", reports_connection_refused },
	{ "a refused writer resumes when the kernel drains", blocked_writer_resumes_when_the_kernel_drains },
	{ "refuses misuse; close releases once", refuses_misuse },
	{ "CONNECT/CONNACK, SUBSCRIBE, PUBLISH echo with Mosquitto", exchanges_with_mosquitto },
};

const test_suite_t suite_posix = { "posix", cases, TEST_COUNT(cases) };
