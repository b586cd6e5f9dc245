/* Room for the packet a recv_message reads in place of the one it measured
 * (message.c): one region per thread, made on its first use, freed when the
 * thread ends. */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_error;

static void make_key(void) { key_error = pthread_key_create(&key, free); }

void *unixsock__spill(void) {
  if (pthread_once(&once, make_key) != 0 || key_error != 0)
    return NULL;
  void *p = pthread_getspecific(key);
  if (p == NULL) {
    p = malloc(UNIXSOCK__SPILL_BYTES);
    if (p != NULL && pthread_setspecific(key, p) != 0) {
      free(p);
      p = NULL;
    }
  }
  return p;
}
