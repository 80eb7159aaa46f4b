/*
 * xs_mqtt_tcp.c: the XS host class of "mqtt-xs/native-tcp"
 * (hosts/native/mqtt-tcp.js) over lwIP's raw TCP API, for ESP32 and, through
 * hosts/esp8266/xs_mqtt_tcp.c, ESP8266.
 *
 * NOT COMPILED OR RUN IN THIS REPOSITORY: it needs the Moddable SDK (xsmc.h,
 * xsHost.h) and ESP-IDF or the ESP8266 SDK, which CI does not have. What it
 * calls is: hosts/native/mqtt-lwip (framing, the lwIP transport, the event
 * latch) is tested on Linux against the real lwIP of Debian's liblwip-dev,
 * with the same threading as here, and compiled for Xtensa with -Werror
 * (hosts/native/README.md, `make -C hosts/native all`).
 *
 * Theory of operation. This file only converts between JavaScript and the
 * transport; it has no protocol or socket logic.
 * - The transport's callbacks feed an mqtt_events_t latch on the network
 *   side; its first event posts one message to the XS machine
 *   (modMessagePostToMachine). mqttTcpDeliver runs on the XS thread, takes
 *   the whole batch and calls onWritable / onReadable / onError.
 * - Owner calls (read, write, close) go through the transport, which runs
 *   them on the network side: ESP32 with tcpip_api_call (the XS task waits,
 *   so pointers into XS buffers stay valid during the call), ESP8266
 *   directly (lwIP and XS share one context).
 * - The record is plain C memory (c_calloc; never moved by the GC) because
 *   the lwIP thread holds a pointer to it. It is freed when its use count
 *   drops to zero: one use for the JavaScript object (until close or
 *   garbage collection), one for the transport (until on_release, which
 *   can come after close while a DNS lookup is still running), one per
 *   message in flight.
 * - The JavaScript object and its callbacks are xsRemember'ed until close,
 *   so an open connection is never collected.
 *
 * Memory per connection: sizeof(MqttTcpRecord) (mqtt_lwip_tcp_t 92 bytes
 * on ESP8266, 112 on ESP32 with IPv6, as measured by `make xtensa-check`,
 * plus the latch, four slots and the count) + maximumPacketSize.
 */

#include "xsmc.h"
#include "xsHost.h"

#include "mqtt_events.h"
#include "mqtt_lwip_tcp.h"

#ifndef MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE
	#define MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE (4096)
#endif

#if ESP32
	#define mqttTcpRun mqtt_lwip_run_tcpip
#else
	#define mqttTcpRun mqtt_run_direct
#endif

enum {
	kHasOnReadable = 1 << 0,
	kHasOnWritable = 1 << 1,
	kHasOnError = 1 << 2
};

typedef struct {
	mqtt_lwip_tcp_t tcp;
	mqtt_events_t events;
	xsMachine *the;
	xsSlot obj;
	xsSlot onReadable;
	xsSlot onWritable;
	xsSlot onError;
	int8_t useCount;
	uint8_t closed;
	uint8_t handlers;
	uint8_t buffer[];	/* the packet buffer: maximumPacketSize bytes */
} MqttTcpRecord, *MqttTcp;

void xs_mqtt_tcp_destructor(void *data);

static void mqttTcpHold(MqttTcp t)
{
	modCriticalSectionDeclare;
	modCriticalSectionBegin();
	t->useCount += 1;
	modCriticalSectionEnd();
}

static void mqttTcpRelease(MqttTcp t)
{
	uint8_t unused;
	modCriticalSectionDeclare;
	modCriticalSectionBegin();
	t->useCount -= 1;
	unused = (0 == t->useCount);
	modCriticalSectionEnd();
	if (unused)
		c_free(t);
}

static void mqttTcpDeliver(void *the, void *refcon, uint8_t *message, uint16_t messageLength);

/* Network side: the latch's first event of a batch. */
static int mqttTcpPost(void *context)
{
	MqttTcp t = context;
	mqttTcpHold(t);
	if (0 == modMessagePostToMachine(t->the, NULL, 0, mqttTcpDeliver, t))
		return 0;
	mqttTcpRelease(t);
	return -1;	/* the latch tries again on the next event */
}

/* Network side: the transport is done with the record (on_release). */
static void mqttTcpTransportReleased(void *context)
{
	mqttTcpRelease((MqttTcp)context);
}

static void mqttTcpCall(xsMachine *the, MqttTcp t, xsSlot *function, uint8_t handler, xsIntegerValue value, uint8_t hasValue)
{
	if (t->closed || !(t->handlers & handler))
		return;
	xsBeginHost(the);
		if (hasValue) {
			xsmcSetInteger(xsResult, value);
			xsCallFunction1(*function, t->obj, xsResult);
		}
		else
			xsCallFunction0(*function, t->obj);
	xsEndHost(the);
}

