/* The light skeleton (bpftool gen skeleton -L): its loader program has the kernel apply the CO-RE
 * relocations against its own BTF, so nothing here reads or parses the kernel's BTF. */
#include "ebpf_skeleton.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "syscalls.lskel.h"

_Static_assert(sizeof(((struct nucleus_syscalls__rodata*)0)->syscall_flags) ==
                   nucleus_bpf_arches * nucleus_bpf_nr_max,
               "flags table size differs from the BPF program's");
_Static_assert(sizeof(((struct nucleus_syscalls__rodata*)0)->behaviour_spec) ==
                   nucleus_bpf_arches * nucleus_bpf_nr_max * sizeof(uint32_t),
               "behaviour table size differs from the BPF program's");
_Static_assert(sizeof(struct nucleus_syscalls__bss) == sizeof(struct nucleus_bpf_counters),
               "counters differ from the BPF program's globals");

struct nucleus_bpf {
  struct nucleus_syscalls* skel;
};

struct nucleus_bpf* nucleus_bpf_load(const uint8_t* flags, const struct nucleus_bpf_sizes* sizes,
                                     const struct nucleus_bpf_behaviour* behaviour) {
  struct nucleus_syscalls* skel = nucleus_syscalls__open();
  if (!skel) return NULL;
  memcpy((void*)skel->rodata->syscall_flags, flags, sizeof(skel->rodata->syscall_flags));
  if (behaviour && behaviour->spec) {
    memcpy((void*)skel->rodata->behaviour_spec, behaviour->spec, sizeof(skel->rodata->behaviour_spec));
    skel->rodata->behaviour_on = 1;
    skel->maps.behaviour_events.max_entries = sizes->behaviour_events;
  } else {
    /* Names only: the smallest ring buffer, which nothing writes to. */
    skel->maps.behaviour_events.max_entries = 4096;
  }
  /* The loader program takes a map's size from here when it is not 0. */
  skel->maps.exec_events.max_entries = sizes->exec_events;
  skel->maps.tracked.max_entries = sizes->tracked;
  skel->maps.facts.max_entries = sizes->facts;
  int err = nucleus_syscalls__load(skel);
  if (err) {
    nucleus_syscalls__destroy(skel);
    errno = err < 0 ? -err : EINVAL;
    return NULL;
  }
  struct nucleus_bpf* out = (struct nucleus_bpf*)skel_alloc(sizeof(*out));
  if (!out) {
    nucleus_syscalls__destroy(skel);
    errno = ENOMEM;
    return NULL;
  }
  out->skel = skel;
  return out;
}

int nucleus_bpf_attach(struct nucleus_bpf* b) {
  int err = nucleus_syscalls__on_sys_enter__attach(b->skel);
  if (err >= 0) err = nucleus_syscalls__on_exec__attach(b->skel);
  if (err >= 0) {
    /* A kernel built without vsyscall emulation has no such tracepoint, and serves no vsyscall:
     * the page's addresses fault like any other. */
    err = nucleus_syscalls__on_vsyscall__attach(b->skel);
    if (err == -ENOENT) err = 0;
  }
  return err < 0 ? err : 0;
}

int nucleus_bpf_attach_tree(struct nucleus_bpf* b) {
  int err = nucleus_syscalls__on_fork__attach(b->skel);
  if (err >= 0 && b->skel->links.on_exit_fd <= 0) err = nucleus_syscalls__on_exit__attach(b->skel);
  return err < 0 ? err : 0;
}

int nucleus_bpf_attach_refused(struct nucleus_bpf* b) {
  int err = b->skel->links.on_sys_exit_fd > 0 ? 0 : nucleus_syscalls__on_sys_exit__attach(b->skel);
  return err < 0 ? err : 0;
}

int nucleus_bpf_attach_behaviour(struct nucleus_bpf* b) {
  int err = 0;
  if (b->skel->links.on_sys_exit_fd <= 0) err = nucleus_syscalls__on_sys_exit__attach(b->skel);
  if (err >= 0 && b->skel->links.on_exit_fd <= 0) err = nucleus_syscalls__on_exit__attach(b->skel);
  return err < 0 ? err : 0;
}

/* The generated detach closes the links but keeps their numbers, which destroy would close again
 * (by then perhaps another descriptor's): close them here and forget them. */
static void close_link(int* fd) {
  if (*fd > 0) close(*fd);
  *fd = 0;
}

void nucleus_bpf_detach(struct nucleus_bpf* b) {
  close_link(&b->skel->links.on_sys_enter_fd);
  close_link(&b->skel->links.on_exec_fd);
  close_link(&b->skel->links.on_vsyscall_fd);
  close_link(&b->skel->links.on_fork_fd);
  close_link(&b->skel->links.on_exit_fd);
  close_link(&b->skel->links.on_sys_exit_fd);
}

void nucleus_bpf_destroy(struct nucleus_bpf* b) {
  if (!b) return;
  nucleus_bpf_detach(b);
  nucleus_syscalls__destroy(b->skel);
  skel_free(b);
}

volatile struct nucleus_bpf_counters* nucleus_bpf_globals(struct nucleus_bpf* b) {
  return (volatile struct nucleus_bpf_counters*)b->skel->bss;
}

int nucleus_bpf_counts_fd(const struct nucleus_bpf* b) { return b->skel->maps.counts.map_fd; }
int nucleus_bpf_facts_fd(const struct nucleus_bpf* b) { return b->skel->maps.facts.map_fd; }
int nucleus_bpf_events_fd(const struct nucleus_bpf* b) { return b->skel->maps.exec_events.map_fd; }
int nucleus_bpf_behaviour_fd(const struct nucleus_bpf* b) { return b->skel->maps.behaviour_events.map_fd; }
int nucleus_bpf_tracked_fd(const struct nucleus_bpf* b) { return b->skel->maps.tracked.map_fd; }
int nucleus_bpf_cgroup_fd(const struct nucleus_bpf* b) { return b->skel->maps.target_cgroup.map_fd; }
