// SPDX-License-Identifier: GPL-2.0
// The eBPF recorder: counts the traced tree's syscalls in the kernel, per (arch, syscall) and
// executable; no count crosses to userspace per syscall. Userspace (tracer/src/ebpf_recorder.cpp)
// reads the maps once the workload has exited; only behaviour records (below) are sent per call.
//
// Attribution: the audit session id (task->sessionid). The child starts a fresh session before
// anything else (it writes /proc/self/loginuid, see libsandbox spawn), every process and thread it
// starts inherits it, and the workload cannot change it: the kernel refuses loginuid writes from
// any user namespace but the initial one, and once set without CAP_AUDIT_CONTROL; the workload has
// its own user namespace and no capabilities. A cgroup would need creating, cleaning up and a v2
// hierarchy the host may lack, and the workload, root in its user namespace, could create child
// cgroups below its own. Within the session only tasks under a seccomp filter count: the workload
// installs the trace filter as its last step before execve, nucleus's own helpers in the session
// (the process that sets up the namespaces, pid 1) never do — the same start as the audit recorder.
//
// Processes nucleus did not start (nucleus-trace --pid / --cgroup) have neither: for them the
// target is a process tree, kept in `tracked` (tgids seeded by userspace from /proc, children added
// by on_fork as they are forked) or a cgroup v2 directory and everything below it. A tree can also
// wait for its exec (TRACK_AWAIT_EXEC): a container's init, which runs the runtime's own code until
// it execs the container's process. A waiting process counts from the moment it is under one more
// seccomp filter than when the trace attached (what the runtime does after installing the
// container's filter, before the exec, is
// what that filter must allow: runc closes descriptors there) and with its exec calls; its first
// exec makes it counted in full. seccomp runs before the sys_enter tracepoint, so calls a filter
// denies are never seen: the target is traced under a filter that allows them (or none), except
// for what nucleus's own guard refuses with EPERM whatever the mode (io_uring): FLAG_REFUSED
// marks those, and on_sys_exit counts them by their EPERM at the exit, which the kernel still
// traces for a call seccomp skipped.
//
// Behaviour (built with NUCLEUS_BEHAVIOUR=1; behaviour.bpf.h): for the calls userspace lists in
// behaviour_spec (exec, the file calls that name a path, the socket calls), what they were asked, read from the
// workload's memory at sys_enter (a path, a second path, a socket address or open_how, argv) into a
// per-task slot (behaviour_scratch), completed with the return value at sys_exit and sent through
// the behaviour_events ring buffer: one record per call, only for the traced tree. The reading is
// one program, read_behaviour, that on_sys_enter, on_sys_exit and on_exec continue in with a tail
// call, so that the verifier checks it once (its load is part of every trace's start); sys_exit
// asks a task's storage only while some behaviour call is pending (calls_pending). A task that ends
// inside such a call (an exec that fails past its point of no return) sends it from
// sched_process_exit, without a result. This file is built three times (tracer/CMakeLists.txt): with
// behaviour records with and without NUCLEUS_TREE_EXIT (below), and with NUCLEUS_BEHAVIOUR=0, for
// names-only traces, none of it is in the program, which loads and runs exactly as it did before
// behaviour records existed; the sys_exit program is then attached only for the calls refused.
//
// Kernel layouts (kernel.bpf.h): structs that name only the fields used; `preserve_access_index`
// makes every access a CO-RE relocation by field name, which the light skeleton's loader has the
// kernel resolve against its own BTF at load time (pt_regs excepted: its layout is the ABI's). No
// vmlinux.h at build time, and no parsing of the kernel's BTF in userspace at run time (libbpf
// takes over 100 ms for that here).
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "kernel.bpf.h"

