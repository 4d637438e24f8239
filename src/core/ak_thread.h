/* ak_thread.h - starting the engine's helper threads.
 *
 * A helper (background writer, segment merge, checkpoint saver) runs with
 * every signal blocked: SIGINT/SIGTERM are handled by the main thread,
 * which is the one that stops cleanly or, on a second signal, at once.
 */
#ifndef AK_THREAD_H
#define AK_THREAD_H

#include <pthread.h>

/* pthread_create with all signals blocked in the new thread: 0 or an errno. */
int ak_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
