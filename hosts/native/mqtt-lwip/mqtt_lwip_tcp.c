/*
 * mqtt_lwip_tcp.c: see mqtt_lwip_tcp.h for the theory of operation.
 *
 * Every function named *_body runs on the network side (called through
 * tcp->run); every lwIP callback does too. Nothing here is entered from
 * two contexts at once.
 */

#include "mqtt_lwip_tcp.h"

#include <string.h>

#include "lwip/init.h"
#include "lwip/pbuf.h"
#if LWIP_DNS
#include "lwip/dns.h"
#endif
#if !NO_SYS
#include "lwip/tcpip.h"
#include "lwip/priv/tcpip_priv.h"
#endif

enum {
	STATE_IDLE = 0,
	STATE_RESOLVING,
	STATE_CONNECTING,
	STATE_CONNECTED,
	STATE_FAILED,
	STATE_CLOSED
};

static err_t on_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err);
static err_t on_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t length);
static void on_tcp_error(void *arg, err_t err);

/* ---- helpers (network side) ---- */

static void report_error(mqtt_lwip_tcp_t *tcp, int code)
{
	tcp->state = STATE_FAILED;
	if (tcp->error_reported)
		return;
	tcp->error_reported = 1;
	tcp->callbacks->on_error(tcp->user, code);
}

static void release(mqtt_lwip_tcp_t *tcp)
{
	/* Last statement of any path that ends our use of *tcp. */
	if (tcp->callbacks->on_release)
		tcp->callbacks->on_release(tcp->user);
}

static void free_held(mqtt_lwip_tcp_t *tcp)
{
	if (tcp->held)
		pbuf_free(tcp->held);
	tcp->held = NULL;
	tcp->held_tail = NULL;
	tcp->held_offset = 0;
}

/*
 * Frees the first held pbuf. The chain is unlinked by hand rather than with
 * pbuf_dechain: held chains may exceed the 16-bit tot_len that
 * pbuf_dechain checks, and only `len` and `next` are used here.
 */
static void drop_first_held(mqtt_lwip_tcp_t *tcp)
{
	struct pbuf *first = tcp->held;
	struct pbuf *rest = first->next;

	first->next = NULL;
	first->tot_len = first->len;
	pbuf_free(first);	/* the chain's reference to `rest` is now ours */
	tcp->held = rest;
	if (NULL == rest)
		tcp->held_tail = NULL;
	tcp->held_offset = 0;
}

/* Detaches from the pcb and closes it. Returns ERR_ABRT if it had to abort. */
static err_t shutdown_pcb(mqtt_lwip_tcp_t *tcp)
{
	struct tcp_pcb *pcb = tcp->pcb;

	if (NULL == pcb)
		return ERR_OK;
	tcp->pcb = NULL;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (ERR_OK == tcp_close(pcb))
		return ERR_OK;
	tcp_abort(pcb);
	return ERR_ABRT;
}

static int map_connect_error(err_t err)
{
	switch (err) {
		case ERR_RTE: return MQTT_TRANSPORT_ERR_UNREACHABLE;
		case ERR_MEM:
		case ERR_BUF: return MQTT_TRANSPORT_ERR_NO_MEMORY;
		case ERR_VAL:
		case ERR_ARG: return MQTT_TRANSPORT_ERR_ARGUMENT;
		case ERR_ISCONN:
		case ERR_ALREADY:
		case ERR_USE: return MQTT_TRANSPORT_ERR_STATE;
		default: return MQTT_TRANSPORT_ERR_INTERNAL;
	}
}

/* The peer's FIN is reported once nothing received before it is left. */
static void report_peer_close_if_drained(mqtt_lwip_tcp_t *tcp)
{
	uint32_t waiting;

	if (!tcp->peer_closed || (STATE_CONNECTED != tcp->state) || tcp->held)
		return;
	if (mqtt_framing_packet(&tcp->framing, &waiting))
		return;
	report_error(tcp, MQTT_TRANSPORT_ERR_CLOSED_BY_PEER);
}

static void acknowledge_received(struct tcp_pcb *pcb, size_t count)
{
	while (count) {
		u16_t part = (count > 0xFFFF) ? 0xFFFF : (u16_t)count;
		tcp_recved(pcb, part);
		count -= part;
	}
}

/*
 * Frames held bytes until they run out or a packet completes. Returns
 * ERR_ABRT when the pcb was aborted (only matters inside tcp_recv).
 */
