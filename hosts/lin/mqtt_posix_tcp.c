/*
 * mqtt_posix_tcp.c: see mqtt_posix_tcp.h.
 */

#define _GNU_SOURCE
#include "mqtt_posix_tcp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	STATE_IDLE = 0,
	STATE_CONNECTING,
	STATE_CONNECTED,
	STATE_FAILED,
	STATE_CLOSED
};

static int map_errno(int error, int connecting)
{
	switch (error) {
		case ECONNREFUSED: return MQTT_TRANSPORT_ERR_REFUSED;
		case ENETUNREACH:
		case EHOSTUNREACH: return MQTT_TRANSPORT_ERR_UNREACHABLE;
		case ETIMEDOUT: return MQTT_TRANSPORT_ERR_ABORTED;
		case ECONNRESET:
		case EPIPE: return connecting ? MQTT_TRANSPORT_ERR_REFUSED : MQTT_TRANSPORT_ERR_RESET;
		case ENOMEM:
		case ENOBUFS: return MQTT_TRANSPORT_ERR_NO_MEMORY;
		default: return MQTT_TRANSPORT_ERR_INTERNAL;
	}
}

static void close_socket(mqtt_posix_tcp_t *tcp)
{
	if (tcp->fd >= 0)
		close(tcp->fd);
	tcp->fd = -1;
}

static void report_error(mqtt_posix_tcp_t *tcp, int code)
{
	tcp->state = STATE_FAILED;
	if (tcp->error_reported)
		return;
	tcp->error_reported = 1;
	tcp->callbacks->on_error(tcp->user, code);
}

static int packet_waiting(const mqtt_posix_tcp_t *tcp)
{
	uint32_t length;
	return NULL != mqtt_framing_packet(&tcp->framing, &length);
}

static void report_peer_close_if_drained(mqtt_posix_tcp_t *tcp)
{
	if (tcp->peer_closed && (STATE_CONNECTED == tcp->state)
			&& (tcp->receive_start == tcp->receive_end) && !packet_waiting(tcp))
		report_error(tcp, MQTT_TRANSPORT_ERR_CLOSED_BY_PEER);
}

/* Frames the receive scratch. Returns 1 when a packet waits or the
 * connection failed (stop reading), 0 when the scratch is used up. */
static int frame_scratch(mqtt_posix_tcp_t *tcp)
{
	while (tcp->receive_start < tcp->receive_end) {
		mqtt_framing_status_t status;
		size_t used = mqtt_framing_feed(&tcp->framing, tcp->receive + tcp->receive_start,
				(size_t)(tcp->receive_end - tcp->receive_start), &status);
		tcp->receive_start = (uint16_t)(tcp->receive_start + used);
		tcp->stats.bytes_framed += (uint32_t)used;
		if (MQTT_FRAMING_PACKET == status) {
			uint32_t length;
			mqtt_framing_packet(&tcp->framing, &length);
			tcp->stats.packets += 1;
			tcp->callbacks->on_packet(tcp->user, length);
			return 1;
		}
		if (MQTT_FRAMING_NEED_MORE != status) {
			close_socket(tcp);
			tcp->receive_start = tcp->receive_end = 0;
			report_error(tcp, (MQTT_FRAMING_TOO_LARGE == status)
					? MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE : MQTT_TRANSPORT_ERR_MALFORMED);
			return 1;
		}
	}
	tcp->receive_start = tcp->receive_end = 0;
	return 0;
}

static void receive(mqtt_posix_tcp_t *tcp)
{
	while ((STATE_CONNECTED == tcp->state) && !tcp->peer_closed && !packet_waiting(tcp)) {
		ssize_t got;

		if (frame_scratch(tcp))
			return;
		got = recv(tcp->fd, tcp->receive, sizeof(tcp->receive), MSG_DONTWAIT);
		if (got > 0) {
			tcp->stats.recv_calls += 1;
			tcp->receive_start = 0;
			tcp->receive_end = (uint16_t)got;
			continue;
		}
		if (0 == got) {
			tcp->peer_closed = 1;
			break;
		}
		if ((EAGAIN == errno) || (EWOULDBLOCK == errno) || (EINTR == errno))
			break;
		close_socket(tcp);
		report_error(tcp, map_errno(errno, 0));
		return;
	}
	report_peer_close_if_drained(tcp);
}

