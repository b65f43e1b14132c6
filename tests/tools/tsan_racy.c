/* tsan_racy - a deliberate data race, run by `make tsan` (tests/run.sh tsan) to show that a
 * ThreadSanitizer report fails a test even when the racing process exits 0. Two threads add
 * to one plain int with no lock; prints the (unreliable) sum. Not used by any other test. */
#include <pthread.h>
#include <stdio.h>

static int counter; /* racy on purpose */

static void *add(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++)
		counter++;
	return NULL;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, add, NULL))
		return 1;
	add(NULL);
	pthread_join(t, NULL);
	printf("%d\n", counter);
	return 0;
}
