// SPDX-License-Identifier: GPL-2.0
// The eBPF recorder's behaviour records (included by syscalls.bpf.c, one object with it): what the
// exec, file and socket calls ask, read from the workload's memory at sys_enter into a per-task
// slot, the directory a relative path starts from named in the kernel, and the record sent with
// the call's result at sys_exit. See syscalls.bpf.c's header for where these run.
#ifndef NUCLEUS_BEHAVIOUR_BPF_H
#define NUCLEUS_BEHAVIOUR_BPF_H

// behaviour_spec entries (userspace fills them, tracer/src/ebpf_behaviour.cpp): bits 0-5 the call's
// kind (userspace's own numbering, copied through), then 3 bits each: the index + 1 of the argument
// holding the path, the second path, a user buffer (a sockaddr; or open_how, 24 bytes, without a
// length argument), its length, a struct msghdr (its msg_name is read), argv, 0 for none; and for
// each path the directory a relative one starts from: DIR_CWD, the index + 1 of its dirfd
// argument, or DIR_VERBATIM (a symbolic link's content: not a path of the caller's).
#define SPEC_PATH_A 6
#define SPEC_PATH_B 9
#define SPEC_BLOB 12
#define SPEC_BLOB_LEN 15
#define SPEC_MSGHDR 18
#define SPEC_ARGV 21
#define SPEC_DIR_A 24
#define SPEC_DIR_B 27
#define SPEC_ARG(spec, at) (((spec) >> (at)) & 0x7)
#define SPEC_WAKE (1u << 30) // userspace must read the record while its caller runs (listen)
#define DIR_CWD 0
#define DIR_VERBATIM 7
#define AT_FDCWD_ARG (-100)
#define WALK_MAX 4096     // the longest directory name the walk builds
#define WALK_DEPTH 64     // components; a deeper directory is left to userspace
#define BEH_PATH_MAX 4096 // PATH_MAX: the kernel refuses longer paths
#define BEH_BLOB_MAX 128  // sizeof(struct sockaddr_storage)
#define BEH_OPEN_HOW 24   // sizeof(struct open_how)
#define BEH_ARGV_MAX 16   // core::exec_argv_max
#define BEH_ARG_READ 130  // core::exec_arg_bytes_max + 2: a longer argument is seen to be longer
#define BEH_DATA (4 * BEH_PATH_MAX + BEH_BLOB_MAX + BEH_ARGV_MAX * BEH_ARG_READ + 96)
#define BEH_DATA_MASK (4 * BEH_PATH_MAX - 1) // bounds an index into data for the verifier
// beh_event.flags
#define BEH_UNREAD_A 0x01 // the path could not be read from the workload's memory
#define BEH_UNREAD_B 0x02
#define BEH_UNREAD_BLOB 0x04
#define BEH_ARGV_TRUNCATED 0x08
#define BEH_RESULT 0x10 // ret holds the call's return value
#define BEH_UNREAD_ARGV 0x20

// One behaviour call: the header, then `data` packed: path A, the directory it is relative to when
// it is relative (base A), path B, base B (each with its NUL), the buffer, argv's strings (each
// with its NUL); for a call without path A, base A follows the buffer (a Unix socket's relative
// path's directory). Sent up to data + used.
struct beh_event {
  __u32 kind;
  __u32 arch;
  __u32 nr;
  __u32 tgid;
  __u32 tid;
  __u32 slot; // the caller's executable when it entered the call
  __s64 ret;
  __u64 args[6];
  __u16 len_a, len_b, blob_len, argv_len;
  __u16 argc, flags;
  __u16 len_base_a, len_base_b;
  __u32 used;
  __u32 wake; // userspace must read it while the caller runs (see send_behaviour)
  char data[BEH_DATA];
};
// What read_behaviour does when a program continues in it (beh_task.phase).
#define PHASE_ENTER 1 // sys_enter: read what the call asks, argv included; the call is then pending
#define PHASE_EXIT 2  // sys_exit: read again what could not be read at sys_enter, then send
#define PHASE_EXEC 3  // a successful exec: take its path and argv from the kernel's copies
// The task's slot: the call, what read_behaviour is to do with it, and room to build a
// directory's name from its last component up.
struct beh_task {
  struct beh_event e;
  __u32 spec;  // the call's behaviour_spec entry
  __u32 phase; // PHASE_*
  __u64 bprm;  // PHASE_EXEC: the exec's struct linux_binprm
  char walk[WALK_MAX + 256];
};

