/*
 * mqtt_transport.c: error names and the direct runner (mqtt_transport.h).
 */

#include "mqtt_transport.h"

static const char *const mqtt_transport_error_names[] = {
	"OK",
	"WOULD_BLOCK",
	"ARGUMENT",
	"STATE",
	"NO_MEMORY",
	"ADDRESS",
	"DNS",
	"UNREACHABLE",
	"REFUSED",
	"ABORTED",
	"RESET",
	"CLOSED_BY_PEER",
	"PACKET_TOO_LARGE",
	"MALFORMED",
	"INTERNAL"
};

const char *mqtt_transport_error_name(int code)
{
	if ((code < 0) || ((unsigned)code >= sizeof(mqtt_transport_error_names) / sizeof(mqtt_transport_error_names[0])))
		return "UNKNOWN";
	return mqtt_transport_error_names[code];
}

void mqtt_run_direct(void *context, void (*fn)(void *argument), void *argument)
{
	(void)context;
	fn(argument);
}
