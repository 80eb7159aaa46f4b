/*
 * runner.h: the smallest test runner that does the job.
 *
 * A test is a `static void name(void)` that calls CHECK / CHECK_EQ. Suites
 * list their tests in a table; main() runs every table and prints one line
 * per test ("ok - name" or "not ok - name" with the first failed check),
 * then "N passed, N failed" alone on the last line. The exit status is 1
 * when anything failed. A test may call SKIP(reason) when a component it
 * needs is missing; skips are listed and counted apart (not as passes).
 */

#ifndef MQTT_TEST_RUNNER_H
#define MQTT_TEST_RUNNER_H

#include <stdio.h>
#include <string.h>

typedef struct {
	const char *name;
	void (*run)(void);
} test_case_t;

typedef struct {
	const char *suite;
	const test_case_t *cases;
	size_t count;
} test_suite_t;

/* State of the test being run (defined in main.c). */
extern int test_failed;
extern int test_skipped;
extern char test_message[512];

#define TEST_FAIL_AT(file, line, ...) do { \
		if (!test_failed) { \
			int at_ = snprintf(test_message, sizeof(test_message), "%s:%d: ", file, line); \
			if ((at_ > 0) && ((size_t)at_ < sizeof(test_message))) \
				snprintf(test_message + at_, sizeof(test_message) - (size_t)at_, __VA_ARGS__); \
		} \
		test_failed = 1; \
	} while (0)

/* Records a failure (the first one's message is printed) and goes on. */
#define CHECK(condition, ...) do { \
		if (!(condition)) TEST_FAIL_AT(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Integer equality with both values in the message. */
#define CHECK_EQ(actual, expected, what) do { \
		long long a_ = (long long)(actual), e_ = (long long)(expected); \
		if (a_ != e_) TEST_FAIL_AT(__FILE__, __LINE__, "%s: got %lld, expected %lld", what, a_, e_); \
	} while (0)

/* Fails and leaves the test function. */
#define REQUIRE(condition, ...) do { \
		if (!(condition)) { TEST_FAIL_AT(__FILE__, __LINE__, __VA_ARGS__); return; } \
	} while (0)

#define SKIP(...) do { \
		test_skipped = 1; \
		snprintf(test_message, sizeof(test_message), __VA_ARGS__); \
		return; \
	} while (0)

#define TEST_COUNT(table) (sizeof(table) / sizeof((table)[0]))

#endif