// Behaviour records on their way to userspace, read on the run loop while the workload runs.
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1024 * 1024);
} behaviour_events SEC(".maps");

// The behaviour call a task is in, from its sys_enter to its sys_exit: per task, since a task makes
// one call at a time and may be preempted or moved between CPUs within it.
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct beh_task);
} behaviour_scratch SEC(".maps");

// Always 0, read from memory: with an index the verifier knows, the kernel patches a direct
// jump into every caller when the map is filled, which costs each trace's start more (text
// patching stops every CPU) than the map lookup costs the behaviour calls.
__u32 behaviour_prog_index SEC(".data.tail") = 0;
// read_behaviour, alone: on_sys_enter, on_sys_exit and on_exec continue in it (a tail call).
struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} behaviour_progs SEC(".maps");

// Sends the task's behaviour call (with its result when `flags` has BEH_RESULT).
// Userspace is woken only for a record it must read while its caller runs (`wake`: a listen, whose
// address it looks up; a relative path whose directory the program could not name) or once the
// ring is a quarter full; otherwise it reads on its own timer, which spares the workload a wake-up
// per record.
static __always_inline void send_behaviour(struct beh_event* e) {
  __u64 size = offsetof(struct beh_event, data) + (__u64)e->used;
  if (size > sizeof(*e)) size = sizeof(*e);
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (e->wake || bpf_ringbuf_query(&behaviour_events, BPF_RB_AVAIL_DATA) >
                     bpf_ringbuf_query(&behaviour_events, BPF_RB_RING_SIZE) / 4)
    flags = BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_output(&behaviour_events, e, size, flags) != 0) __sync_fetch_and_add(&behaviour_drops, 1);
}

// A task's call pending from its sys_enter to its sys_exit (or its end), counted in calls_pending.
// Only the task itself changes its own mark.
static __always_inline void mark_pending(struct task_info* info) {
  info->pending = 1;
  __sync_fetch_and_add(&calls_pending, 1);
}

static __always_inline void clear_pending(struct task_info* info) {
  if (!info->pending) return;
  info->pending = 0;
  __sync_fetch_and_sub(&calls_pending, 1);
}

// Reads a NUL-terminated string of at most `max` bytes at `from` into e->data at e->used; its
// length with the NUL, or 0 when it could not be read. A global function: the verifier checks it
// once, not once per caller and path.
__attribute__((noinline)) int read_string(struct beh_event* e, __u64 from, __u32 max) {
  if (!e) return 0;
  __u32 at = e->used;
  asm volatile("" : "+r"(at));
  if (at > BEH_DATA - BEH_PATH_MAX) return 0;
  long n = max == BEH_PATH_MAX ? bpf_probe_read_user_str(&e->data[at], BEH_PATH_MAX, (const void*)from)
                               : bpf_probe_read_user_str(&e->data[at], BEH_ARG_READ, (const void*)from);
  if (n <= 0) return 0;
  if (n > BEH_PATH_MAX) n = BEH_PATH_MAX;
  e->used = at + (__u32)n;
  return (__u16)n;
}

// argv's strings: pointers of 8 bytes (x86_64) or 4 (i386, x32: compat pointers), one per step of
// bpf_loop, whose callback the verifier checks once rather than once per argument.
struct argv_walk {
  struct beh_event* e;
  __u64 argv;
  __u32 width;
};