// Shared with userspace (ebpf_recorder.cpp keeps the same values).
#define NR_MAX 576        // covers x32's own 512..547; larger numbers are FACT_RARE
#define ARCHES 3          // 0 x86_64, 1 i386, 2 x32
#define SLOTS 32          // executables: 0 = the image before the first exec, SLOTS-1 = overflow
#define ARG_VALUES_MAX 32 // distinct values kept per (executable, syscall, argument)
#define PATH_MAX_BPF 256
#define TS_COMPAT 0x0002 // arch/x86/include/asm/thread_info.h: a 32-bit syscall is active
#define X32_SYSCALL_BIT 0x40000000
#define FLAG_BASELINE 0x80 // the baseline allows this syscall whatever its arguments
#define FLAG_ARGS 0x3f     // bit i: record the distinct values of argument i
#define FLAG_REFUSED 0x40  // the workload's filter answers EPERM before sys_enter: counted at sys_exit
#define EPERM_RET (-1L)
#define PT_REGS_ORIG_AX 120 // offset of orig_ax (the syscall number) in pt_regs, after di
// What is traced (target_mode): nothing until userspace has said which target.
#define MODE_SESSION 0 // the audit session target_session, under a seccomp filter
#define MODE_TREE 1    // the thread groups in `tracked`
#define MODE_CGROUP 2  // the tasks in the cgroup of `target_cgroup` or below it
#define TRACKED_MAX 16384
// `tracked` values.
#define TRACK_ALL 1        // every call counts
#define TRACK_AWAIT_EXEC 2 // until the process has exec'd: its exec calls, and its calls under a filter
// The exec calls, per ABI (x86_64, i386, x32 without its bit).
#define NR_EXECVE_64 59
#define NR_EXECVEAT_64 322
#define NR_EXECVE_32 11
#define NR_EXECVEAT_32 358
#define NR_EXECVE_X32 520
#define NR_EXECVEAT_X32 545
// What the vsyscall page's three entries are, as seccomp sees them (x86_64).
#define NR_GETTIMEOFDAY_64 96
#define NR_TIME_64 201
#define NR_GETCPU_64 309

struct counts {
  __u64 n[ARCHES * NR_MAX];
};
// Everything but the counts lives in one hash map (each map costs set-up time): the kinds below.
enum fact_kind { FACT_RARE = 1, FACT_EXE = 2, FACT_ARG_VALUE = 3, FACT_ARG_COUNT = 4 };
struct fact_key {
  __u32 kind;
  __u32 slot; // FACT_EXE: 0
  __u32 arch;
  __u32 nr; // FACT_EXE: the device
  __u32 arg;
  __u32 pad;
  __u64 value; // FACT_ARG_VALUE: the value; FACT_EXE: the inode
};
struct task_info {
  __u32 slot;
  __u32 pending; // behaviour_scratch holds a call entered and not yet sent
};
struct exec_event {
  __u32 slot;
  char path[PATH_MAX_BPF];
};

// Set before load: per (arch, syscall) FLAG_BASELINE and the argument mask.
const volatile __u8 syscall_flags[ARCHES * NR_MAX] = {};
#ifndef NUCLEUS_BEHAVIOUR
#define NUCLEUS_BEHAVIOUR 1
#endif
// Whether on_exit follows a process tree's thread groups (MODE_TREE). Its test reads struct
// signal_struct, whose name shares a slot of the kernel's cache of CO-RE candidates with struct
// files_struct, which the behaviour code reads: with both in one object, every load searches the
// kernel's whole BTF for each of them again (about 2 ms). So the behaviour program is built twice,
// with it (for --pid and cgroup v1 targets) and without (commands, cgroup v2).
#ifndef NUCLEUS_TREE_EXIT
#define NUCLEUS_TREE_EXIT 1
#endif
#if NUCLEUS_BEHAVIOUR
// Set before load: per (arch, syscall) what a behaviour call's record reads (SPEC_*), 0 for none.
const volatile __u32 behaviour_spec[ARCHES * NR_MAX] = {};
#endif

