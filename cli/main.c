/* unixsock — a command-line tool for Unix domain sockets, like nc -U or socat
 * but with seqpacket, credentials and descriptor passing built in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: unixsock listen  ADDRESS [options]   accept, then relay stdin <-> socket\n"
    "       unixsock connect ADDRESS [options]   connect, then relay stdin <-> socket\n"
    "       unixsock probe   ADDRESS             is a server listening there?\n"
    "\n"
    "ADDRESS is a path, @name (abstract namespace) or, for dgram connect, a path/@name.\n"
    "\n"
    "options:\n"
    "  -k, --kind KIND      stream (default), dgram or seqpacket\n"
    "  -e, --echo[=PREFIX]  listen: answer every message with PREFIX+message\n"
    "                       (default prefix \"Hi, \"), serving many clients\n"
    "  -m, --mode MODE      listen: the socket file's permission bits (octal)\n"
    "  -p, --show-peer      print each peer's pid, uid, gid, groups to stderr\n"
    "      --send-fd FILE   pass FILE (opened read-only) with the first message\n"
    "      --recv-fds       print what arrives through received descriptors\n"
    "      --cred           attach our credentials to every message; print the\n"
    "                       credentials that arrive\n"
    "      --messages       framed messages on a stream (implied by the 3 above)\n"
    "  -t, --timeout SECS   connect timeout (default 5); input that waits longer\n"
    "                       for a peer that does not read is said once\n"
    "  -w, --wait SECS      once stdin ends, quit after SECS with nothing received\n"
    "                       (default: until the peer closes; dgram connect 0.5)\n"
    "  -h, --help           this text;  -V, --version\n"
    "\n"
    "On dgram and seqpacket every line of stdin is one message (over 64 KiB: in\n"
    "64 KiB pieces), and every message received is printed on its own line\n"
    "(a newline added unless it ends in one).\n"
    "Exit status: 0 ok, 1 failure, 2 usage,\n"
    "probe: 3 nothing there, 4 not a socket, 5 stale socket file, 6 permission denied.\n";

/* A usage error says what was wrong on one line, then where the rest is; the
 * full text is for --help (a screenful hides the one line that matters). */
int cli_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("unixsock: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'unixsock --help' for more information.\n", stderr);
  return EXIT_USAGE;
}

/* A usage error that quotes len bytes of what was typed, control bytes as \xNN
 * as addresses are shown (raw, an escape sequence would act on the terminal
 * instead of being seen); an empty value is shown as ''. */
static int usage_error_quoting(const char *what, const char *typed, size_t len, const char *after) {
  char *shown = len > 0 ? cli_shown(typed, len) : NULL;
  int status = cli_usage_error("%s '%s'%s", what, len == 0 ? "" : shown != NULL ? shown : "?", after);
  free(shown);
  return status;
}

static int bad_value(const char *what, const char *typed, const char *after) {
  return usage_error_quoting(what, typed, strlen(typed), after);
}

/* Seconds, as unixsock_timeout_ms takes them (inf waits for ever); -1 for text
 * that is not one number.  (A plain cast overflowed: connect said EINVAL.) */
static int parse_timeout(const char *text, int *ret_ms) {
  char *end;
  double t = strtod(text, &end);
  if (end == text || *end != '\0')
    return -1;
  return unixsock_timeout_ms(t, ret_ms) < 0 ? -1 : 0;
}

/* getopt's complaint (c: '?' or ':'), said as our other usage errors are (getopt
 * would name the binary by the path it was run as).  A missing value always
 * moves optind past the option; a long option's text is argv[optind - 1]. */
static int option_error(int c, char **argv, const struct option *longopts) {
  const char *arg = argv[optind - 1];
  bool is_long = strncmp(arg, "--", 2) == 0;
  int n = (int)strcspn(arg, "=");
  char shortopt[2] = {'-', (char)optopt}; /* arg may hold several, as "-pt" */
  if (c == ':')
    return is_long ? usage_error_quoting("option", arg, (size_t)n, " needs a value")
                   : usage_error_quoting("option", shortopt, 2, " needs a value");
  if (optopt == 0)
    return usage_error_quoting("unknown option", arg, (size_t)n, "");
  for (const struct option *o = longopts; is_long && arg[n] == '=' && o->name != NULL; o++)
    if (o->val == optopt && (int)strlen(o->name) == n - 2 && strncmp(o->name, arg + 2, (size_t)n - 2) == 0)
      return usage_error_quoting("option", arg, (size_t)n, " takes no value");
  return usage_error_quoting("unknown option", shortopt, 2, "");
}