static long argv_step(__u64 i, void* context) {
  struct argv_walk* w = context;
  struct beh_event* e = w->e;
  __u64 p = 0;
  if (bpf_probe_read_user(&p, w->width == 8 ? 8 : 4, (const void*)(w->argv + i * w->width)) != 0) {
    e->flags |= BEH_UNREAD_ARGV;
    return 1;
  }
  if (p == 0) return 1;
  if (i == BEH_ARGV_MAX) {
    e->flags |= BEH_ARGV_TRUNCATED; // more arguments than kept
    return 1;
  }
  __u16 n = read_string(e, p, BEH_ARG_READ);
  if (n == 0) {
    e->flags |= BEH_UNREAD_ARGV;
    return 1;
  }
  if (n == BEH_ARG_READ) e->flags |= BEH_ARGV_TRUNCATED;
  e->argv_len += n;
  e->argc++;
  return 0;
}

static __always_inline void read_argv(struct beh_event* e, __u64 argv, __u32 arch) {
  struct argv_walk w = {.e = e, .argv = argv, .width = arch == 0 ? 8 : 4};
  bpf_loop(BEH_ARGV_MAX + 1, argv_step, &w, 0);
}

// A user buffer of `len` bytes (at most BEH_BLOB_MAX) at `from`.
static __always_inline void read_blob(struct beh_event* e, __u64 from, __u64 len) {
  __u32 at = e->used;
  asm volatile("" : "+r"(at));
  if (at > BEH_DATA - BEH_BLOB_MAX) return;
  if (len > BEH_BLOB_MAX) len = BEH_BLOB_MAX;
  if (from == 0 || len == 0) return;
  if (bpf_probe_read_user(&e->data[at], len, (const void*)from) != 0) {
    e->flags |= BEH_UNREAD_BLOB;
    return;
  }
  e->blob_len = (__u16)len;
  e->used = at + (__u32)len;
}

// One step of name_directory's walk up the tree: bpf_loop's callback, verified once.
struct walk {
  struct beh_task* s;
  struct dentry* dentry;
  struct vfsmount* mnt;
  struct dentry* root;
  struct vfsmount* root_mnt;
  __u64 mnt_offset;
  __u32 pos;
  int done; // 1: named; -1: cannot be
};

static long walk_step(__u64 index, void* context) {
  struct walk* w = context;
  struct dentry* dentry = w->dentry; // a local: CO-RE reads relocate kernel structs only
  if (dentry == w->root && w->mnt == w->root_mnt) goto named;
  struct mount* m = (struct mount*)((char*)w->mnt - w->mnt_offset);
  if (dentry == BPF_CORE_READ(m, mnt.mnt_root)) {
    struct mount* parent = BPF_CORE_READ(m, mnt_parent);
    if (parent == m) goto named; // the root of its mount namespace
    w->dentry = BPF_CORE_READ(m, mnt_mountpoint);
    w->mnt = (struct vfsmount*)((char*)parent + w->mnt_offset);
    return 0;
  }
  struct dentry* parent = BPF_CORE_READ(dentry, d_parent);
  // The root of its file system; or, as the first step, a file that is no directory's entry (a
  // memfd, whose name is its own, as /proc shows it).
  const int last = parent == dentry;
  if (last && w->pos != WALK_MAX) goto named;
  __u32 len = (__u32)(BPF_CORE_READ(dentry, d_name.hash_len) >> 32);
  __u32 pos = w->pos;
  if (len == 0 || len > 255 || pos < len + 1 || pos > WALK_MAX) goto unnamed;
  pos -= len;
  struct beh_task* s = w->s;
  if (bpf_probe_read_kernel(&s->walk[pos & (WALK_MAX - 1)], len & 255, BPF_CORE_READ(dentry, d_name.name)) != 0)
    goto unnamed;
  pos -= 1;
  s->walk[pos & (WALK_MAX - 1)] = '/';
  w->pos = pos;
  w->dentry = parent;
  if (last) goto named;
  return 0;
named:
  w->done = 1;
  return 1;
unnamed:
  w->done = -1;
  return 1;
}