// Written by userspace through the shared mapping once the child has its session, before the child
// installs its filter and execs; 0 (no session has that id) until then, so that nothing matches.
__u32 target_session = 0;
__u32 next_slot = 0;
// Loss counters: every way the maps can fall short is counted, never hidden.
__u64 ringbuf_drops = 0;
__u64 slots_full = 0;
__u64 storage_failures = 0;
__u64 rare_full = 0;
__u64 tracked_full = 0;
// Set by userspace once the target's maps are filled (shared mapping, like target_session).
__u32 target_mode = MODE_SESSION;
__u32 target_pad = 0;
// TRACK_AWAIT_EXEC: execs that ended a wait without a seccomp filter in place, so that what ran
// between a filter's install and the exec in a real run cannot have been seen.
__u64 exec_unfiltered = 0;
// MODE_TREE from a pid: the root's exit status (wait(2) encoding), which only its parent could
// otherwise read; root_exited once it is set.
// TRACK_AWAIT_EXEC: the filters the waiting processes had when the trace attached (a runtime may
// run under one of its own); one more is the container's. await_execs counts the waits ended.
__u32 await_filters = 0;
__u32 await_pad = 0;
__u64 await_execs = 0;
__u32 root_tgid = 0;
__u32 root_status = 0;
__u32 root_exited = 0;
__u32 root_pad = 0;
// Calls of an argument-sensitive syscall whose registers could not be read: their values are missing.
__u64 args_unread = 0;
// Behaviour calls not sent: the ring buffer was full, or the task had no room for its slot.
__u64 behaviour_drops = 0;
__u64 behaviour_storage_failures = 0;
// Behaviour calls entered and not yet sent, all tasks together: while none is, every syscall exit
// on the machine stops at this test instead of looking up its task's storage.
__u64 calls_pending = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SLOTS);
  __type(key, __u32);
  __type(value, struct counts);
} counts SEC(".maps");

// FACT_RARE -> count of a syscall number beyond NR_MAX; FACT_EXE -> slot; FACT_ARG_VALUE -> 1;
// FACT_ARG_COUNT -> distinct values stored for (slot, arch, nr, arg), ARG_VALUES_MAX + 1 when
// more were seen. Allocated as facts appear, so that creating it costs nothing.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 16384);
  __type(key, struct fact_key);
  __type(value, __u64);
} facts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_info);
} tasks SEC(".maps");

// MODE_TREE: tgid -> TRACK_ALL or TRACK_AWAIT_EXEC.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, TRACKED_MAX);
  __type(key, __u32);
  __type(value, __u8);
} tracked SEC(".maps");

// MODE_CGROUP: slot 0 holds the cgroup v2 directory (its fd, given by userspace).
struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} target_cgroup SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} exec_events SEC(".maps");

// The cheapest test first in each mode: every other process on the machine stops here. 0: not
// traced; TRACK_ALL; TRACK_AWAIT_EXEC: only its exec calls count.
static __always_inline int traced(struct task_struct* task) {
  __u32 mode = target_mode;
  if (mode == MODE_SESSION) return task->sessionid == target_session && task->seccomp.mode != 0 ? TRACK_ALL : 0;
  if (mode == MODE_TREE) {
    __u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
    __u8* how = bpf_map_lookup_elem(&tracked, &tgid);
    return how ? *how : 0;
  }
  if (mode == MODE_CGROUP) return bpf_current_task_under_cgroup(&target_cgroup, 0) == 1 ? TRACK_ALL : 0;
  return 0;
}

static __always_inline int is_exec(__u32 arch, __u64 nr) {
  if (arch == 0) return nr == NR_EXECVE_64 || nr == NR_EXECVEAT_64;
  if (arch == 1) return nr == NR_EXECVE_32 || nr == NR_EXECVEAT_32;
  return nr == NR_EXECVE_X32 || nr == NR_EXECVEAT_X32;
}

