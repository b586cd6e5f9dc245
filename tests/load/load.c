/* Load: N concurrent clients push M messages through an echo server built on the
 * unixsock poller, while clients are killed at random (closed with a message in
 * flight) and replaced.  Every message that was acknowledged must have come back
 * intact; the server must not crash; no descriptor may leak.
 *   load CLIENTS MESSAGES KILL_EVERY          prints one line of figures */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "unixsock.h"

static char addr[64];
static int server_stop;
static long server_errors; /* unexpected failures inside the server */

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1;
}

static int stop_fd = -1; /* the server stops when this pipe ends */

static void *server(void *arg) {
  unixsock *l = arg;
  unixsock_poller *p;
  static int stop_marker;
  if (unixsock_poller_new(&p) < 0)
    abort();
  unixsock_settimeout(l, 0);
  unixsock_poller_set(p, unixsock_fd(l), UNIXSOCK_READABLE, NULL);
  unixsock_poller_set(p, stop_fd, UNIXSOCK_READABLE, &stop_marker);
  unixsock_event ev[256];
  char buf[256];
  while (!server_stop) {
    int n = unixsock_poller_wait(p, ev, 256, 100);
    if (n < 0) {
      server_errors++;
      continue;
    }
    for (int i = 0; i < n; i++) {
      if (ev[i].data == &stop_marker) {
        server_stop = 1;
        continue;
      }
      if (ev[i].data == NULL) {
        unixsock *c;
        int r;
        while ((r = unixsock_accept(l, &c)) == 0) {
          unixsock_settimeout(c, 0);
          unixsock_poller_set(p, unixsock_fd(c), UNIXSOCK_READABLE, c);
        }
        if (r != -EAGAIN)
          server_errors++;
        continue;
      }
      unixsock *c = ev[i].data;
      ssize_t r = unixsock_recv(c, buf, sizeof(buf));
      if (r > 0) {
        ssize_t w = unixsock_send(c, buf, (size_t)r);
        if (w == (ssize_t)r || w == -EAGAIN)
          continue; /* EAGAIN: a client that stopped reading; it will be killed */
        r = w;
      }
      if (r == -EAGAIN)
        continue;
      /* end of stream or a killed peer (ECONNRESET, EPIPE): forget it */
      if (r < 0 && r != -ECONNRESET && r != -EPIPE)
        server_errors++;
      unixsock_poller_remove(p, unixsock_fd(c));
      unixsock_close(c);
    }
  }
  unixsock_poller_free(p);
  return NULL;
}

struct client {
  unixsock *s;
  long seq;     /* message in flight */
  int waiting;  /* sent, echo not yet received */
};

