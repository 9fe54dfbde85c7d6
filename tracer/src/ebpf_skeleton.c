/* The light skeletons (bpftool gen skeleton -L): their loader program has the kernel apply the
 * CO-RE relocations against its own BTF, so nothing here reads or parses the kernel's BTF. Two
 * skeletons of one program: names only (nucleus_syscalls) and with behaviour records
 * (nucleus_behaviour); a trace loads one, and every call below goes to the one it loaded. */
#include "ebpf_skeleton.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "behaviour.lskel.h"
#include "syscalls.lskel.h"

/* The generated detach closes the links but keeps their numbers, which destroy would close again
 * (by then perhaps another descriptor's): close them here and forget them. */
static void close_link(int* fd) {
  if (*fd > 0) close(*fd);
  *fd = 0;
}

#define SKEL nucleus_syscalls
#define OPS(x) names_##x
#define WITH_BEHAVIOUR 0
#include "ebpf_skeleton_ops.h"
#undef SKEL
#undef OPS
#undef WITH_BEHAVIOUR

#define SKEL nucleus_behaviour
#define OPS(x) full_##x
#define WITH_BEHAVIOUR 1
#include "ebpf_skeleton_ops.h"
#undef SKEL
#undef OPS
#undef WITH_BEHAVIOUR

struct nucleus_bpf {
  struct nucleus_syscalls* names; /* one of the two is set */
  struct nucleus_behaviour* full;
};

/* The call `op` on whichever skeleton `b` loaded. */
#define ON(b, op, ...) ((b)->full ? full_##op((b)->full, ##__VA_ARGS__) : names_##op((b)->names, ##__VA_ARGS__))

struct nucleus_bpf* nucleus_bpf_load(const uint8_t* flags, const struct nucleus_bpf_sizes* sizes,
                                     const struct nucleus_bpf_behaviour* behaviour) {
  struct nucleus_bpf* out = (struct nucleus_bpf*)skel_alloc(sizeof(*out));
  if (!out) {
    errno = ENOMEM;
    return NULL;
  }
  memset(out, 0, sizeof(*out));
  if (behaviour && behaviour->spec) out->full = full_load(flags, sizes, behaviour);
  else out->names = names_load(flags, sizes, behaviour);
  if (!out->full && !out->names) {
    int err = errno;
    skel_free(out);
    errno = err;
    return NULL;
  }
  return out;
}

int nucleus_bpf_attach(struct nucleus_bpf* b) { return ON(b, attach); }
int nucleus_bpf_attach_tree(struct nucleus_bpf* b) { return ON(b, attach_tree); }
int nucleus_bpf_attach_refused(struct nucleus_bpf* b) { return ON(b, attach_refused); }
int nucleus_bpf_attach_behaviour(struct nucleus_bpf* b) { return b->full ? full_attach_behaviour(b->full) : -EINVAL; }

void nucleus_bpf_detach(struct nucleus_bpf* b) {
  if (b->full) full_detach(b->full);
  else names_detach(b->names);
}

void nucleus_bpf_destroy(struct nucleus_bpf* b) {
  if (!b) return;
  if (b->full) full_destroy(b->full);
  if (b->names) names_destroy(b->names);
  skel_free(b);
}

volatile struct nucleus_bpf_counters* nucleus_bpf_globals(struct nucleus_bpf* b) {
  return (volatile struct nucleus_bpf_counters*)(b->full ? (void*)b->full->bss : (void*)b->names->bss);
}

int nucleus_bpf_counts_fd(const struct nucleus_bpf* b) {
  return b->full ? b->full->maps.counts.map_fd : b->names->maps.counts.map_fd;
}
int nucleus_bpf_facts_fd(const struct nucleus_bpf* b) {
  return b->full ? b->full->maps.facts.map_fd : b->names->maps.facts.map_fd;
}
int nucleus_bpf_events_fd(const struct nucleus_bpf* b) {
  return b->full ? b->full->maps.exec_events.map_fd : b->names->maps.exec_events.map_fd;
}
int nucleus_bpf_behaviour_fd(const struct nucleus_bpf* b) { return b->full ? full_behaviour_fd(b->full) : -1; }
int nucleus_bpf_tracked_fd(const struct nucleus_bpf* b) {
  return b->full ? b->full->maps.tracked.map_fd : b->names->maps.tracked.map_fd;
}
int nucleus_bpf_cgroup_fd(const struct nucleus_bpf* b) {
  return b->full ? b->full->maps.target_cgroup.map_fd : b->names->maps.target_cgroup.map_fd;
}
