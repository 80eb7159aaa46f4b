/*
 * Deep sleep for the soil-moisture node on the ESP32 (see esp32.js): arm
 * the RTC timer and enter deep sleep; the chip wakes by rebooting, so this
 * function does not return.
 *
 * ESP-IDF API: esp_sleep_enable_timer_wakeup(uint64_t microseconds) and
 * esp_deep_sleep_start(void) (esp_sleep.h, "Sleep Modes" in the ESP-IDF
 * programming guide). The guide asks applications to stop Wi-Fi before deep
 * sleep; esp_wifi_stop() is harmless when Wi-Fi was not started (it then
 * returns an error code, which is ignored).
 */
#include "xsmc.h"
#include "xsHost.h"

#include "esp_sleep.h"
#include "esp_wifi.h"

void xs_mqttxs_deep_sleep(xsMachine *the)
{
	double us = xsmcToNumber(xsArg(0));
	if (!(us >= 0))
		xsRangeError("deep sleep: microseconds must be >= 0");

	esp_wifi_stop();
	esp_sleep_enable_timer_wakeup((uint64_t)us);
	esp_deep_sleep_start();
}