static void flush(mqtt_posix_tcp_t *tcp)
{
	uint16_t before = tcp->send_length;

	while (tcp->send_length) {
		ssize_t sent = send(tcp->fd, tcp->send, tcp->send_length, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			memmove(tcp->send, tcp->send + sent, (size_t)(tcp->send_length - sent));
			tcp->send_length = (uint16_t)(tcp->send_length - sent);
			continue;
		}
		if ((sent < 0) && ((EAGAIN == errno) || (EWOULDBLOCK == errno) || (EINTR == errno)))
			break;
		close_socket(tcp);
		report_error(tcp, map_errno((sent < 0) ? errno : EPIPE, 0));
		return;
	}
	if (tcp->writable_wanted && (tcp->send_length < before)) {
		tcp->writable_wanted = 0;
		tcp->callbacks->on_writable(tcp->user, mqtt_posix_tcp_writable(tcp));
	}
}

int mqtt_posix_tcp_init(mqtt_posix_tcp_t *tcp, const mqtt_posix_tcp_config_t *config)
{
	const mqtt_transport_callbacks_t *callbacks;

	if (!tcp || !config)
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	callbacks = config->callbacks;
	if (!callbacks || !callbacks->on_connect || !callbacks->on_packet || !callbacks->on_writable || !callbacks->on_error)
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	memset(tcp, 0, sizeof(*tcp));
	tcp->fd = -1;
	if (mqtt_framing_init(&tcp->framing, config->packet_buffer, config->maximum_packet_size))
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	tcp->callbacks = callbacks;
	tcp->user = config->user;
	tcp->no_delay = config->no_delay;
	tcp->state = STATE_IDLE;
	return MQTT_TRANSPORT_OK;
}