// The name of the directory a relative path of the current task starts from, appended to its
// event's data: its working directory, or the directory its descriptor `fd` (AT_FDCWD: the working
// directory) names; built from the last component up, across mounts, to the task's own root (so
// the name is the one the task sees), as the kernel's d_path does. In the kernel at the call, since
// a caller that has exited by the time userspace reads the event can no longer be asked. Returns
// the length with the NUL, 0 when it cannot be named (no such descriptor, too deep: userspace then
// asks /proc, and marks the path unresolved when that fails too). A global function: verified once.
__attribute__((noinline)) int name_directory(int fd) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, 0);
  if (!s) return 0;
  struct vfsmount* mnt;
  struct dentry* dentry;
  if (fd == AT_FDCWD_ARG) {
    mnt = BPF_CORE_READ(task, fs, pwd.mnt);
    dentry = BPF_CORE_READ(task, fs, pwd.dentry);
  } else {
    if (fd < 0) return 0;
    struct fdtable* fdt = BPF_CORE_READ(task, files, fdt);
    if ((unsigned int)fd >= BPF_CORE_READ(fdt, max_fds)) return 0;
    struct file** fds = BPF_CORE_READ(fdt, fd);
    struct file* file = 0;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) != 0 || !file) return 0;
    mnt = BPF_CORE_READ(file, f_path.mnt);
    dentry = BPF_CORE_READ(file, f_path.dentry);
  }
  struct walk w = {
      .s = s,
      .dentry = dentry,
      .mnt = mnt,
      .root = BPF_CORE_READ(task, fs, root.dentry),
      .root_mnt = BPF_CORE_READ(task, fs, root.mnt),
      .mnt_offset = bpf_core_field_offset(struct mount, mnt),
      .pos = WALK_MAX,
  };
  s->walk[WALK_MAX] = 0;
  bpf_loop(WALK_DEPTH, walk_step, &w, 0);
  __u32 pos = w.pos;
  int done = w.done;
  if (done != 1) return 0;                   // too deep, or unreadable
  if (pos == WALK_MAX) s->walk[--pos] = '/'; // the root itself
  __u32 size = WALK_MAX + 1 - pos;           // with the NUL
  __u32 at = s->e.used;
  asm volatile("" : "+r"(at));
  if (at > BEH_DATA - (WALK_MAX + 1) || size > WALK_MAX + 1) return 0;
  if (bpf_probe_read_kernel(&s->e.data[at], size, &s->walk[pos & (WALK_MAX - 1)]) != 0) return 0;
  s->e.used = at + size;
  return (int)size;
}

// Whether a path read (`len` with its NUL, starting with `first`) needs the directory it starts from.
static __always_inline int needs_base(__u16 len, char first, __u32 dir) {
  if (dir == DIR_VERBATIM || len == 0) return 0;
  if (len == 1) return dir != DIR_CWD; // empty: the dirfd's own file, with AT_EMPTY_PATH
  return first != '/';
}

// An argument by its index + 1 from the table (1..6; 0 is tested first): e->args, whose index the
// verifier can bound within the map value, unlike a stack array's.
#define ARG_AT(at) (e->args[((at)-1) & 7])