/* XS thread: one batch of events. Each callback runs in its own host frame,
 * so an exception thrown by one (reported by XS) does not skip the others. */
static void mqttTcpDeliver(void *the, void *refcon, uint8_t *message, uint16_t messageLength)
{
	MqttTcp t = refcon;
	mqtt_events_snapshot_t s;
	size_t length;

	(void)message;
	(void)messageLength;
	if (!t->closed) {
		mqtt_events_take(&t->events, mqttTcpRun, NULL, &s);
		if (s.events & (MQTT_EVENT_CONNECT | MQTT_EVENT_WRITABLE))
			mqttTcpCall(the, t, &t->onWritable, kHasOnWritable, (xsIntegerValue)s.writable, 1);
		if ((s.events & MQTT_EVENT_PACKET) && !t->closed) {
			length = mqtt_lwip_tcp_packet_length(&t->tcp);	/* 0 if already read */
			if (length)
				mqttTcpCall(the, t, &t->onReadable, kHasOnReadable, (xsIntegerValue)length, 1);
		}
		if (s.events & MQTT_EVENT_ERROR)
			mqttTcpCall(the, t, &t->onError, kHasOnError, s.error, 1);
	}
	mqttTcpRelease(t);	/* the message's use */
}

static void mqttTcpClose(xsMachine *the, MqttTcp t)
{
	if (t->closed)
		return;
	t->closed = 1;
	if (the) {
		xsForget(t->onError);
		xsForget(t->onWritable);
		xsForget(t->onReadable);
		xsForget(t->obj);
	}
	mqtt_lwip_tcp_close(&t->tcp);	/* on_release now, or when a lookup ends */
	mqttTcpRelease(t);	/* the object's use; `t` may be gone after this */
}

static MqttTcp mqttTcpGetOpen(xsMachine *the)
{
	MqttTcp t = xsmcGetHostDataValidate(xsThis, (void *)xs_mqtt_tcp_destructor);
	if (!t)
		xsUnknownError("closed");
	return t;
}

/* Reads options[name] into xsVar(index): 1 when it is a function. */
static uint8_t mqttTcpGetHandler(xsMachine *the, const char *name, xsIntegerValue index)
{
	xsmcGet(xsVar(index), xsArg(0), xsID(name));
	if (!xsmcTest(xsVar(index)))
		return 0;
	if (!xsmcIsInstanceOf(xsVar(index), xsFunctionPrototype))
		xsTypeError("%s must be a function", name);
	return 1;
}

void xs_mqtt_tcp_constructor(xsMachine *the)
{
	MqttTcp t;
	mqtt_lwip_tcp_config_t config;
	char host[128];
	xsIntegerValue port, maximum = MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE;
	uint8_t noDelay = 1;
	int result;

	uint8_t handlers = 0;

	xsmcVars(4);
	if (xsmcArgc < 1)
		xsTypeError("options required");

	xsmcGet(xsVar(0), xsArg(0), xsID("address"));
	if (!xsmcTest(xsVar(0)))
		xsmcGet(xsVar(0), xsArg(0), xsID("host"));
	if (!xsmcTest(xsVar(0)))
		xsTypeError("address or host required");
	xsmcToStringBuffer(xsVar(0), host, sizeof(host));

	xsmcGet(xsVar(0), xsArg(0), xsID("port"));
	port = xsmcToInteger(xsVar(0));
	if ((port < 1) || (port > 65535))
		xsRangeError("port must be 1..65535");

	if (xsmcHas(xsArg(0), xsID("maximumPacketSize"))) {
		xsmcGet(xsVar(0), xsArg(0), xsID("maximumPacketSize"));
		maximum = xsmcToInteger(xsVar(0));
		if ((maximum < (xsIntegerValue)MQTT_FRAMING_MINIMUM) || ((uint32_t)maximum > MQTT_FRAMING_LIMIT))
			xsRangeError("maximumPacketSize must be 2..268435460 (MQTT 5.0 §3.1.2.11.4)");
	}
	if (xsmcHas(xsArg(0), xsID("noDelay"))) {
		xsmcGet(xsVar(0), xsArg(0), xsID("noDelay"));
		noDelay = xsmcToBoolean(xsVar(0)) ? 1 : 0;
	}
	/* Everything that can throw happens before the allocation. */
	handlers |= mqttTcpGetHandler(the, "onReadable", 1) ? kHasOnReadable : 0;
	handlers |= mqttTcpGetHandler(the, "onWritable", 2) ? kHasOnWritable : 0;
	handlers |= mqttTcpGetHandler(the, "onError", 3) ? kHasOnError : 0;

	t = c_calloc(1, sizeof(MqttTcpRecord) + (size_t)maximum);
	if (!t)
		xsRangeError("no memory for the %d-byte packet buffer", (int)maximum);
	t->the = the;
	t->obj = xsThis;
	t->useCount = 2;	/* the object and the transport */
	t->handlers = handlers;
	t->onReadable = xsVar(1);
	t->onWritable = xsVar(2);
	t->onError = xsVar(3);
	xsRemember(t->obj);
	xsRemember(t->onReadable);
	xsRemember(t->onWritable);
	xsRemember(t->onError);

	mqtt_events_init(&t->events, mqttTcpPost, mqttTcpTransportReleased, t);
	c_memset(&config, 0, sizeof(config));
	config.callbacks = &mqtt_events_callbacks;
	config.user = &t->events;
	config.run = mqttTcpRun;
	config.packet_buffer = t->buffer;
	config.maximum_packet_size = (uint32_t)maximum;
	config.no_delay = noDelay;
#if !ESP32
	config.load = espMemCpy;	/* flash-safe copy for buffers preloaded in flash */
#endif
	mqtt_lwip_tcp_init(&t->tcp, &config);	/* cannot fail: every field is set */
	xsmcSetHostData(xsThis, t);

	result = mqtt_lwip_tcp_connect(&t->tcp, host, (uint16_t)port);
	if (MQTT_TRANSPORT_OK != result) {
		xsmcSetHostData(xsThis, NULL);
		mqttTcpClose(the, t);
		xsUnknownError("connect: %s", mqtt_transport_error_name(result));
	}
}