// The slot of the executable `task` runs, registered by on_exec; 0 (the image before the first
// exec) when it was never exec'd under the trace. Probe reads, not BTF pointer walks: the verifier
// searches the kernel's whole BTF for every pointer it walks (milliseconds each at load).
static __always_inline __u32 slot_of_task(struct task_struct* task) {
  struct inode* inode = BPF_CORE_READ(task, mm, exe_file, f_inode);
  if (!inode) return 0;
  struct fact_key key = {
      .kind = FACT_EXE, .nr = BPF_CORE_READ(inode, i_sb, s_dev), .value = BPF_CORE_READ(inode, i_ino)};
  __u64* slot = bpf_map_lookup_elem(&facts, &key);
  return slot ? (__u32)*slot : 0;
}

// A global function: the verifier checks it once, not once per argument (load time matters).
__attribute__((noinline)) int record_arg(__u32 slot, __u32 arch, __u32 nr, __u32 arg, __u64 value) {
  struct fact_key key = {.kind = FACT_ARG_VALUE, .slot = slot, .arch = arch, .nr = nr, .arg = arg, .value = value};
  if (bpf_map_lookup_elem(&facts, &key)) return 0; // the common case: a value seen before
  struct fact_key ck = {.kind = FACT_ARG_COUNT, .slot = slot, .arch = arch, .nr = nr, .arg = arg};
  __u64* count = bpf_map_lookup_elem(&facts, &ck);
  if (!count) {
    __u64 zero = 0;
    bpf_map_update_elem(&facts, &ck, &zero, BPF_NOEXIST);
    count = bpf_map_lookup_elem(&facts, &ck);
    if (!count) {
      __sync_fetch_and_add(&rare_full, 1); // no room to even say so: a loss
      return 0;
    }
  }
  if (*count >= ARG_VALUES_MAX) {
    *count = ARG_VALUES_MAX + 1; // overflow: recorded as such
    return 0;
  }
  __u64 one = 1;
  long err = bpf_map_update_elem(&facts, &key, &one, BPF_NOEXIST);
  if (err == 0) __sync_fetch_and_add(count, 1);
  else if (err != -17 /* EEXIST: another CPU stored it first */) *count = ARG_VALUES_MAX + 1;
  return 0;
}

// The slow paths are global functions: the verifier checks each once, on its own, instead of
// once per path through the caller (load time matters).

// A task seen for the first time (a new thread or child, no entry yet) takes the slot of the
// file it runs (its parent's, until it execs itself; on_exec then resets it). An unnamed one
// (slot 0) is looked up again: userspace names the executables of processes that join a traced
// cgroup a moment after they are first counted.
__attribute__((noinline)) int slot_of_new_task(void) {
  struct task_struct* task = bpf_get_current_task_btf();
  __u32 slot = slot_of_task(task);
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (info) info->slot = slot;
  else __sync_fetch_and_add(&storage_failures, 1);
  return (int)slot;
}

// A syscall number beyond NR_MAX: counted in `facts`.
__attribute__((noinline)) int count_rare(__u32 slot, __u32 arch, __u32 nr) {
  struct fact_key key = {.kind = FACT_RARE, .slot = slot, .arch = arch, .nr = nr};
  __u64* n = bpf_map_lookup_elem(&facts, &key);
  if (!n) {
    __u64 zero = 0;
    bpf_map_update_elem(&facts, &key, &zero, BPF_NOEXIST);
    n = bpf_map_lookup_elem(&facts, &key);
  }
  if (n) __sync_fetch_and_add(n, 1);
  else __sync_fetch_and_add(&rare_full, 1);
  return 0;
}