// The call's paths (A, then B), each with the directory a relative one starts from. A global
// function: the verifier checks it once, apart from the rest of the call.
__attribute__((noinline)) int read_paths(struct beh_event* e, __u32 spec) {
  if (!e) return 0;
  // A relative path's directory is named; so is a dirfd's file for an empty path (AT_EMPTY_PATH:
  // the call is about the descriptor's file itself, a memfd that execveat runs for one).
  __u32 at = SPEC_ARG(spec, SPEC_PATH_A);
  if (at != 0) {
    e->len_a = read_string(e, ARG_AT(at), BEH_PATH_MAX);
    if (e->len_a == 0) e->flags |= BEH_UNREAD_A;
    __u32 dir = SPEC_ARG(spec, SPEC_DIR_A);
    if (needs_base(e->len_a, e->data[0], dir)) {
      e->len_base_a = (__u16)name_directory(dir == DIR_CWD ? AT_FDCWD_ARG : (int)ARG_AT(dir));
      if (e->len_base_a == 0) e->wake = 1;
    }
  }
  at = SPEC_ARG(spec, SPEC_PATH_B);
  if (at != 0) {
    __u32 start = e->used;
    e->len_b = read_string(e, ARG_AT(at), BEH_PATH_MAX);
    if (e->len_b == 0) e->flags |= BEH_UNREAD_B;
    __u32 dir = SPEC_ARG(spec, SPEC_DIR_B);
    if (needs_base(e->len_b, e->data[start & (BEH_PATH_MAX * 4 - 1)], dir)) {
      e->len_base_b = (__u16)name_directory(dir == DIR_CWD ? AT_FDCWD_ARG : (int)ARG_AT(dir));
      if (e->len_base_b == 0) e->wake = 1;
    }
  }
  return 0;
}

// The call's socket address (or open_how): a buffer, or a struct msghdr's msg_name; a Unix
// socket's relative path's directory. A global function, like read_paths.
__attribute__((noinline)) int read_address(struct beh_event* e, __u32 spec) {
  if (!e) return 0;
  __u32 at = SPEC_ARG(spec, SPEC_BLOB);
  if (at != 0) {
    __u32 len_at = SPEC_ARG(spec, SPEC_BLOB_LEN);
    read_blob(e, ARG_AT(at), len_at != 0 ? (__u32)ARG_AT(len_at) : BEH_OPEN_HOW);
  }
  at = SPEC_ARG(spec, SPEC_MSGHDR);
  if (at != 0 && ARG_AT(at) != 0) {
    // msg_name and msg_namelen: 8 + 4 bytes (x86_64), 4 + 4 (compat: i386, x32)
    __u64 name = 0;
    __u32 len = 0;
    const void* msg = (const void*)ARG_AT(at);
    long err = e->arch == 0 ? bpf_probe_read_user(&name, 8, msg) | bpf_probe_read_user(&len, 4, msg + 8)
                            : bpf_probe_read_user(&name, 4, msg) | bpf_probe_read_user(&len, 4, msg + 4);
    if (err != 0) e->flags |= BEH_UNREAD_BLOB;
    else read_blob(e, name, len);
  }
  // A Unix socket's relative path starts from the working directory: named here, after the buffer
  // (such calls have no path A, so base A is free for it).
  if (SPEC_ARG(spec, SPEC_PATH_A) == 0 && e->blob_len > 2) {
    __u32 b = e->used - e->blob_len;
    __u16 family = (__u8)e->data[b & (BEH_DATA_MASK)] | ((__u16)(__u8)e->data[(b + 1) & (BEH_DATA_MASK)] << 8);
    char first = e->data[(b + 2) & (BEH_DATA_MASK)];
    if (family == 1 /* AF_UNIX */ && first != 0 && first != '/') {
      e->len_base_a = (__u16)name_directory(AT_FDCWD_ARG);
      if (e->len_base_a == 0) e->wake = 1;
    }
  }
  return 0;
}

// What the call asks, read from the caller's memory into `e` (whose args are set) as `spec` says.
// Reading cannot fault pages in: a string in a page the caller has not touched yet (a binary's
// constant not yet paged in) cannot be read at sys_enter, and is read again at sys_exit, once the
// kernel has read it itself.
static __always_inline void read_call(struct beh_event* e, __u32 spec, const int with_argv) {
  e->len_a = e->len_b = e->blob_len = e->argv_len = e->argc = 0;
  e->len_base_a = e->len_base_b = 0;
  e->wake = (spec & SPEC_WAKE) != 0;
  e->flags &= BEH_RESULT;
  e->used = 0;
  read_paths(e, spec);
  read_address(e, spec);
  __u32 at = SPEC_ARG(spec, SPEC_ARGV);
  if (with_argv && at != 0) read_argv(e, ARG_AT(at), e->arch);
}
#undef ARG_AT

