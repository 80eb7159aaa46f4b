/*
 * mqtt-xs/native-tcp: an MQTT transport whose socket and framing are in C.
 *
 * One class, shaped like the ECMA-419 TCP socket, with one difference that
 * is the point of it: read() returns one whole MQTT packet (fixed header
 * included), and onReadable(length) fires once per packet, not once per TCP
 * segment. Packets larger than maximumPacketSize close the connection
 * before any of their body is buffered (onError(TransportError.PacketTooLarge)).
 *
 * The same class is implemented three times in C, one per host:
 * hosts/esp32/xs_mqtt_tcp.c (lwIP on its own thread), hosts/esp8266 (lwIP,
 * single context) and hosts/lin (POSIX sockets, the Moddable simulator).
 * Types: hosts/native/mqtt-tcp.d.ts. Needs Moddable SDK 6.0 or later (the
 * Native API); with an older SDK write the class with the `@` syntax.
 *
 * Safe to preload: the module body only freezes a table.
 */

/** Codes passed to onError(code); the same numbers as mqtt_transport_error_t in C. */
export const TransportError = Object.freeze({
	WouldBlock: 1,
	Argument: 2,
	State: 3,
	NoMemory: 4,
	Address: 5,
	Dns: 6,
	Unreachable: 7,
	Refused: 8,
	Aborted: 9,
	Reset: 10,
	ClosedByPeer: 11,
	PacketTooLarge: 12,
	Malformed: 13,
	Internal: 14,
});

class MqttTcp extends Native("xs_mqtt_tcp_destructor") {
	constructor(options) {
		super();
		native("xs_mqtt_tcp_constructor").call(this, options);
	}
	read(buffer) {
		return native("xs_mqtt_tcp_read").call(this, buffer);
	}
	write(buffer) {
		return native("xs_mqtt_tcp_write").call(this, buffer);
	}
	close() {
		return native("xs_mqtt_tcp_close").call(this);
	}
}

export default MqttTcp;
