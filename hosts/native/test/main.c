/*
 * main.c: runs every suite linked into this binary (see runner.h).
 *
 * Usage: native-tests [substring]  (only tests whose "suite/name" contains it)
 *
 * A watchdog (alarm) ends the run when one test takes longer than
 * TEST_TIMEOUT_SECONDS (or $NATIVE_TEST_TIMEOUT seconds): a hang is reported as that test failing, with the
 * usual last line, instead of blocking the caller.
 */

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "runner.h"
#include "suites.h"

/* Per-test limit; NATIVE_TEST_TIMEOUT (seconds) overrides it. */
#define TEST_TIMEOUT_SECONDS 60
static int timeout_seconds = TEST_TIMEOUT_SECONDS;

int test_failed;
int test_skipped;
char test_message[512];

static const char *current_test;
static int counts[2];	/* passed, failed so far */

static void on_timeout(int signal_number)
{
	char line[512];
	int n;

	(void)signal_number;
	n = snprintf(line, sizeof(line), "not ok - %s: timed out after %d s\n%d passed, %d failed\n",
			current_test ? current_test : "?", timeout_seconds, counts[0], counts[1] + 1);
	if (n > 0) {
		ssize_t written = write(1, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)written;
	}
	_exit(1);
}

int main(int argc, char **argv)
{
	const char *filter = (argc > 1) ? argv[1] : NULL;
	int passed = 0, failed = 0, skipped = 0;
	size_t s, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_timeout);
	if (getenv("NATIVE_TEST_TIMEOUT") && atoi(getenv("NATIVE_TEST_TIMEOUT")) > 0)
		timeout_seconds = atoi(getenv("NATIVE_TEST_TIMEOUT"));
	for (s = 0; s < test_suite_count; s++) {
		const test_suite_t *suite = test_suites[s];
		for (i = 0; i < suite->count; i++) {
			const test_case_t *test = &suite->cases[i];
			char full[256];

			snprintf(full, sizeof(full), "%s/%s", suite->suite, test->name);
			if (filter && !strstr(full, filter))
				continue;
			test_failed = 0;
			test_skipped = 0;
			test_message[0] = 0;
			current_test = full;
			counts[0] = passed;
			counts[1] = failed;
			alarm((unsigned)timeout_seconds);
			test->run();
			alarm(0);
			if (test_skipped && !test_failed) {
				skipped++;
				printf("skip - %s: %s\n", full, test_message);
			}
			else if (test_failed) {
				failed++;
				printf("not ok - %s: %s\n", full, test_message);
			}
			else {
				passed++;
				printf("ok - %s\n", full);
			}
		}
	}
	if (skipped)
		printf("# %d skipped\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