// At sys_enter of a behaviour call: the call's header and arguments into the task's slot; 1 when
// read_behaviour is to read what it asks (PHASE_ENTER), which is sent at its sys_exit. A global
// function: the verifier checks it once, apart from the counting.
__attribute__((noinline)) int enter_behaviour(__u64 regs_address, __u32 arch, __u32 nr, __u32 spec) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!info || !s) {
    __sync_fetch_and_add(&behaviour_storage_failures, 1);
    return 0;
  }
  struct beh_event* e = &s->e;
  if (info->pending) send_behaviour(e); // its exit never came: sent without a result
  clear_pending(info);
  __u64 id = bpf_get_current_pid_tgid();
  e->kind = spec & 0x3f;
  e->arch = arch;
  e->nr = nr;
  e->tgid = (__u32)(id >> 32);
  e->tid = (__u32)id;
  e->slot = info->slot;
  e->ret = 0;
  e->flags = 0;
  e->used = 0;
  __u64 a[6] = {};
  if (read_syscall_args(regs_address, arch, a) != 0) {
    __sync_fetch_and_add(&args_unread, 1);
    return 0;
  }
#pragma unroll
  for (int i = 0; i < 6; i++) e->args[i] = a[i];
  s->spec = spec;
  s->phase = PHASE_ENTER;
  return 1;
}

// argv as the kernel copied it onto the new image's stack (mm->arg_start..arg_end), one string per
// bpf_loop step; a string longer than kept ends the list (where the next begins is not known).
struct argv_block {
  struct beh_event* e;
  __u64 at, end;
};

static long argv_block_step(__u64 i, void* context) {
  struct argv_block* w = context;
  struct beh_event* e = w->e;
  if (w->at >= w->end) return 1;
  if (i == BEH_ARGV_MAX) {
    e->flags |= BEH_ARGV_TRUNCATED;
    return 1;
  }
  __u16 n = read_string(e, w->at, BEH_ARG_READ);
  if (n == 0) {
    e->flags |= BEH_UNREAD_ARGV;
    return 1;
  }
  e->argv_len += n;
  e->argc++;
  if (n == BEH_ARG_READ) {
    e->flags |= BEH_ARGV_TRUNCATED;
    return 1;
  }
  w->at += n;
  return 0;
}

// At a successful exec (sched_process_exec, in the new image): an exec record whose path or argv
// could not be read at sys_enter (a forked child's strings in pages it had not touched yet, which
// its own exit can no longer read) takes them from the kernel's copies: the file name the exec
// holds, and argv on the new image's stack (read_exec, in read_behaviour). 1 when it is to.
__attribute__((noinline)) int exec_behaviour(__u64 bprm_address) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  if (!info || !info->pending) return 0;
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, 0);
  if (!s) return 0;
  if (!(s->e.flags & (BEH_UNREAD_A | BEH_UNREAD_ARGV))) return 0;
  if (SPEC_ARG(s->spec, SPEC_ARGV) == 0) return 0; // not an exec: nothing of it to take from here
  s->bprm = bprm_address;
  s->phase = PHASE_EXEC;
  return 1;
}

