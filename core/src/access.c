/* Access control: the allow-list of uids and gids a listener or dgram endpoint
 * admits. */
#include "internal.h"

bool unixsock__admitted(const unixsock *s, uid_t uid, gid_t gid) {
  if (s->allow_uids_count == 0 && s->allow_gids_count == 0)
    return true;
  for (size_t i = 0; i < s->allow_uids_count; i++)
    if (s->allow_uids[i] == uid)
      return true;
  for (size_t i = 0; i < s->allow_gids_count; i++)
    if (s->allow_gids[i] == gid)
      return true;
  return false;
}