int mqtt_posix_tcp_connect(mqtt_posix_tcp_t *tcp, const char *host, uint16_t port)
{
	struct addrinfo hints, *found = NULL, *use, *walk;
	char service[8];
	int result, fd;

	if (STATE_IDLE != tcp->state)
		return MQTT_TRANSPORT_ERR_STATE;
	if (!host || !*host || !port)
		return MQTT_TRANSPORT_ERR_ARGUMENT;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	if (getaddrinfo(host, service, &hints, &found) || !found)
		return MQTT_TRANSPORT_ERR_DNS;
	use = found;
	for (walk = found; walk; walk = walk->ai_next)
		if (AF_INET == walk->ai_family) {
			use = walk;
			break;
		}

	fd = socket(use->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(found);
		return MQTT_TRANSPORT_ERR_NO_MEMORY;
	}
	if (tcp->no_delay) {
		int on = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	result = connect(fd, use->ai_addr, use->ai_addrlen);
	freeaddrinfo(found);
	if (result && (EINPROGRESS != errno)) {
		int code = map_errno(errno, 1);
		close(fd);
		tcp->state = STATE_FAILED;
		return code;
	}
	tcp->fd = fd;
	tcp->state = STATE_CONNECTING;
	return MQTT_TRANSPORT_OK;
}

int mqtt_posix_tcp_fd(const mqtt_posix_tcp_t *tcp)
{
	return tcp->fd;
}

short mqtt_posix_tcp_poll_events(const mqtt_posix_tcp_t *tcp)
{
	short events = 0;

	if (tcp->fd < 0)
		return 0;
	if (STATE_CONNECTING == tcp->state)
		return POLLOUT;
	if (STATE_CONNECTED != tcp->state)
		return 0;
	if (tcp->send_length)
		events |= POLLOUT;
	if (!tcp->peer_closed && !packet_waiting(tcp))
		events |= POLLIN;
	return events;
}

void mqtt_posix_tcp_poll(mqtt_posix_tcp_t *tcp)
{
	if (STATE_CONNECTING == tcp->state) {
		struct pollfd p = { tcp->fd, POLLOUT, 0 };
		int error = 0;
		socklen_t length = sizeof(error);

		if (poll(&p, 1, 0) <= 0)
			return;
		if (getsockopt(tcp->fd, SOL_SOCKET, SO_ERROR, &error, &length) || error) {
			close_socket(tcp);
			report_error(tcp, map_errno(error ? error : errno, 1));
			return;
		}
		tcp->state = STATE_CONNECTED;
		tcp->callbacks->on_connect(tcp->user, mqtt_posix_tcp_writable(tcp));
	}
	if (STATE_CONNECTED != tcp->state)
		return;
	flush(tcp);
	if (STATE_CONNECTED == tcp->state)
		receive(tcp);
}

int mqtt_posix_tcp_write(mqtt_posix_tcp_t *tcp, const void *data, size_t length)
{
	const uint8_t *bytes = data;

	if ((STATE_CONNECTED != tcp->state) || (tcp->fd < 0))
		return MQTT_TRANSPORT_ERR_STATE;
	if (!data && length)
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	if (!length)
		return MQTT_TRANSPORT_OK;
	if (length > mqtt_posix_tcp_writable(tcp)) {
		tcp->writable_wanted = 1;
		return MQTT_TRANSPORT_ERR_WOULD_BLOCK;
	}
	if (0 == tcp->send_length) {
		ssize_t sent = send(tcp->fd, bytes, length, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if ((EAGAIN != errno) && (EWOULDBLOCK != errno) && (EINTR != errno)) {
				int code = map_errno(errno, 0);
				close_socket(tcp);
				report_error(tcp, code);
				return code;
			}
			sent = 0;
		}
		bytes += sent;
		length -= (size_t)sent;
	}
	memcpy(tcp->send + tcp->send_length, bytes, length);	/* fits: checked above */
	tcp->send_length = (uint16_t)(tcp->send_length + length);
	return MQTT_TRANSPORT_OK;
}

size_t mqtt_posix_tcp_writable(const mqtt_posix_tcp_t *tcp)
{
	if ((STATE_CONNECTED != tcp->state) || (tcp->fd < 0))
		return 0;
	return sizeof(tcp->send) - tcp->send_length;
}

size_t mqtt_posix_tcp_packet_length(const mqtt_posix_tcp_t *tcp)
{
	uint32_t length;
	mqtt_framing_packet(&tcp->framing, &length);
	return length;
}

int mqtt_posix_tcp_read_packet(mqtt_posix_tcp_t *tcp, void *destination, size_t capacity, size_t *length)
{
	uint32_t size;
	const uint8_t *packet = mqtt_framing_packet(&tcp->framing, &size);

	if (length)
		*length = 0;
	if (!packet)
		return MQTT_TRANSPORT_ERR_WOULD_BLOCK;
	if (!destination || (capacity < size))
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	memcpy(destination, packet, size);
	if (length)
		*length = size;
	mqtt_framing_release(&tcp->framing);
	if (STATE_CONNECTED == tcp->state) {
		if (!frame_scratch(tcp))
			report_peer_close_if_drained(tcp);
	}
	return MQTT_TRANSPORT_OK;
}

void mqtt_posix_tcp_close(mqtt_posix_tcp_t *tcp)
{
	if (STATE_CLOSED == tcp->state)
		return;
	tcp->state = STATE_CLOSED;
	close_socket(tcp);
	mqtt_framing_reset(&tcp->framing);
	tcp->receive_start = tcp->receive_end = 0;
	tcp->send_length = 0;
	if (tcp->callbacks->on_release)
		tcp->callbacks->on_release(tcp->user);
}

void mqtt_posix_tcp_get_stats(const mqtt_posix_tcp_t *tcp, mqtt_posix_tcp_stats_t *stats)
{
	*stats = tcp->stats;
}