void xs_mqtt_tcp_destructor(void *data)
{
	/* Only reached with data when the machine ends while open: the object
	 * is remembered until close otherwise. */
	if (data)
		mqttTcpClose(NULL, (MqttTcp)data);
}

void xs_mqtt_tcp_close(xsMachine *the)
{
	MqttTcp t = xsmcGetHostDataValidate(xsThis, (void *)xs_mqtt_tcp_destructor);
	if (!t)
		return;
	xsmcSetHostData(xsThis, NULL);
	mqttTcpClose(the, t);
}

void xs_mqtt_tcp_read(xsMachine *the)
{
	MqttTcp t = mqttTcpGetOpen(the);
	size_t length = mqtt_lwip_tcp_packet_length(&t->tcp), got = 0;
	void *data;
	int result;

	if (!length)
		return;		/* undefined: nothing waits */
	if ((xsmcArgc > 0) && (xsReferenceType == xsmcTypeOf(xsArg(0)))) {
		xsUnsignedValue capacity;
		xsmcGetBufferWritable(xsArg(0), &data, &capacity);
		if (capacity < length)
			xsRangeError("buffer of %d bytes for a %d-byte packet", (int)capacity, (int)length);
		result = mqtt_lwip_tcp_read_packet(&t->tcp, data, capacity, &got);
		xsmcSetInteger(xsResult, (xsIntegerValue)got);
	}
	else {
		/* No allocation between here and the copy, so `data` stays put. */
		data = xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)length);
		result = mqtt_lwip_tcp_read_packet(&t->tcp, data, length, &got);
	}
	if (MQTT_TRANSPORT_OK != result)
		xsUnknownError("read: %s", mqtt_transport_error_name(result));
}

void xs_mqtt_tcp_write(xsMachine *the)
{
	MqttTcp t = mqttTcpGetOpen(the);
	void *data;
	xsUnsignedValue length;
	unsigned flags = MQTT_LWIP_WRITE_COPY;	/* why copy: hosts/native/mqtt-lwip/mqtt_lwip_tcp.h */
	int result;

	xsmcGetBufferReadable(xsArg(0), &data, &length);
#if !ESP32
	/* Preloaded buffers live in flash, which lwIP must not read directly
	 * (the same test as Moddable's lwIP socket module). */
	if ((uint8_t *)data >= kFlashStart)
		flags |= MQTT_LWIP_WRITE_STAGED;
#endif
	result = mqtt_lwip_tcp_write(&t->tcp, data, length, flags);
	if (MQTT_TRANSPORT_ERR_WOULD_BLOCK == result)
		xsUnknownError("would block: %d bytes do not fit; wait for onWritable", (int)length);
	if (MQTT_TRANSPORT_OK != result)
		xsUnknownError("write: %s", mqtt_transport_error_name(result));
	xsmcSetInteger(xsResult, (xsIntegerValue)mqtt_lwip_tcp_writable(&t->tcp));
}