/* The options given, one bit each, so that one a command would ignore is said
 * instead (`connect --echo` was a client that echoed nothing, without a word). */
enum option_bit {
  OPT_KIND = 1 << 0, OPT_ECHO = 1 << 1, OPT_MODE = 1 << 2, OPT_SHOW_PEER = 1 << 3,
  OPT_SEND_FD = 1 << 4, OPT_RECV_FDS = 1 << 5, OPT_CRED = 1 << 6, OPT_MESSAGES = 1 << 7,
  OPT_TIMEOUT = 1 << 8, OPT_WAIT = 1 << 9
};

static const struct {
  unsigned bit;
  const char *name;
} option_names[] = {{OPT_KIND, "--kind"},         {OPT_ECHO, "--echo"},
                    {OPT_MODE, "--mode"},         {OPT_SHOW_PEER, "--show-peer"},
                    {OPT_SEND_FD, "--send-fd"},   {OPT_RECV_FDS, "--recv-fds"},
                    {OPT_CRED, "--cred"},         {OPT_MESSAGES, "--messages"},
                    {OPT_TIMEOUT, "--timeout"},   {OPT_WAIT, "--wait"}};

struct command {
  const char *name;
  int (*run)(const struct cli_options *o);
  unsigned takes; /* the options that mean something to it */
};

enum { RELAY_OPTIONS = OPT_KIND | OPT_SHOW_PEER | OPT_SEND_FD | OPT_RECV_FDS | OPT_CRED |
                       OPT_MESSAGES | OPT_WAIT };

static const struct command commands[] = {
    {"listen", cli_listen, RELAY_OPTIONS | OPT_ECHO | OPT_MODE},
    {"connect", cli_connect, RELAY_OPTIONS | OPT_TIMEOUT},
    {"probe", cli_probe, 0}}; /* it tries every kind */

enum { NCOMMANDS = sizeof(commands) / sizeof(commands[0]) };

/* A usage error for the first option given that cmd does nothing with; 0 when
 * every one counts.  An echo server neither waits for a quiet spell (it serves
 * until a signal) nor sends a descriptor. */
static int check_options(const struct command *cmd, unsigned given, bool echo) {
  unsigned unused = given & ~cmd->takes;
  if (echo)
    unused |= given & (OPT_WAIT | OPT_SEND_FD);
  for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++) {
    unsigned bit = option_names[i].bit;
    if (!(unused & bit))
      continue;
    if (cmd->takes & bit)
      return cli_usage_error("option '%s' does nothing with --echo", option_names[i].name);
    char takers[64] = "";
    for (size_t k = 0; k < NCOMMANDS; k++)
      if (commands[k].takes & bit)
        snprintf(takers + strlen(takers), sizeof(takers) - strlen(takers), "%s%s",
                 takers[0] ? " and " : "", commands[k].name);
    return cli_usage_error("option '%s' is for %s, not %s", option_names[i].name, takers,
                           cmd->name);
  }
  return 0;
}

static const struct command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

void cli_error(const char *op, const char *address, int result) {
  if (address != NULL)
    cli_error_at(op, address, strlen(address), result);
  else
    fprintf(stderr, "unixsock: %s: %s (%s)\n", op, unixsock_strerror(result),
            unixsock_errname(result));
}

char *cli_shown(const char *address, size_t len) {
  size_t size = 4 * len + 3; /* a path given on the command line may be long */
  char *shown = malloc(size);
  if (shown != NULL)
    unixsock_address_text(address, len, shown, size);
  return shown;
}

void cli_error_at(const char *op, const char *address, size_t len, int result) {
  char *shown = cli_shown(address, len);
  fprintf(stderr, "unixsock: %s %s: %s (%s)\n", op, shown != NULL ? shown : "?",
          unixsock_strerror(result), unixsock_errname(result));
  free(shown);
}

/* A standard descriptor the caller closed (`<&-`) would be the next one opened:
 * the signal pipe or the socket itself, so that the relay read its own socket as
 * stdin (it hung), or what went to stderr went to the peer.  Each gets /dev/null,
 * opened the other way round, so that it still fails as a closed one would
 * (EBADF: said as stdin's or stdout's error) and its number stays taken. */
