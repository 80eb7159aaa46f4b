/*
 * lwIP options for the Xtensa compile check, ESP8266 flavour: no OS
 * (NO_SYS 1, callbacks and calls in one context), raw API only, DNS on.
 * Sizes follow the ESP8266 lwIP defaults (TCP_MSS 1460, 2 * MSS send
 * buffer). Only used by `make xtensa-check`; the firmware build uses the
 * SDK's own lwipopts.h.
 */
#ifndef MQTT_XS_XTENSA_LWIPOPTS_H
#define MQTT_XS_XTENSA_LWIPOPTS_H

#define NO_SYS                1
#define LWIP_SOCKET           0
#define LWIP_NETCONN          0
#define SYS_LIGHTWEIGHT_PROT  0
#define LWIP_IPV4             1
#define LWIP_IPV6             0
#define LWIP_TCP              1
#define LWIP_UDP              1
#define LWIP_DNS              1
#define MEM_ALIGNMENT         4
#define TCP_MSS               1460
#define TCP_WND               (4 * TCP_MSS)
#define TCP_SND_BUF           (2 * TCP_MSS)
#define TCP_SND_QUEUELEN      ((4 * TCP_SND_BUF) / TCP_MSS)

#endif