static err_t frame_held(mqtt_lwip_tcp_t *tcp)
{
	size_t framed = 0;
	err_t result = ERR_OK;

	while (tcp->held) {
		struct pbuf *first = tcp->held;
		mqtt_framing_status_t status;
		size_t consumed;

		if (tcp->held_offset >= first->len) {
			drop_first_held(tcp);
			continue;
		}
		consumed = mqtt_framing_feed(&tcp->framing, (const uint8_t *)first->payload + tcp->held_offset,
				first->len - tcp->held_offset, &status);
		tcp->held_offset = (u16_t)(tcp->held_offset + consumed);
		framed += consumed;
		if (tcp->held_offset >= first->len)
			drop_first_held(tcp);

		if (MQTT_FRAMING_PACKET == status) {
			uint32_t length;
			mqtt_framing_packet(&tcp->framing, &length);
			tcp->stats.packets += 1;
			tcp->callbacks->on_packet(tcp->user, length);
			break;
		}
		if (MQTT_FRAMING_NEED_MORE != status) {
			tcp->stats.bytes_framed += (uint32_t)framed;
			free_held(tcp);
			result = shutdown_pcb(tcp);
			report_error(tcp, (MQTT_FRAMING_TOO_LARGE == status)
					? MQTT_TRANSPORT_ERR_PACKET_TOO_LARGE : MQTT_TRANSPORT_ERR_MALFORMED);
			return result;
		}
	}

	tcp->stats.bytes_framed += (uint32_t)framed;
	if (framed && tcp->pcb)
		acknowledge_received(tcp->pcb, framed);
	report_peer_close_if_drained(tcp);
	return result;
}

static int start_connect(mqtt_lwip_tcp_t *tcp, const ip_addr_t *address)
{
	struct tcp_pcb *pcb;
	err_t err;

#if LWIP_VERSION_MAJOR >= 2
	pcb = tcp_new_ip_type(IP_GET_TYPE(address));
#else
	pcb = tcp_new();
#endif
	if (NULL == pcb)
		return MQTT_TRANSPORT_ERR_NO_MEMORY;
	if (tcp->no_delay)
		tcp_nagle_disable(pcb);

	tcp->pcb = pcb;
	tcp_arg(pcb, tcp);
	tcp_err(pcb, on_tcp_error);
	tcp_recv(pcb, on_tcp_recv);
	tcp_sent(pcb, on_tcp_sent);

	err = tcp_connect(pcb, address, tcp->port, on_tcp_connected);
	if (ERR_OK != err) {
		shutdown_pcb(tcp);
		return map_connect_error(err);
	}
	tcp->state = STATE_CONNECTING;
	return MQTT_TRANSPORT_OK;
}

static void on_resolved(const char *name, const ip_addr_t *address, void *argument)
{
	mqtt_lwip_tcp_t *tcp = argument;
	int code;

	(void)name;
	if (!tcp->resolving)
		return;		/* no lookup of ours is running: a stray call */
	tcp->resolving = 0;
	if (STATE_CLOSED == tcp->state) {
		release(tcp);	/* closed while the lookup ran */
		return;
	}
	if (NULL == address) {
		report_error(tcp, MQTT_TRANSPORT_ERR_DNS);
		return;
	}
	tcp->address = *address;
	code = start_connect(tcp, &tcp->address);
	if (MQTT_TRANSPORT_OK != code)
		report_error(tcp, code);
}

/* ---- lwIP callbacks ---- */

static err_t on_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	mqtt_lwip_tcp_t *tcp = arg;

	(void)err;	/* always ERR_OK in lwIP 2.x; failures come through tcp_err */
	tcp->state = STATE_CONNECTED;
	tcp->callbacks->on_connect(tcp->user, tcp_sndbuf(pcb));
	return ERR_OK;
}

static err_t on_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	mqtt_lwip_tcp_t *tcp = arg;
	struct pbuf *last;
	uint32_t waiting;

	(void)pcb;
	if (NULL == p) {
		tcp->peer_closed = 1;
		report_peer_close_if_drained(tcp);
		return ERR_OK;
	}
	if (ERR_OK != err) {
		pbuf_free(p);
		return ERR_OK;
	}
	tcp->stats.recv_callbacks += 1;

	for (last = p; last->next; last = last->next)
		;
	if (tcp->held) {
		/* A packet waits for the owner: keep the bytes, in order. */
		tcp->held_tail->next = p;
		tcp->held_tail = last;
		return ERR_OK;
	}
	tcp->held = p;
	tcp->held_tail = last;
	tcp->held_offset = 0;
	if (mqtt_framing_packet(&tcp->framing, &waiting))
		return ERR_OK;	/* framer busy: wait for read_packet */
	return frame_held(tcp);
}

