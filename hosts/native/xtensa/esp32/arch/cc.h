/*
 * Compiler and platform glue for the Xtensa compile check (picolibc).
 */
#ifndef MQTT_XS_XTENSA_ARCH_CC_H
#define MQTT_XS_XTENSA_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>

#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_PLATFORM_DIAG(x) do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { abort(); } while (0)
#define LWIP_RAND() ((u32_t)rand())

typedef uint32_t sys_prot_t;

#endif
