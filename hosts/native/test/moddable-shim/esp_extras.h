/*
 * esp_extras.h: for `make binding-check` only. Declares, with the Moddable
 * SDK's signatures (xs/platforms/esp/xsHost.h), the four ESP-only names
 * hosts/esp32/xs_mqtt_tcp.c uses, so that the binding can be compiled
 * against the SDK's portable XS headers on Linux. Nothing is linked.
 */
#include <stddef.h>
#include <stdint.h>

struct xsMachineRecord;
typedef void (*modMessageDeliver)(void *the, void *refcon, uint8_t *message, uint16_t messageLength);
int modMessagePostToMachine(struct xsMachineRecord *the, uint8_t *message, uint16_t messageLength,
		modMessageDeliver callback, void *refcon);
#define modCriticalSectionDeclare
#define modCriticalSectionBegin()
#define modCriticalSectionEnd()
void espMemCpy(void *dst, const void *src, size_t count);
#define kFlashStart ((uint8_t *)0x040200000)
