/*
 * lwIP options for the Xtensa compile check, ESP32 flavour: lwIP on its
 * own thread (NO_SYS 0) without the core lock, as in ESP-IDF's default
 * configuration, so tcpip_api_call posts to the lwIP thread and waits.
 * DNS and IPv6 on. Only used by `make xtensa-check` (the ESP32's own
 * compiler, xtensa-esp32-elf, and ESP-IDF are not available here; this
 * checks our C against these options with the lx106 compiler).
 */
#ifndef MQTT_XS_XTENSA_LWIPOPTS_H
#define MQTT_XS_XTENSA_LWIPOPTS_H

#define NO_SYS                     0
#define LWIP_TCPIP_CORE_LOCKING    0
#define LWIP_NETCONN_SEM_PER_THREAD 0
#define LWIP_SOCKET                0
#define LWIP_NETCONN               0
#define SYS_LIGHTWEIGHT_PROT       1
#define LWIP_IPV4                  1
#define LWIP_IPV6                  1
#define LWIP_TCP                   1
#define LWIP_UDP                   1
#define LWIP_DNS                   1
#define MEM_ALIGNMENT              4
#define TCP_MSS                    1440
#define TCP_WND                    (4 * TCP_MSS)
#define TCP_SND_BUF                (4 * TCP_MSS)
#define TCP_SND_QUEUELEN           ((4 * TCP_SND_BUF) / TCP_MSS)
#define LWIP_NETIF_TX_SINGLE_PBUF  1

#endif