static int connect_client(struct client *c) {
  int r = unixsock_connect(addr, strlen(addr), UNIXSOCK_SEQPACKET, 10000, &c->s);
  if (r < 0)
    return r;
  unixsock_settimeout(c->s, 0);
  c->waiting = 0;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: load CLIENTS MESSAGES KILL_EVERY\n");
    return 2;
  }
  long nclients = atol(argv[1]), total = atol(argv[2]), kill_every = atol(argv[3]);
  /* the server runs in a child process: each side needs one fd per client */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  if (rl.rlim_cur < (rlim_t)(nclients + 256)) {
    fprintf(stderr, "load: RLIMIT_NOFILE hard limit %lu is below %ld clients\n",
            (unsigned long)rl.rlim_max, nclients);
    return 1;
  }
  setrlimit(RLIMIT_NOFILE, &rl);
  snprintf(addr, sizeof(addr), "@unixsock-load-%d", (int)getpid());
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.backlog = 65535;
  unixsock *l;
  if (unixsock_listen(addr, strlen(addr), UNIXSOCK_SEQPACKET, &o, &l) < 0)
    return 1;
  int stop_pipe[2], report[2];
  if (pipe2(stop_pipe, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
    return 1;
  pid_t child = fork();
  if (child == 0) { /* the server */
    close(stop_pipe[1]);
    close(report[0]);
    stop_fd = stop_pipe[0];
    int before = count_fds();
    server(l);
    unixsock_close(l);
    int leaked = count_fds() - before + 1; /* the listener is closed now */
    char line[128];
    int len = snprintf(line, sizeof(line), "%ld %d\n", server_errors, leaked);
    if (write(report[1], line, (size_t)len) < 0)
      _exit(3);
    _exit(0);
  }
  close(stop_pipe[0]);
  close(report[1]);
  unixsock_close(l); /* the parent's copy; only the server process listens */
  int fds_before = count_fds();

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct client *cs = calloc((size_t)nclients, sizeof(*cs));
  long errors = 0, acked = 0, sent = 0, kills = 0, connect_failures = 0;
  for (long i = 0; i < nclients; i++)
    if (connect_client(&cs[i]) < 0) {
      connect_failures++;
      cs[i].s = NULL;
    }
  unixsock_poller *p;
  unixsock_poller_new(&p);
  for (long i = 0; i < nclients; i++)
    if (cs[i].s)
      unixsock_poller_set(p, unixsock_fd(cs[i].s), UNIXSOCK_READABLE, &cs[i]);
  /* every client starts with one message in flight */
  char msg[64], got[64];
  srand(12345);
  for (long i = 0; i < nclients && sent < total; i++) {
    if (!cs[i].s)
      continue;
    cs[i].seq = sent++;
    int len = snprintf(msg, sizeof(msg), "client %ld message %ld", i, cs[i].seq);
    if (unixsock_send(cs[i].s, msg, (size_t)len) != len)
      errors++;
    cs[i].waiting = 1;
  }
  unixsock_event ev[256];
  long inflight = sent;
  while (inflight > 0) {
    int n = unixsock_poller_wait(p, ev, 256, 10000);
    if (n <= 0) {
      errors++; /* ten seconds with nothing back: a lost message */
      break;
    }
    for (int e = 0; e < n; e++) {
      struct client *c = ev[e].data;
      long idx = c - cs;
      ssize_t r = unixsock_recv(c->s, got, sizeof(got));
      if (r == -EAGAIN)
        continue;
      int len = snprintf(msg, sizeof(msg), "client %ld message %ld", idx, c->seq);
      if (r != len || memcmp(got, msg, (size_t)len) != 0) {
        errors++; /* wrong or missing echo */
      } else {
        acked++;
      }
      inflight--;
      c->waiting = 0;
      if (sent >= total)
        continue;
      /* now and then, kill this client with a message in flight, and replace it */
      if (kill_every > 0 && rand() % kill_every == 0) {
        len = snprintf(msg, sizeof(msg), "client %ld message doomed", idx);
        unixsock_send(c->s, msg, (size_t)len);
        unixsock_poller_remove(p, unixsock_fd(c->s));
        unixsock_close(c->s);
        kills++;
        if (connect_client(c) < 0) {
          connect_failures++;
          c->s = NULL;
          continue;
        }
        unixsock_poller_set(p, unixsock_fd(c->s), UNIXSOCK_READABLE, c);
      }
      c->seq = sent++;
      len = snprintf(msg, sizeof(msg), "client %ld message %ld", idx, c->seq);
      if (unixsock_send(c->s, msg, (size_t)len) != len) {
        errors++;
        continue;
      }
      c->waiting = 1;
      inflight++;
    }
  }
  for (long i = 0; i < nclients; i++)
    if (cs[i].s) {
      unixsock_poller_remove(p, unixsock_fd(cs[i].s));
      unixsock_close(cs[i].s);
    }
  unixsock_poller_free(p);
  /* let the server see every end of stream before stopping it */
  usleep(300000);
  close(stop_pipe[1]);
  char line[128] = {0};
  int server_leaked = -1;
  if (read(report[0], line, sizeof(line) - 1) > 0)
    sscanf(line, "%ld %d", &server_errors, &server_leaked);
  close(report[0]);
  int status;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    server_errors++; /* the server crashed */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  free(cs);
  /* two pipe ends counted in fds_before are closed by now */
  int leaked = count_fds() - (fds_before - 2) + (server_leaked != 0 ? server_leaked : 0);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("clients=%ld messages=%ld acked=%ld kills=%ld errors=%ld server_errors=%ld "
         "connect_failures=%ld fds_leaked=%d seconds=%.2f\n",
         nclients, sent, acked, kills, errors, server_errors, connect_failures, leaked, secs);
  return (errors || server_errors || connect_failures || leaked || acked != sent) ? 1 : 0;
}