// The syscall's own argument registers for the ABI it was made in: i386 ebx ecx edx esi edi ebp
// (32 bits), x86_64 and x32 rdi rsi rdx r10 r8 r9. `pt_regs` is the x86_64 ABI's layout (stable,
// uapi), read in one copy. Shared with the behaviour records (behaviour.bpf.h).
static __always_inline int read_syscall_args(__u64 regs_address, __u32 arch, __u64* a) {
  struct pt_regs regs;
  if (bpf_probe_read_kernel(&regs, sizeof(regs), (const void*)regs_address) != 0) return -1;
  if (arch == 1) {
    a[0] = (__u32)regs.bx;
    a[1] = (__u32)regs.cx;
    a[2] = (__u32)regs.dx;
    a[3] = (__u32)regs.si;
    a[4] = (__u32)regs.di;
    a[5] = (__u32)regs.bp;
  } else {
    a[0] = regs.di;
    a[1] = regs.si;
    a[2] = regs.dx;
    a[3] = regs.r10;
    a[4] = regs.r8;
    a[5] = regs.r9;
  }
  return 0;
}

__attribute__((noinline)) int record_args(__u64 regs_address, __u32 slot, __u32 arch, __u32 nr, __u32 flags) {
  __u64 a[6];
  if (read_syscall_args(regs_address, arch, a) != 0) {
    __sync_fetch_and_add(&args_unread, 1);
    return 0;
  }
#pragma unroll
  for (int i = 0; i < 6; i++)
    if (flags & (1 << i)) record_arg(slot, arch, nr, i, a[i]);
  return 0;
}

// Counts one call of a traced task in its executable's slot: `regs_address` is the pt_regs its
// arguments are in (read only for the argument-sensitive syscalls).
static __always_inline int count_call(struct task_struct* task, __u32 arch, __u64 nr, __u64 regs_address) {
  // Which executable: cached per task.
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  __u32 slot = info && info->slot != 0 ? info->slot : (__u32)slot_of_new_task();
  if (slot >= SLOTS) slot = SLOTS - 1;

  if (nr >= NR_MAX) return count_rare(slot, arch, (__u32)nr);
  __u32 index = arch * NR_MAX + (__u32)nr;
  // The compiler knows the bound and would drop the test, which the verifier needs to see.
  asm volatile("" : "+r"(index));
  if (index >= ARCHES * NR_MAX) return 0;
  __u8 flags = syscall_flags[index];
  if (flags & FLAG_BASELINE) return 0; // the trace holds only what the baseline does not allow
  struct counts* c = bpf_map_lookup_elem(&counts, &slot);
  if (!c) return 0;
  // Atomic although per CPU: syscall tracepoints may be preempted (they can fault since 6.14).
  __sync_fetch_and_add(&c->n[index], 1);

  if (flags & FLAG_ARGS) record_args(regs_address, slot, arch, (__u32)nr, flags & FLAG_ARGS);
  return 0;
}

#if NUCLEUS_BEHAVIOUR
#include "behaviour.bpf.h"
#endif

// Raw tracepoints throughout: they attach by name, where BTF-typed ones would make the kernel
// search its whole BTF for each attach point at load (milliseconds each).
SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args* ctx) {
  struct task_struct* task = bpf_get_current_task_btf();
  int how = traced(task);
  if (!how) return 0;

  __u32 arch = 0;
  __u64 nr = ctx->args[1];
  if (task->thread_info.status & TS_COMPAT) {
    arch = 1;
  } else if (nr & X32_SYSCALL_BIT) {
    arch = 2;
    nr &= ~(__u64)X32_SYSCALL_BIT;
  }
  if (how == TRACK_AWAIT_EXEC && !is_exec(arch, nr) &&
      (__u32)BPF_CORE_READ(task, seccomp.filter_count.counter) <= await_filters)
    return 0;
  count_call(task, arch, nr, ctx->args[0]);
#if NUCLEUS_BEHAVIOUR
  if (nr < NR_MAX) {
    __u32 index = arch * NR_MAX + (__u32)nr;
    asm volatile("" : "+r"(index));
    if (index < ARCHES * NR_MAX && behaviour_spec[index] != 0 &&
        enter_behaviour(ctx->args[0], arch, (__u32)nr, behaviour_spec[index]))
      continue_behaviour(ctx);
  }
#endif
  return 0;
}

