/*
 * test_support.c: see test_support.h.
 */

#define _GNU_SOURCE
#include "test_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };
	while (nanosleep(&ts, &ts) && (EINTR == errno))
		;
}

int free_loopback_port(void)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&address, sizeof(address))
			&& !getsockname(fd, (struct sockaddr *)&address, &length))
		port = ntohs(address.sin_port);
	close(fd);
	return port;
}

static int can_connect(int port)
{
	struct sockaddr_in address;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_port = htons((uint16_t)port);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = (0 == connect(fd, (struct sockaddr *)&address, sizeof(address)));
	close(fd);
	return ok;
}

int mosquitto_start(mosquitto_t *broker)
{
	static const char *const candidates[] = { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" };
	const char *binary = NULL;
	char path[128];
	FILE *config;
	uint64_t deadline;
	size_t i;

	memset(broker, 0, sizeof(*broker));
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (0 == access(candidates[i], X_OK))
			binary = candidates[i];
	if (!binary)
		return -1;

	strcpy(broker->directory, "/tmp/mqtt-xs-native-XXXXXX");
	if (!mkdtemp(broker->directory))
		return -1;
	chmod(broker->directory, 0755);	/* mosquitto drops root to its own user */
	broker->port = free_loopback_port();
	snprintf(path, sizeof(path), "%s/mosquitto.conf", broker->directory);
	config = fopen(path, "w");
	if (!config)
		return -1;
	fprintf(config, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n", broker->port);
	fclose(config);
	chmod(path, 0644);

	broker->pid = fork();
	if (0 == broker->pid) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(binary, binary, "-c", path, (char *)NULL);
		_exit(127);
	}
	if (broker->pid < 0)
		return -1;

	deadline = now_ms() + 5000;
	while (now_ms() < deadline) {
		int status;
		if (can_connect(broker->port))
			return 0;
		if (waitpid(broker->pid, &status, WNOHANG) == broker->pid) {
			broker->pid = 0;
			return -1;
		}
		sleep_ms(20);
	}
	mosquitto_stop(broker);
	return -1;
}

void mosquitto_stop(mosquitto_t *broker)
{
	char path[128];

	if (broker->pid > 0) {
		kill(broker->pid, SIGTERM);
		waitpid(broker->pid, NULL, 0);
		broker->pid = 0;
	}
	if (broker->directory[0]) {
		snprintf(path, sizeof(path), "%s/mosquitto.conf", broker->directory);
		unlink(path);
		rmdir(broker->directory);
		broker->directory[0] = 0;
	}
}

size_t mqtt_encode_remaining_length(uint32_t value, uint8_t *out)
{
	size_t n = 0;
	do {
		uint8_t byte = value & 0x7F;
		value >>= 7;
		if (value)
			byte |= 0x80;
		out[n++] = byte;
	} while (value);
	return n;
}

static size_t put_string(const char *text, uint8_t *out)
{
	size_t length = strlen(text);
	out[0] = (uint8_t)(length >> 8);
	out[1] = (uint8_t)length;
	memcpy(out + 2, text, length);
	return length + 2;
}

size_t mqtt_build_connect(const char *client_id, uint8_t *out)
{
	uint8_t body[256];
	size_t n = 0, header;

	n += put_string("MQTT", body + n);	/* protocol name */
	body[n++] = 4;                         /* protocol level 4 = 3.1.1 */
	body[n++] = 0x02;                      /* clean session */
	body[n++] = 0;                         /* keepalive 60 s */
	body[n++] = 60;
	n += put_string(client_id, body + n);
	out[0] = 0x10;
	header = 1 + mqtt_encode_remaining_length((uint32_t)n, out + 1);
	memcpy(out + header, body, n);
	return header + n;
}

size_t mqtt_build_subscribe(const char *filter, uint8_t *out)
{
	uint8_t body[256];
	size_t n = 0, header;

	body[n++] = 0;	/* packet id 1 */
	body[n++] = 1;
	n += put_string(filter, body + n);
	body[n++] = 0;	/* requested QoS 0 */
	out[0] = 0x82;	/* SUBSCRIBE, flags 0010 [MQTT-3.8.1-1] */
	header = 1 + mqtt_encode_remaining_length((uint32_t)n, out + 1);
	memcpy(out + header, body, n);
	return header + n;
}

size_t mqtt_build_publish(const char *topic, size_t payload_length, uint8_t *out)
{
	size_t topic_length = strlen(topic), n, i;
	uint32_t remaining = (uint32_t)(2 + topic_length + payload_length);

	out[0] = 0x30;
	n = 1 + mqtt_encode_remaining_length(remaining, out + 1);
	n += put_string(topic, out + n);
	for (i = 0; i < payload_length; i++)
		out[n++] = (uint8_t)(i * 7 + 3);
	return n;
}