static err_t on_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t length)
{
	mqtt_lwip_tcp_t *tcp = arg;

	tcp->unacknowledged = (length >= tcp->unacknowledged) ? 0 : tcp->unacknowledged - length;
	if (tcp->writable_wanted && (STATE_CONNECTED == tcp->state)) {
		tcp->writable_wanted = 0;
		tcp->callbacks->on_writable(tcp->user, tcp_sndbuf(pcb));
	}
	return ERR_OK;
}

static void on_tcp_error(void *arg, err_t err)
{
	mqtt_lwip_tcp_t *tcp = arg;
	int code;

	/* lwIP has already freed the pcb. */
	tcp->pcb = NULL;
	free_held(tcp);
	switch (err) {
		case ERR_RST:
			code = (STATE_CONNECTING == tcp->state) ? MQTT_TRANSPORT_ERR_REFUSED : MQTT_TRANSPORT_ERR_RESET;
			break;
		case ERR_ABRT:
		case ERR_TIMEOUT:
			code = MQTT_TRANSPORT_ERR_ABORTED;
			break;
		case ERR_CLSD:
			code = MQTT_TRANSPORT_ERR_CLOSED_BY_PEER;
			break;
		default:
			code = MQTT_TRANSPORT_ERR_INTERNAL;
			break;
	}
	report_error(tcp, code);
}

/* ---- owner side ---- */

int mqtt_lwip_tcp_init(mqtt_lwip_tcp_t *tcp, const mqtt_lwip_tcp_config_t *config)
{
	const mqtt_transport_callbacks_t *callbacks;

	if ((NULL == tcp) || (NULL == config) || (NULL == config->run))
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	callbacks = config->callbacks;
	if ((NULL == callbacks) || !callbacks->on_connect || !callbacks->on_packet
			|| !callbacks->on_writable || !callbacks->on_error)
		return MQTT_TRANSPORT_ERR_ARGUMENT;

	memset(tcp, 0, sizeof(*tcp));
	if (0 != mqtt_framing_init(&tcp->framing, config->packet_buffer, config->maximum_packet_size))
		return MQTT_TRANSPORT_ERR_ARGUMENT;
	tcp->callbacks = callbacks;
	tcp->user = config->user;
	tcp->run = config->run;
	tcp->run_context = config->run_context;
	tcp->resolve = config->resolve;
	tcp->load = config->load;
	tcp->no_delay = config->no_delay;
	tcp->state = STATE_IDLE;
	return MQTT_TRANSPORT_OK;
}

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	const char *host;
	uint16_t port;
	int result;
} connect_call_t;

static void connect_body(void *argument)
{
	connect_call_t *call = argument;
	mqtt_lwip_tcp_t *tcp = call->tcp;
	mqtt_lwip_resolve_fn resolve = tcp->resolve;
	err_t err;

	if (STATE_IDLE != tcp->state) {
		call->result = MQTT_TRANSPORT_ERR_STATE;
		return;
	}
	if ((NULL == call->host) || (0 == call->port)) {
		call->result = MQTT_TRANSPORT_ERR_ARGUMENT;
		return;
	}
	tcp->port = call->port;

	if (ipaddr_aton(call->host, &tcp->address)) {
		call->result = start_connect(tcp, &tcp->address);
		if (MQTT_TRANSPORT_OK != call->result)
			tcp->state = STATE_FAILED;
		return;
	}

#if LWIP_DNS
	if (NULL == resolve)
		resolve = dns_gethostbyname;
#endif
	if (NULL == resolve) {
		call->result = MQTT_TRANSPORT_ERR_ADDRESS;
		return;
	}

	tcp->state = STATE_RESOLVING;
	tcp->resolving = 1;
	err = resolve(call->host, &tcp->address, on_resolved, tcp);
	if ((ERR_INPROGRESS == err) || !tcp->resolving) {
		/* Pending, or the resolver already called back (and on_resolved
		 * started the connection or reported the failure). */
		call->result = MQTT_TRANSPORT_OK;
		return;
	}
	tcp->resolving = 0;
	if (ERR_OK == err)
		call->result = start_connect(tcp, &tcp->address);
	else
		call->result = MQTT_TRANSPORT_ERR_DNS;
	if (MQTT_TRANSPORT_OK != call->result)
		tcp->state = STATE_FAILED;
}

int mqtt_lwip_tcp_connect(mqtt_lwip_tcp_t *tcp, const char *host, uint16_t port)
{
	connect_call_t call = { tcp, host, port, MQTT_TRANSPORT_ERR_INTERNAL };
	tcp->run(tcp->run_context, connect_body, &call);
	return call.result;
}

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	const uint8_t *data;
	size_t length;
	unsigned flags;
	int result;
} write_call_t;