static void reserve_standard_fds(void) {
  static const int unusable[3] = {O_WRONLY, O_RDONLY, O_RDONLY};
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int got = open("/dev/null", unusable[fd]);
      if (got >= 0 && got != fd) { /* cannot be: the lower ones are open by now */
        close(got);
        return;
      }
    }
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"kind", required_argument, NULL, 'k'},  {"echo", optional_argument, NULL, 'e'},
      {"mode", required_argument, NULL, 'm'},  {"show-peer", no_argument, NULL, 'p'},
      {"send-fd", required_argument, NULL, 1}, {"recv-fds", no_argument, NULL, 2},
      {"cred", no_argument, NULL, 3},          {"messages", no_argument, NULL, 4},
      {"timeout", required_argument, NULL, 't'}, {"wait", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0}};
  struct cli_options o = {.kind = UNIXSOCK_STREAM, .mode = -1, .prefix = "Hi, ",
                          .timeout_ms = 5000, .wait_ms = WAIT_DEFAULT};
  unsigned given = 0;
  int c;
  reserve_standard_fds();
  signal(SIGPIPE, SIG_IGN); /* stdout may be a closed pipe; sockets never raise it */
  opterr = 0; /* option_error says it */
  while ((c = getopt_long(argc, argv, ":k:e::m:pt:w:hV", longopts, NULL)) != -1) {
    switch (c) {
    case 'k':
      given |= OPT_KIND;
      o.kind = unixsock_kind_parse(optarg);
      if (o.kind < 0)
        return bad_value("unknown kind", optarg, " (stream, dgram, seqpacket)");
      break;
    case 'e':
      given |= OPT_ECHO;
      o.echo = true;
      if (optarg != NULL)
        o.prefix = optarg;
      break;
    case 'm': {
      given |= OPT_MODE;
      char *end;
      long m = strtol(optarg, &end, 8);
      if (end == optarg || *end != '\0' || m < 0 || m > 07777)
        return bad_value("bad mode", optarg, " (octal, like 0660)");
      o.mode = (int)m;
      break;
    }
    case 'p':
      given |= OPT_SHOW_PEER;
      o.show_peer = true;
      break;
    case 1:
      given |= OPT_SEND_FD;
      o.send_fd = optarg;
      o.messages = true;
      break;
    case 2:
      given |= OPT_RECV_FDS;
      o.recv_fds = true;
      o.messages = true;
      break;
    case 3:
      given |= OPT_CRED;
      o.cred = true;
      o.messages = true;
      break;
    case 4:
      given |= OPT_MESSAGES;
      o.messages = true;
      break;
    case 't':
      given |= OPT_TIMEOUT;
      if (parse_timeout(optarg, &o.timeout_ms) < 0)
        return bad_value("bad timeout", optarg, " (seconds, like 2.5)");
      break;
    case 'w':
      given |= OPT_WAIT;
      if (parse_timeout(optarg, &o.wait_ms) < 0)
        return bad_value("bad wait", optarg, " (seconds, like 2.5)");
      break;
    case 'h':
      fputs(usage, stdout);
      return EXIT_OK;
    case 'V':
      printf("unixsock %d.%d.%d\n", UNIXSOCK_VERSION_MAJOR, UNIXSOCK_VERSION_MINOR,
             UNIXSOCK_VERSION_PATCH);
      return EXIT_OK;
    default: /* '?' or ':' */
      return option_error(c, argv, longopts);
    }
  }
  if (optind == argc)
    return cli_usage_error("missing command (listen, connect or probe)");
  const struct command *cmd = find_command(argv[optind]);
  if (cmd == NULL)
    return bad_value("unknown command", argv[optind], "");
  if (argc - optind < 2)
    return cli_usage_error("%s needs an ADDRESS", cmd->name);
  if (argc - optind > 2)
    return bad_value("unexpected argument", argv[optind + 2], "");
  int unused = check_options(cmd, given, o.echo);
  if (unused != 0)
    return unused;
  o.address = argv[optind + 1];
  char *shown = cli_shown(o.address, strlen(o.address));
  o.shown = shown != NULL ? shown : "?";
  /* refused, not ignored: the caller would believe the socket closed to others */
  if ((given & OPT_MODE) && o.address[0] == '@') {
    int status = cli_usage_error("option '--mode' sets a socket file's permissions, and %s "
                                 "is abstract: it has no file", o.shown);
    free(shown);
    return status;
  }
  /* what cannot work is said before any peer sees a connection */
  if (cmd->run != cli_probe && !o.echo && cli_check_stdio() < 0) {
    free(shown);
    return EXIT_FAIL;
  }
  if (o.send_fd != NULL) {
    int fd = cli_open_send_fd(&o);
    if (fd < 0) {
      free(shown);
      return EXIT_FAIL;
    }
    close(fd);
  }
  int status = cmd->run(&o);
  free(shown);
  return status;
}
