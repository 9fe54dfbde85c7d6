/* The light skeleton of tracer/bpf/syscalls.bpf.c behind a small C interface: the generated
 * header is C (it does not compile as C++), and the C++ recorder needs only these few calls.
 * Use: open_and_load, set the flags first (before load), attach, ..., detach, destroy. */
#ifndef NUCLEUS_EBPF_SKELETON_H
#define NUCLEUS_EBPF_SKELETON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Shared with the BPF program (tracer/bpf/syscalls.bpf.c). */
enum {
  nucleus_bpf_nr_max = 576,
  nucleus_bpf_arches = 3,
  nucleus_bpf_slots = 32,
  nucleus_bpf_arg_values_max = 32,
  nucleus_bpf_path_max = 256,
  nucleus_bpf_flag_baseline = 0x80,
  nucleus_bpf_flag_refused = 0x40,
  nucleus_bpf_fact_rare = 1,
  nucleus_bpf_fact_exe = 2,
  nucleus_bpf_fact_arg_value = 3,
  nucleus_bpf_fact_arg_count = 4,
  nucleus_bpf_mode_session = 0,
  nucleus_bpf_mode_tree = 1,
  nucleus_bpf_mode_cgroup = 2,
  nucleus_bpf_track_all = 1,
  nucleus_bpf_track_await_exec = 2,
  nucleus_bpf_behaviour_argv_max = 16,
  nucleus_bpf_behaviour_arg_read = 130,
  nucleus_bpf_behaviour_unread_a = 0x01,
  nucleus_bpf_behaviour_unread_b = 0x02,
  nucleus_bpf_behaviour_unread_blob = 0x04,
  nucleus_bpf_behaviour_argv_truncated = 0x08,
  nucleus_bpf_behaviour_result = 0x10,
  nucleus_bpf_behaviour_unread_argv = 0x20,
  /* behaviour_spec: bits 0-5 the kind, then 3 bits each: the argument index + 1 of each (0 none),
   * and each path's directory (0 the working directory, the dirfd argument's index + 1, or 7) */
  nucleus_bpf_spec_path_a = 6,
  nucleus_bpf_spec_path_b = 9,
  nucleus_bpf_spec_blob = 12,
  nucleus_bpf_spec_blob_len = 15,
  nucleus_bpf_spec_msghdr = 18,
  nucleus_bpf_spec_argv = 21,
  nucleus_bpf_spec_dir_a = 24,
  nucleus_bpf_spec_dir_b = 27,
  nucleus_bpf_spec_dir_verbatim = 7,
  nucleus_bpf_spec_wake = 1 << 30, /* userspace reads the record at once (listen) */
};

struct nucleus_bpf_fact_key {
  uint32_t kind, slot, arch, nr, arg, pad;
  uint64_t value;
};

struct nucleus_bpf_exec_event {
  uint32_t slot;
  char path[nucleus_bpf_path_max];
};

struct nucleus_bpf_counters {
  uint32_t target_session;
  uint32_t next_slot;
  uint64_t ringbuf_drops;
  uint64_t slots_full;
  uint64_t storage_failures;
  uint64_t rare_full;
  uint64_t tracked_full;
  uint32_t target_mode;
  uint32_t target_pad;
  uint64_t exec_unfiltered;
  uint32_t await_filters;
  uint32_t await_pad;
  uint64_t await_execs;
  uint32_t root_tgid;
  uint32_t root_status;
  uint32_t root_exited;
  uint32_t root_pad;
  uint64_t args_unread;
  uint64_t behaviour_drops;
  uint64_t behaviour_storage_failures;
  uint64_t calls_pending; /* the program's own: behaviour calls entered and not yet sent */
};

/* A behaviour call as the program sends it (struct beh_event): this header, then `used` bytes of
 * data: path A, base A (the directory a relative path A starts from, named by the program), path B,
 * base B (each with its NUL, or absent), the buffer, argv's strings (each with its NUL); for a call
 * without path A, base A follows the buffer (a Unix socket's relative path's directory). */
struct nucleus_bpf_behaviour_event {
  uint32_t kind, arch, nr, tgid, tid, slot;
  int64_t ret;
  uint64_t args[6];
  uint16_t len_a, len_b, blob_len, argv_len;
  uint16_t argc, flags;
  uint16_t len_base_a, len_base_b;
  uint32_t used;
  uint32_t wake;
};

/* Map sizes for tests (EbpfMapSizes); 0 keeps the program's own. */
struct nucleus_bpf_sizes {
  uint32_t exec_events, tracked, facts, behaviour_events;
};

/* What the program records besides the counts: `spec` (nucleus_bpf_arches * nucleus_bpf_nr_max
 * entries) for behaviour records (the program built with them is loaded), or NULL for names only
 * (the program without them, which loads and runs as cheaply as before they existed). */
struct nucleus_bpf_behaviour {
  const uint32_t* spec;
  int follows_trees; /* with spec: the program that can follow a process tree (nucleus_bpf_attach_tree) */
};

struct nucleus_bpf;

/* NULL on failure with errno set. `flags` has nucleus_bpf_arches * nucleus_bpf_nr_max bytes. */
struct nucleus_bpf* nucleus_bpf_load(const uint8_t* flags, const struct nucleus_bpf_sizes* sizes,
                                     const struct nucleus_bpf_behaviour* behaviour);
/* 0 or -errno: the programs every target needs (sys_enter, exec, and the vsyscall emulation's
 * tracepoint where the kernel has one). */
int nucleus_bpf_attach(struct nucleus_bpf* skel);
/* 0 or -errno: the programs that follow a process tree (fork, exit), for nucleus_bpf_mode_tree only:
 * each attached program costs set-up time, and every fork and exit on the machine while attached. */
int nucleus_bpf_attach_tree(struct nucleus_bpf* skel); /* -EOPNOTSUPP: loaded without follows_trees */
/* 0 or -errno: the sys_exit program that counts the calls flagged nucleus_bpf_flag_refused (the
 * filter refuses them before sys_enter); runs at every syscall exit on the machine while attached. */
int nucleus_bpf_attach_refused(struct nucleus_bpf* skel);
/* 0 or -errno: with behaviour records, the sys_exit program (their results) and the
 * sched_process_exit one (a call its task never returned from), each unless attached already;
 * -EINVAL for the names-only program. */
int nucleus_bpf_attach_behaviour(struct nucleus_bpf* skel);
void nucleus_bpf_detach(struct nucleus_bpf* skel);
void nucleus_bpf_destroy(struct nucleus_bpf* skel);
/* The program's globals, a shared mapping: what userspace writes there the program sees at once. */
volatile struct nucleus_bpf_counters* nucleus_bpf_globals(struct nucleus_bpf* skel);
int nucleus_bpf_counts_fd(const struct nucleus_bpf* skel);
int nucleus_bpf_facts_fd(const struct nucleus_bpf* skel);
int nucleus_bpf_events_fd(const struct nucleus_bpf* skel);
/* -1 for the names-only program. */
int nucleus_bpf_behaviour_fd(const struct nucleus_bpf* skel);
int nucleus_bpf_tracked_fd(const struct nucleus_bpf* skel);
int nucleus_bpf_cgroup_fd(const struct nucleus_bpf* skel);

#ifdef __cplusplus
}
#endif

#endif
