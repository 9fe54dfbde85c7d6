/* The light skeletons (bpftool gen skeleton -L): their loader program has the kernel apply the
 * CO-RE relocations against its own BTF, so nothing here reads or parses the kernel's BTF. Three
 * skeletons of one program: names only (nucleus_syscalls), with behaviour records
 * (nucleus_behaviour), and with them for targets followed as a process tree
 * (nucleus_behaviour_tree, see syscalls.bpf.c's NUCLEUS_TREE_EXIT); a trace loads one, and every
 * call below goes to the one it loaded. */
#include "ebpf_skeleton.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "behaviour.lskel.h"
#include "behaviour_tree.lskel.h"
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
#define WITH_TREE_EXIT 1
#include "ebpf_skeleton_ops.h"
#undef SKEL
#undef OPS
#undef WITH_BEHAVIOUR
#undef WITH_TREE_EXIT

#define SKEL nucleus_behaviour
#define OPS(x) full_##x
#define WITH_BEHAVIOUR 1
#define WITH_TREE_EXIT 0
#include "ebpf_skeleton_ops.h"
#undef SKEL
#undef OPS
#undef WITH_BEHAVIOUR
#undef WITH_TREE_EXIT

#define SKEL nucleus_behaviour_tree
#define OPS(x) tree_##x
#define WITH_BEHAVIOUR 1
#define WITH_TREE_EXIT 1
#include "ebpf_skeleton_ops.h"
#undef SKEL
#undef OPS
#undef WITH_BEHAVIOUR
#undef WITH_TREE_EXIT

struct nucleus_bpf {
  struct nucleus_syscalls* names; /* one of the three is set */
  struct nucleus_behaviour* full;
  struct nucleus_behaviour_tree* tree;
};

/* The call `op` on whichever skeleton `b` loaded, and a field of it. */
#define ON(b, op, ...)                                                                                                 \
  ((b)->full   ? full_##op((b)->full, ##__VA_ARGS__)                                                                   \
   : (b)->tree ? tree_##op((b)->tree, ##__VA_ARGS__)                                                                   \
               : names_##op((b)->names, ##__VA_ARGS__))
#define FIELD(b, f) ((b)->full ? (b)->full->f : (b)->tree ? (b)->tree->f : (b)->names->f)

struct nucleus_bpf* nucleus_bpf_load(const uint8_t* flags, const struct nucleus_bpf_sizes* sizes,
                                     const struct nucleus_bpf_behaviour* behaviour) {
  struct nucleus_bpf* out = (struct nucleus_bpf*)skel_alloc(sizeof(*out));
  if (!out) {
    errno = ENOMEM;
    return NULL;
  }
  memset(out, 0, sizeof(*out));
  if (behaviour && behaviour->spec && behaviour->follows_trees) out->tree = tree_load(flags, sizes, behaviour);
  else if (behaviour && behaviour->spec) out->full = full_load(flags, sizes, behaviour);
  else out->names = names_load(flags, sizes, behaviour);
  if (!out->full && !out->tree && !out->names) {
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
int nucleus_bpf_attach_behaviour(struct nucleus_bpf* b) { return b->names ? -EINVAL : ON(b, attach_behaviour); }

void nucleus_bpf_detach(struct nucleus_bpf* b) { ON(b, detach); }

void nucleus_bpf_destroy(struct nucleus_bpf* b) {
  if (!b) return;
  if (b->full) full_destroy(b->full);
  if (b->tree) tree_destroy(b->tree);
  if (b->names) names_destroy(b->names);
  skel_free(b);
}

volatile struct nucleus_bpf_counters* nucleus_bpf_globals(struct nucleus_bpf* b) {
  void* bss = b->full ? (void*)b->full->bss : b->tree ? (void*)b->tree->bss : (void*)b->names->bss;
  return (volatile struct nucleus_bpf_counters*)bss;
}

int nucleus_bpf_counts_fd(const struct nucleus_bpf* b) { return FIELD(b, maps.counts.map_fd); }
int nucleus_bpf_facts_fd(const struct nucleus_bpf* b) { return FIELD(b, maps.facts.map_fd); }
int nucleus_bpf_events_fd(const struct nucleus_bpf* b) { return FIELD(b, maps.exec_events.map_fd); }
int nucleus_bpf_behaviour_fd(const struct nucleus_bpf* b) { return ON(b, behaviour_fd); }
int nucleus_bpf_tracked_fd(const struct nucleus_bpf* b) { return FIELD(b, maps.tracked.map_fd); }
int nucleus_bpf_cgroup_fd(const struct nucleus_bpf* b) { return FIELD(b, maps.target_cgroup.map_fd); }