static int write_staged(mqtt_lwip_tcp_t *tcp, const uint8_t *data, size_t length, u8_t more)
{
	struct tcp_pcb *pcb = tcp->pcb;
	uint8_t stage[MQTT_LWIP_STAGE_BYTES];
	size_t pieces = (length + sizeof(stage) - 1) / sizeof(stage);
	size_t done = 0;

	/* Each piece may take one more pbuf from the send queue. */
	if ((size_t)tcp_sndqueuelen(pcb) + pieces > TCP_SND_QUEUELEN) {
		tcp->writable_wanted = 1;
		return MQTT_TRANSPORT_ERR_WOULD_BLOCK;
	}
	while (done < length) {
		size_t use = length - done;
		err_t err;
		if (use > sizeof(stage))
			use = sizeof(stage);
		tcp->load(stage, data + done, use);
		err = tcp_write(pcb, stage, (u16_t)use,
				(u8_t)(TCP_WRITE_FLAG_COPY | (((done + use) < length) ? TCP_WRITE_FLAG_MORE : more)));
		if (ERR_OK != err) {
			int code = (ERR_MEM == err) ? MQTT_TRANSPORT_ERR_NO_MEMORY : MQTT_TRANSPORT_ERR_INTERNAL;
			if (0 == done) {
				if (ERR_MEM != err)
					return code;
				tcp->writable_wanted = 1;
				return MQTT_TRANSPORT_ERR_WOULD_BLOCK;
			}
			/* Part of an MQTT packet is queued and the rest cannot be:
			 * the stream is broken, so the connection ends here. */
			tcp->unacknowledged += (uint32_t)done;
			shutdown_pcb(tcp);
			report_error(tcp, code);
			return code;
		}
		done += use;
	}
	return MQTT_TRANSPORT_OK;
}

static void write_body(void *argument)
{
	write_call_t *call = argument;
	mqtt_lwip_tcp_t *tcp = call->tcp;
	struct tcp_pcb *pcb = tcp->pcb;
	u8_t more = (call->flags & MQTT_LWIP_WRITE_MORE) ? TCP_WRITE_FLAG_MORE : 0;
	err_t err;

	if ((STATE_CONNECTED != tcp->state) || (NULL == pcb)) {
		call->result = MQTT_TRANSPORT_ERR_STATE;
		return;
	}
	if ((call->length > 0xFFFF) || ((NULL == call->data) && call->length)
			|| ((call->flags & MQTT_LWIP_WRITE_STAGED) && (NULL == tcp->load))) {
		call->result = MQTT_TRANSPORT_ERR_ARGUMENT;
		return;
	}
	if (0 == call->length) {
		call->result = MQTT_TRANSPORT_OK;
		return;
	}
	if (call->length > tcp_sndbuf(pcb)) {
		tcp->writable_wanted = 1;
		call->result = MQTT_TRANSPORT_ERR_WOULD_BLOCK;
		return;
	}

	if (call->flags & MQTT_LWIP_WRITE_STAGED) {
		call->result = write_staged(tcp, call->data, call->length, more);
		if (MQTT_TRANSPORT_OK != call->result)
			return;
	}
	else {
		u8_t copy = (call->flags & MQTT_LWIP_WRITE_NOCOPY) ? 0 : TCP_WRITE_FLAG_COPY;
		err = tcp_write(pcb, call->data, (u16_t)call->length, (u8_t)(copy | more));
		if (ERR_MEM == err) {
			/* Send queue full (TCP_SND_QUEUELEN) or no pbuf: nothing queued. */
			tcp->writable_wanted = 1;
			call->result = MQTT_TRANSPORT_ERR_WOULD_BLOCK;
			return;
		}
		if (ERR_OK != err) {
			call->result = MQTT_TRANSPORT_ERR_INTERNAL;
			return;
		}
	}

	tcp->unacknowledged += (uint32_t)call->length;
	if (!more)
		tcp_output(pcb);
	call->result = MQTT_TRANSPORT_OK;
}

int mqtt_lwip_tcp_write(mqtt_lwip_tcp_t *tcp, const void *data, size_t length, unsigned flags)
{
	write_call_t call = { tcp, data, length, flags, MQTT_TRANSPORT_ERR_INTERNAL };
	tcp->run(tcp->run_context, write_body, &call);
	return call.result;
}

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	size_t value;
} query_call_t;

