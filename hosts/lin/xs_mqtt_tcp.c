/*
 * xs_mqtt_tcp.c (Linux simulator): the XS host class of "mqtt-xs/native-tcp"
 * (hosts/native/mqtt-tcp.js) over POSIX sockets, for the Moddable simulator.
 *
 * NOT COMPILED OR RUN IN THIS REPOSITORY: it needs the Moddable SDK (xsmc.h,
 * modTimer.h). The transport it drives, hosts/lin/mqtt_posix_tcp.c, and the
 * framing and event latch of hosts/native/mqtt-lwip are tested on Linux
 * against a local TCP server and Mosquitto (`make -C hosts/native test`).
 *
 * Theory of operation. The simulator runs XS and its timers on one thread.
 * A Moddable timer polls the socket every kPollInterval ms (as the SDK's own
 * simulator TCP module does): mqtt_posix_tcp_poll makes progress and its
 * callbacks feed an mqtt_events_t latch; then, still in the timer callback
 * and outside the transport, the batch is delivered to onWritable /
 * onReadable / onError. The JavaScript object and its callbacks are
 * remembered until close; the record is freed when its use count (the
 * object, the transport, a delivery in progress) drops to zero.
 */

#include "xsmc.h"
#include "modTimer.h"

#include "mqtt_events.h"
#include "mqtt_posix_tcp.h"

#ifndef MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE
	#define MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE (65536)
#endif

/* Poll period: 10 ms keeps round trips short in the simulator. */
#define kPollInterval (10)

enum {
	kHasOnReadable = 1 << 0,
	kHasOnWritable = 1 << 1,
	kHasOnError = 1 << 2
};

typedef struct {
	mqtt_posix_tcp_t tcp;
	mqtt_events_t events;
	xsMachine *the;
	xsSlot obj;
	xsSlot onReadable;
	xsSlot onWritable;
	xsSlot onError;
	modTimer timer;
	int useCount;
	uint8_t closed;
	uint8_t handlers;
	uint8_t buffer[];	/* the packet buffer: maximumPacketSize bytes */
} MqttTcpRecord, *MqttTcp;

void xs_mqtt_tcp_destructor(void *data);

static void mqttTcpRelease(MqttTcp t)
{
	if (0 == --t->useCount)
		c_free(t);
}

/* One thread: nothing to post, the poll timer delivers right after. */
static int mqttTcpPost(void *context)
{
	(void)context;
	return 0;
}

static void mqttTcpTransportReleased(void *context)
{
	mqttTcpRelease((MqttTcp)context);
}

static void mqttTcpCall(xsMachine *the, MqttTcp t, xsSlot *function, uint8_t handler, xsIntegerValue value)
{
	if (t->closed || !(t->handlers & handler))
		return;
	xsBeginHost(the);
		xsmcSetInteger(xsResult, value);
		xsCallFunction1(*function, t->obj, xsResult);
	xsEndHost(the);
}

static void mqttTcpPoll(modTimer timer, void *refcon, int refconSize)
{
	MqttTcp t = *(MqttTcp *)refcon;
	mqtt_events_snapshot_t s;
	size_t length;

	(void)timer;
	(void)refconSize;
	if (t->closed)
		return;
	t->useCount += 1;	/* a callback may close */
	mqtt_posix_tcp_poll(&t->tcp);
	if (t->events.posted) {
		mqtt_events_take(&t->events, mqtt_run_direct, NULL, &s);
		if (s.events & (MQTT_EVENT_CONNECT | MQTT_EVENT_WRITABLE))
			mqttTcpCall(t->the, t, &t->onWritable, kHasOnWritable, (xsIntegerValue)s.writable);
		if ((s.events & MQTT_EVENT_PACKET) && !t->closed) {
			length = mqtt_posix_tcp_packet_length(&t->tcp);
			if (length)
				mqttTcpCall(t->the, t, &t->onReadable, kHasOnReadable, (xsIntegerValue)length);
		}
		if (s.events & MQTT_EVENT_ERROR)
			mqttTcpCall(t->the, t, &t->onError, kHasOnError, s.error);
	}
	mqttTcpRelease(t);
}

static void mqttTcpClose(xsMachine *the, MqttTcp t)
{
	if (t->closed)
		return;
	t->closed = 1;
	if (t->timer) {
		modTimerRemove(t->timer);
		t->timer = NULL;
	}
	if (the) {
		xsForget(t->onError);
		xsForget(t->onWritable);
		xsForget(t->onReadable);
		xsForget(t->obj);
	}
	mqtt_posix_tcp_close(&t->tcp);	/* on_release: the transport's use */
	mqttTcpRelease(t);	/* the object's use */
}

static MqttTcp mqttTcpGetOpen(xsMachine *the)
{
	MqttTcp t = xsmcGetHostDataValidate(xsThis, (void *)xs_mqtt_tcp_destructor);
	if (!t)
		xsUnknownError("closed");
	return t;
}

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
	mqtt_posix_tcp_config_t config;
	char host[128];
	xsIntegerValue port, maximum = MODDEF_MQTT_TCP_MAXIMUM_PACKET_SIZE;
	uint8_t noDelay = 1, handlers = 0;
	int result;

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
	config.packet_buffer = t->buffer;
	config.maximum_packet_size = (uint32_t)maximum;
	config.no_delay = noDelay;
	mqtt_posix_tcp_init(&t->tcp, &config);	/* cannot fail: every field is set */
	xsmcSetHostData(xsThis, t);

	result = mqtt_posix_tcp_connect(&t->tcp, host, (uint16_t)port);
	if (MQTT_TRANSPORT_OK != result) {
		xsmcSetHostData(xsThis, NULL);
		mqttTcpClose(the, t);
		xsUnknownError("connect: %s", mqtt_transport_error_name(result));
	}
	t->timer = modTimerAdd(0, kPollInterval, mqttTcpPoll, &t, sizeof(t));
}

void xs_mqtt_tcp_destructor(void *data)
{
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
	size_t length = mqtt_posix_tcp_packet_length(&t->tcp), got = 0;
	void *data;
	int result;

	if (!length)
		return;
	if ((xsmcArgc > 0) && (xsReferenceType == xsmcTypeOf(xsArg(0)))) {
		xsUnsignedValue capacity;
		xsmcGetBufferWritable(xsArg(0), &data, &capacity);
		if (capacity < length)
			xsRangeError("buffer of %d bytes for a %d-byte packet", (int)capacity, (int)length);
		result = mqtt_posix_tcp_read_packet(&t->tcp, data, capacity, &got);
		xsmcSetInteger(xsResult, (xsIntegerValue)got);
	}
	else {
		data = xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)length);
		result = mqtt_posix_tcp_read_packet(&t->tcp, data, length, &got);
	}
	if (MQTT_TRANSPORT_OK != result)
		xsUnknownError("read: %s", mqtt_transport_error_name(result));
}

void xs_mqtt_tcp_write(xsMachine *the)
{
	MqttTcp t = mqttTcpGetOpen(the);
	void *data;
	xsUnsignedValue length;
	int result;

	xsmcGetBufferReadable(xsArg(0), &data, &length);
	result = mqtt_posix_tcp_write(&t->tcp, data, length);
	if (MQTT_TRANSPORT_ERR_WOULD_BLOCK == result)
		xsUnknownError("would block: %d bytes do not fit; wait for onWritable", (int)length);
	if (MQTT_TRANSPORT_OK != result)
		xsUnknownError("write: %s", mqtt_transport_error_name(result));
	xsmcSetInteger(xsResult, (xsIntegerValue)mqtt_posix_tcp_writable(&t->tcp));
}