// The legacy vsyscall page (x86_64's fixed 0xffffffffff600000: gettimeofday, time, getcpu at
// 0x400 apart) enters the kernel through a page fault, not the syscall entry: the kernel emulates
// the call (arch/x86/entry/vsyscall/vsyscall_64.c), checks it with seccomp as that syscall of
// x86_64, and serves it, and sys_enter never fires. The emulation's own tracepoint gives the
// page's entry number (negative for a misaligned call, which is killed with SIGSEGV and served
// nothing). It fires before seccomp, which in trace mode allows everything; a target traced under
// a filter of its own that denies them would have them counted all the same.
SEC("raw_tp/emulate_vsyscall")
int on_vsyscall(struct bpf_raw_tracepoint_args* ctx) {
  int entry = (int)ctx->args[0];
  if (entry < 0 || entry > 2) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  int how = traced(task);
  if (!how) return 0;
  if (how == TRACK_AWAIT_EXEC && (__u32)BPF_CORE_READ(task, seccomp.filter_count.counter) <= await_filters) return 0;
  __u64 nr = entry == 0 ? NR_GETTIMEOFDAY_64 : entry == 1 ? NR_TIME_64 : NR_GETCPU_64;
  return count_call(task, 0, nr, 0);
}

// A call refused by the filter never reached on_sys_enter; its number is still in orig_ax here.
// Every other call on the machine stops at the first test, the return value.
static __always_inline void count_refused(struct bpf_raw_tracepoint_args* ctx) {
  if ((long)ctx->args[1] != EPERM_RET) return;
  struct task_struct* task = bpf_get_current_task_btf();
  if (traced(task) != TRACK_ALL) return;
  __u64 nr = 0;
  if (bpf_probe_read_kernel(&nr, sizeof(nr), (const void*)(ctx->args[0] + PT_REGS_ORIG_AX)) != 0) return;
  __u32 arch = 0;
  if (task->thread_info.status & TS_COMPAT) {
    arch = 1;
  } else if (nr & X32_SYSCALL_BIT) {
    arch = 2;
    nr &= ~(__u64)X32_SYSCALL_BIT;
  }
  if (nr >= NR_MAX) return;
  __u32 index = arch * NR_MAX + (__u32)nr;
  asm volatile("" : "+r"(index));
  if (index >= ARCHES * NR_MAX) return;
  if (!(syscall_flags[index] & FLAG_REFUSED)) return;
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  __u32 slot = info && info->slot != 0 ? info->slot : (__u32)slot_of_new_task();
  if (slot >= SLOTS) slot = SLOTS - 1;
  struct counts* c = bpf_map_lookup_elem(&counts, &slot);
  if (!c) return;
  __sync_fetch_and_add(&c->n[index], 1);
}

// Attached when some syscall is FLAG_REFUSED (count_refused), and for behaviour records: the call
// a traced task entered is sent with its result.
SEC("raw_tp/sys_exit")
int on_sys_exit(struct bpf_raw_tracepoint_args* ctx) {
  count_refused(ctx);
#if NUCLEUS_BEHAVIOUR
  // Only a traced task has a call pending (enter_behaviour runs for traced tasks alone), so its
  // storage answers without traced(); and only while some call is pending is it asked.
  if (calls_pending == 0) return 0;
  struct task_info* info = bpf_task_storage_get(&tasks, bpf_get_current_task_btf(), 0, 0);
  if (info && info->pending && leave_behaviour((long)ctx->args[1])) continue_behaviour(ctx);
#endif
  return 0;
}