static __always_inline void read_exec(struct beh_task* s) {
  struct beh_event* e = &s->e;
  e->len_a = e->len_b = e->blob_len = e->argv_len = e->argc = 0;
  e->len_base_a = e->len_base_b = 0;
  e->flags &= ~(BEH_UNREAD_A | BEH_UNREAD_ARGV | BEH_ARGV_TRUNCATED);
  e->used = 0;
  struct linux_binprm* bprm = (struct linux_binprm*)s->bprm;
  long n = bpf_probe_read_kernel_str(&e->data[0], BEH_PATH_MAX, BPF_CORE_READ(bprm, filename));
  if (n <= 0) {
    e->flags |= BEH_UNREAD_A;
    return;
  }
  e->len_a = (__u16)(n & (BEH_PATH_MAX * 2 - 1));
  e->used = e->len_a;
  __u32 dir = SPEC_ARG(s->spec, SPEC_DIR_A);
  if (needs_base(e->len_a, e->data[0], dir)) {
    e->len_base_a = (__u16)name_directory(dir == DIR_CWD ? AT_FDCWD_ARG : (int)e->args[(dir - 1) & 7]);
    if (e->len_base_a == 0) e->wake = 1;
  }
  struct task_struct* task = bpf_get_current_task_btf();
  struct argv_block w = {.e = e, .at = BPF_CORE_READ(task, mm, arg_start), .end = BPF_CORE_READ(task, mm, arg_end)};
  bpf_loop(BEH_ARGV_MAX + 1, argv_block_step, &w, 0);
}

// At sys_exit: the call the task is in, with its result: sent at once, or 1 when read_behaviour is
// to read again what could not be read at sys_enter first (PHASE_EXIT), unless the caller's memory
// is another by now (a successful exec's).
__attribute__((noinline)) int leave_behaviour(long ret) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  if (!info || !info->pending) return 0;
  clear_pending(info);
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, 0);
  if (!s) return 0;
  struct beh_event* e = &s->e;
  e->ret = ret;
  e->flags |= BEH_RESULT;
  if ((e->flags & (BEH_UNREAD_A | BEH_UNREAD_B | BEH_UNREAD_BLOB)) && (SPEC_ARG(s->spec, SPEC_ARGV) == 0 || ret != 0)) {
    s->phase = PHASE_EXIT;
    return 1;
  }
  send_behaviour(e);
  return 0;
}

// At the task's end: a call it never returned from (an exec that failed past its point of no
// return), sent without a result.
__attribute__((noinline)) int end_behaviour(void) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  if (!info || !info->pending) return 0;
  clear_pending(info);
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, 0);
  if (s) send_behaviour(&s->e);
  return 0;
}

// The reading of what a behaviour call asks, one program that on_sys_enter, on_sys_exit and
// on_exec continue in (a tail call, see continue_behaviour): the verifier checks it once, where
// the same code inlined into the three would be checked three times (load time matters: it is
// part of every trace's start). Never attached: the section names a tracepoint only because the
// skeleton generator needs one (any raw tracepoint program may be continued in).
SEC("raw_tp/sys_enter")
int read_behaviour(void* ctx) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct task_info* info = bpf_task_storage_get(&tasks, task, 0, 0);
  struct beh_task* s = bpf_task_storage_get(&behaviour_scratch, task, 0, 0);
  if (!info || !s) return 0;
  const __u32 phase = s->phase;
  s->phase = 0;
  if (phase == PHASE_EXEC) {
    read_exec(s);
    return 0;
  }
  if (phase != PHASE_ENTER && phase != PHASE_EXIT) return 0;
  // At sys_exit argv is not read again (an exec that failed says its argv was cut).
  struct beh_event* e = &s->e;
  const __u16 argv_flags = e->flags & (BEH_ARGV_TRUNCATED | BEH_UNREAD_ARGV);
  const __u16 argc = e->argc;
  read_call(e, s->spec, phase == PHASE_ENTER);
  if (phase == PHASE_ENTER) {
    mark_pending(info);
    return 0;
  }
  if (SPEC_ARG(s->spec, SPEC_ARGV) != 0) e->flags |= argv_flags | (argc != 0 ? BEH_ARGV_TRUNCATED : 0);
  send_behaviour(e);
  return 0;
}

// Continues in read_behaviour; returns only when the tail call failed (read_behaviour not in its
// map), which loses the record: counted.
static __always_inline void continue_behaviour(void* ctx) {
  bpf_tail_call(ctx, &behaviour_progs, behaviour_prog_index);
  __sync_fetch_and_add(&behaviour_storage_failures, 1);
}

#endif