static void writable_body(void *argument)
{
	query_call_t *call = argument;
	mqtt_lwip_tcp_t *tcp = call->tcp;
	call->value = ((STATE_CONNECTED == tcp->state) && tcp->pcb) ? tcp_sndbuf(tcp->pcb) : 0;
}

size_t mqtt_lwip_tcp_writable(mqtt_lwip_tcp_t *tcp)
{
	query_call_t call = { tcp, 0 };
	tcp->run(tcp->run_context, writable_body, &call);
	return call.value;
}

static void unacknowledged_body(void *argument)
{
	query_call_t *call = argument;
	call->value = call->tcp->unacknowledged;
}

uint32_t mqtt_lwip_tcp_unacknowledged(mqtt_lwip_tcp_t *tcp)
{
	query_call_t call = { tcp, 0 };
	tcp->run(tcp->run_context, unacknowledged_body, &call);
	return (uint32_t)call.value;
}

static void packet_length_body(void *argument)
{
	query_call_t *call = argument;
	uint32_t length;
	mqtt_framing_packet(&call->tcp->framing, &length);
	call->value = length;
}

size_t mqtt_lwip_tcp_packet_length(mqtt_lwip_tcp_t *tcp)
{
	query_call_t call = { tcp, 0 };
	tcp->run(tcp->run_context, packet_length_body, &call);
	return call.value;
}

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	void *destination;
	size_t capacity;
	size_t length;
	int result;
} read_call_t;

static void read_body(void *argument)
{
	read_call_t *call = argument;
	mqtt_lwip_tcp_t *tcp = call->tcp;
	uint32_t length;
	const uint8_t *packet = mqtt_framing_packet(&tcp->framing, &length);

	if (NULL == packet) {
		call->result = MQTT_TRANSPORT_ERR_WOULD_BLOCK;
		return;
	}
	if ((call->capacity < length) || (NULL == call->destination)) {
		call->result = MQTT_TRANSPORT_ERR_ARGUMENT;
		return;
	}
	memcpy(call->destination, packet, length);
	call->length = length;
	call->result = MQTT_TRANSPORT_OK;
	mqtt_framing_release(&tcp->framing);

	if (STATE_CLOSED == tcp->state)
		return;
	if (tcp->held && tcp->pcb)
		frame_held(tcp);
	else
		report_peer_close_if_drained(tcp);
}

int mqtt_lwip_tcp_read_packet(mqtt_lwip_tcp_t *tcp, void *destination, size_t capacity, size_t *length)
{
	read_call_t call = { tcp, destination, capacity, 0, MQTT_TRANSPORT_ERR_INTERNAL };
	tcp->run(tcp->run_context, read_body, &call);
	if (length)
		*length = call.length;
	return call.result;
}

static void close_body(void *argument)
{
	mqtt_lwip_tcp_t *tcp = argument;

	if (STATE_CLOSED == tcp->state)
		return;
	tcp->state = STATE_CLOSED;
	free_held(tcp);
	shutdown_pcb(tcp);
	mqtt_framing_reset(&tcp->framing);
	if (!tcp->resolving)
		release(tcp);	/* else on_resolved releases when the lookup ends */
}

void mqtt_lwip_tcp_close(mqtt_lwip_tcp_t *tcp)
{
	tcp->run(tcp->run_context, close_body, tcp);
}

typedef struct {
	mqtt_lwip_tcp_t *tcp;
	mqtt_lwip_tcp_stats_t *stats;
} stats_call_t;

static void stats_body(void *argument)
{
	stats_call_t *call = argument;
	*call->stats = call->tcp->stats;
}

void mqtt_lwip_tcp_get_stats(mqtt_lwip_tcp_t *tcp, mqtt_lwip_tcp_stats_t *stats)
{
	stats_call_t call = { tcp, stats };
	tcp->run(tcp->run_context, stats_body, &call);
}

#if !NO_SYS
typedef struct {
	struct tcpip_api_call_data call;	/* first: tcpip_api_call hands it back */
	void (*fn)(void *argument);
	void *argument;
} tcpip_run_t;

static err_t run_on_tcpip_thread(struct tcpip_api_call_data *call)
{
	tcpip_run_t *run = (tcpip_run_t *)call;
	run->fn(run->argument);
	return ERR_OK;
}

void mqtt_lwip_run_tcpip(void *context, void (*fn)(void *argument), void *argument)
{
	tcpip_run_t run;

	(void)context;
	memset(&run, 0, sizeof(run));
	run.fn = fn;
	run.argument = argument;
	tcpip_api_call(run_on_tcpip_thread, &run.call);
}
#endif