// One slot per executable file (device, inode), named by the path the first exec of it used
// (the interpreter's for a script, as the kernel's audit exe= is).
static __always_inline void register_exec(struct task_struct* task, struct linux_binprm* bprm) {
  struct inode* inode = BPF_CORE_READ(bprm, file, f_inode);
  struct fact_key key = {
      .kind = FACT_EXE, .nr = BPF_CORE_READ(inode, i_sb, s_dev), .value = BPF_CORE_READ(inode, i_ino)};
  __u32 slot;
  __u64* known = bpf_map_lookup_elem(&facts, &key);
  if (known) {
    slot = (__u32)*known;
  } else {
    slot = __sync_fetch_and_add(&next_slot, 1) + 1;
    if (slot >= SLOTS - 1) {
      slot = SLOTS - 1;
      __sync_fetch_and_add(&slots_full, 1);
    } else if (bpf_map_update_elem(&facts, &key, &(__u64){slot}, BPF_NOEXIST) == 0) {
      struct exec_event* e = bpf_ringbuf_reserve(&exec_events, sizeof(*e), 0);
      if (e) {
        e->slot = slot;
        bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(bprm, interp));
        bpf_ringbuf_submit(e, 0);
      } else {
        __sync_fetch_and_add(&ringbuf_drops, 1);
      }
    } else {
      known = bpf_map_lookup_elem(&facts, &key); // another CPU named this file first
      slot = known ? (__u32)*known : SLOTS - 1;
      if (!known) __sync_fetch_and_add(&slots_full, 1);
    }
  }
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!info) {
    __sync_fetch_and_add(&storage_failures, 1);
    return;
  }
  info->slot = slot;
}

SEC("raw_tp/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args* ctx) {
  struct task_struct* task = bpf_get_current_task_btf();
  if (target_mode == MODE_TREE) {
    __u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
    __u8* how = bpf_map_lookup_elem(&tracked, &tgid);
    if (how && *how == TRACK_AWAIT_EXEC) {
      *how = TRACK_ALL; // it runs what it was waiting for
      __sync_fetch_and_add(&await_execs, 1);
      if ((__u32)BPF_CORE_READ(task, seccomp.filter_count.counter) <= await_filters)
        __sync_fetch_and_add(&exec_unfiltered, 1);
    }
  }
  if (!traced(task)) return 0;
  register_exec(task, (struct linux_binprm*)ctx->args[2]);
#if NUCLEUS_BEHAVIOUR
  if (exec_behaviour(ctx->args[2])) continue_behaviour(ctx); // last: a tail call does not return
#endif
  return 0;
}

// MODE_TREE (attached for it only): a child of a tracked process is tracked from its first
// instruction (the tracepoint runs in the parent, before the child can run), as its parent is:
// waiting for an exec or not. Threads share their tgid, already tracked.
SEC("raw_tp/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args* ctx) {
  if (target_mode != MODE_TREE) return 0;
  __u32 parent = (__u32)(bpf_get_current_pid_tgid() >> 32);
  __u8* how = bpf_map_lookup_elem(&tracked, &parent);
  if (!how) return 0;
  struct task_struct* child = (struct task_struct*)ctx->args[1];
  __u32 tgid = (__u32)BPF_CORE_READ(child, tgid);
  __u8 value = *how;
  if (bpf_map_update_elem(&tracked, &tgid, &value, BPF_ANY) != 0) __sync_fetch_and_add(&tracked_full, 1);
  return 0;
}

// With behaviour records (attached for them too): a task that ends inside a behaviour call sends it.
// MODE_TREE (attached for it): a thread group whose last thread exits leaves the set, so that
// a reused pid is not taken for it. The tracepoint runs after the exiting thread has left
// signal->live.
SEC("raw_tp/sched_process_exit")
int on_exit(struct bpf_raw_tracepoint_args* ctx) {
#if NUCLEUS_BEHAVIOUR
  end_behaviour();
#endif
#if NUCLEUS_TREE_EXIT
  if (target_mode != MODE_TREE) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  if (BPF_CORE_READ(task, signal, live.counter) != 0) return 0;
  __u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  bpf_map_delete_elem(&tracked, &tgid);
  if (tgid == root_tgid && root_tgid != 0) {
    root_status = (__u32)BPF_CORE_READ(task, exit_code);
    asm volatile("" ::: "memory"); // the status first (x86 keeps stores in order)
    root_exited = 1;
  }
#endif
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
