/**
 * Types for the XS host module "mqtt-xs/native-tcp" (hosts/native/mqtt-tcp.js),
 * implemented in C by hosts/esp32, hosts/esp8266 and hosts/lin.
 *
 * Written by hand: the module is JavaScript over C, so there is no
 * TypeScript source to generate it from. Keep it in step with mqtt-tcp.js
 * and hosts/native/mqtt-lwip/mqtt_transport.h.
 */
declare module "mqtt-xs/native-tcp" {
  /**
   * Codes passed to `onError(code)` (fatal: the connection is gone) and
   * named in the messages of thrown errors. Same numbers as
   * `mqtt_transport_error_t` in C.
   */
  export const TransportError: {
    /** Not fatal: a write did not fit; wait for onWritable. */
    readonly WouldBlock: 1;
    readonly Argument: 2;
    /** The call does not fit the state (not connected yet, closed). */
    readonly State: 3;
    readonly NoMemory: 4;
    /** Not an IP address, and no name resolution available. */
    readonly Address: 5;
    /** The host name did not resolve. */
    readonly Dns: 6;
    readonly Unreachable: 7;
    /** The broker's host answered the connection request with a reset. */
    readonly Refused: 8;
    /** The TCP stack gave up (connect or retransmission timeout). */
    readonly Aborted: 9;
    readonly Reset: 10;
    /** The broker closed the connection; reported after its last packet was read. */
    readonly ClosedByPeer: 11;
    /** An inbound packet was larger than maximumPacketSize; the connection was closed. */
    readonly PacketTooLarge: 12;
    /** An inbound fixed header was malformed; the connection was closed. */
    readonly Malformed: 13;
    readonly Internal: 14;
  };
  export type TransportErrorCode = (typeof TransportError)[keyof typeof TransportError];

  export interface MqttTcpOptions {
    /** IPv4 (or IPv6, where the stack has it) address of the broker. One of address/host is required. */
    address?: string;
    /** Host name; resolved by lwIP's DNS on a device (asynchronously), by getaddrinfo in the simulator. At most 127 bytes. */
    host?: string;
    /** TCP port, 1..65535. */
    port: number;
    /**
     * Largest inbound packet in bytes, fixed header included (2..268435460).
     * The C side allocates one buffer of exactly this size at construction.
     * Default: the manifest's `mqtt_tcp.maximum_packet_size` define
     * (ESP32 4096, ESP8266 1024, simulator 65536). Announce the same value
     * to an MQTT 5 broker (CONNECT Maximum Packet Size).
     */
    maximumPacketSize?: number;
    /** Disable Nagle's algorithm (TCP_NODELAY). Default true. */
    noDelay?: boolean;
    /**
     * One complete packet waits; `length` is its size in bytes. Called once
     * per packet; the next one is announced only after this one was read.
     * Never called from inside read() or write().
     */
    onReadable?: (this: MqttTcp, length: number) => void;
    /**
     * First call: the connection is established. Later calls: room was
     * freed after a write was refused. `count`: bytes write() accepts now.
     */
    onWritable?: (this: MqttTcp, count: number) => void;
    /** The connection failed or ended; called once. Call close() next. */
    onError?: (this: MqttTcp, code: TransportErrorCode) => void;
  }

  export default class MqttTcp {
    /**
     * Allocates the packet buffer and starts connecting. Throws TypeError
     * (no address/host), RangeError (port, maximumPacketSize, no memory) or
     * Error (the connection could not even start, e.g. no route).
     */
    constructor(options: MqttTcpOptions);
    /**
     * Takes the waiting packet: a new ArrayBuffer holding it, or undefined
     * when none waits.
     */
    read(): ArrayBuffer | undefined;
    /**
     * Copies the waiting packet into `buffer` (no allocation) and returns its
     * length, or undefined when none waits. Throws RangeError when `buffer`
     * is smaller than the packet (the packet stays).
     */
    read(buffer: ArrayBuffer | ArrayBufferView): number | undefined;
    /**
     * Queues all of `buffer` or throws (nothing queued) when it does not fit:
     * write at most the count from onWritable / the previous write, at most
     * 65535 bytes (simulator: 4096) per call. The bytes are copied; `buffer`
     * may be reused at once. Returns the bytes writable after this write.
     */
    write(buffer: ArrayBuffer | ArrayBufferView): number;
    /** Closes the connection; no callback follows. Idempotent. */
    close(): void;
  }
}
