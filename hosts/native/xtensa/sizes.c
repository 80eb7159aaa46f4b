/*
 * sizes.c: lets `make xtensa-check` measure our structures as the Xtensa
 * compiler lays them out. Each array is exactly as large as the type it is
 * named after; `nm -S` prints the sizes. Never linked.
 */
#include "mqtt_events.h"
#include "mqtt_framing.h"
#include "mqtt_lwip_tcp.h"

/* Our lwipopts.h, not Debian's, must have been found first. */
#ifndef MQTT_XS_XTENSA_LWIPOPTS_H
#error "xtensa-check: the flavour's lwipopts.h was not used"
#endif
#if !LWIP_DNS
#error "xtensa-check: LWIP_DNS must be on to compile the dns_gethostbyname path"
#endif

char size_of_mqtt_lwip_tcp_t[sizeof(mqtt_lwip_tcp_t)];
char size_of_mqtt_events_t[sizeof(mqtt_events_t)];
char size_of_mqtt_framing_t[sizeof(mqtt_framing_t)];
