/*
 * xs_mqtt_tcp.c (ESP8266): the XS host class of "mqtt-xs/native-tcp".
 *
 * The ESP8266 and ESP32 bindings are one source: both drive lwIP's raw TCP
 * API through hosts/native/mqtt-lwip, and their differences are three
 * lines selected by the Moddable SDK's ESP32 macro in
 * hosts/esp32/xs_mqtt_tcp.c:
 * - the runner: direct calls here (lwIP NO_SYS: lwIP and XS share one
 *   context), tcpip_api_call on ESP32;
 * - writes from buffers preloaded in flash go through a 128-byte stack
 *   buffer filled by espMemCpy (lwIP must not read flash byte by byte);
 * - nothing else.
 * This file exists so that the ESP8266 manifest names its own binding.
 *
 * NOT COMPILED OR RUN IN THIS REPOSITORY: it needs the Moddable SDK and the
 * ESP8266 SDK. The transport core it uses is compiled for the ESP8266's
 * Xtensa core with ESP8266-like lwIP options by `make -C hosts/native
 * xtensa-check`, and tested on Linux against real lwIP.
 */

#include "../esp32/xs_mqtt_tcp.c"
