/* The operations on one light skeleton of the eBPF recorder, written once for both (see
 * ebpf_skeleton.c, which includes this file twice): SKEL is the skeleton's name (nucleus_syscalls,
 * nucleus_behaviour, nucleus_behaviour_tree), OPS(x) the name of this copy's function x,
 * WITH_BEHAVIOUR whether the program has the behaviour records' maps and table, WITH_TREE_EXIT
 * whether its exit program follows a process tree's thread groups. No include guard, on purpose. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

_Static_assert(sizeof(((struct CAT(SKEL, __rodata) *)0)->syscall_flags) == nucleus_bpf_arches * nucleus_bpf_nr_max,
               "flags table size differs from the BPF program's");
_Static_assert(sizeof(struct CAT(SKEL, __bss)) == sizeof(struct nucleus_bpf_counters),
               "counters differ from the BPF program's globals");
#if WITH_BEHAVIOUR
_Static_assert(sizeof(((struct CAT(SKEL, __rodata) *)0)->behaviour_spec) ==
                   nucleus_bpf_arches * nucleus_bpf_nr_max * sizeof(uint32_t),
               "behaviour table size differs from the BPF program's");
#endif

static struct SKEL* OPS(load)(const uint8_t* flags, const struct nucleus_bpf_sizes* sizes,
                              const struct nucleus_bpf_behaviour* behaviour) {
  struct SKEL* skel = CAT(SKEL, __open)();
  if (!skel) return NULL;
  memcpy((void*)skel->rodata->syscall_flags, flags, sizeof(skel->rodata->syscall_flags));
  /* The loader program takes a map's size from here when it is not 0. */
  skel->maps.exec_events.max_entries = sizes->exec_events;
  skel->maps.tracked.max_entries = sizes->tracked;
  skel->maps.facts.max_entries = sizes->facts;
#if WITH_BEHAVIOUR
  memcpy((void*)skel->rodata->behaviour_spec, behaviour->spec, sizeof(skel->rodata->behaviour_spec));
  skel->maps.behaviour_events.max_entries = sizes->behaviour_events;
#else
  (void)behaviour;
#endif
  int err = CAT(SKEL, __load)(skel);
#if WITH_BEHAVIOUR
  /* on_sys_enter, on_sys_exit and on_exec continue in read_behaviour through this map. */
  if (!err) {
    int key = 0, fd = skel->progs.read_behaviour.prog_fd;
    err = skel_map_update_elem(skel->maps.behaviour_progs.map_fd, &key, &fd, 0);
  }
#endif
  if (err) {
    CAT(SKEL, __destroy)(skel);
    errno = err < 0 ? -err : EINVAL;
    return NULL;
  }
  return skel;
}

static int OPS(attach)(struct SKEL* s) {
  int err = CAT(SKEL, __on_sys_enter__attach)(s);
  if (err >= 0) err = CAT(SKEL, __on_exec__attach)(s);
  if (err >= 0) {
    /* A kernel built without vsyscall emulation has no such tracepoint, and serves no vsyscall:
     * the page's addresses fault like any other. */
    err = CAT(SKEL, __on_vsyscall__attach)(s);
    if (err == -ENOENT) err = 0;
  }
  return err < 0 ? err : 0;
}

static int OPS(attach_tree)(struct SKEL* s) {
#if !WITH_TREE_EXIT
  (void)s;
  return -EOPNOTSUPP; /* its exit program does not follow thread groups */
#endif
  int err = CAT(SKEL, __on_fork__attach)(s);
  if (err >= 0 && s->links.on_exit_fd <= 0) err = CAT(SKEL, __on_exit__attach)(s);
  return err < 0 ? err : 0;
}

static int OPS(attach_refused)(struct SKEL* s) {
  int err = s->links.on_sys_exit_fd > 0 ? 0 : CAT(SKEL, __on_sys_exit__attach)(s);
  return err < 0 ? err : 0;
}

static int OPS(attach_behaviour)(struct SKEL* s) {
  int err = 0;
  if (s->links.on_sys_exit_fd <= 0) err = CAT(SKEL, __on_sys_exit__attach)(s);
  if (err >= 0 && s->links.on_exit_fd <= 0) err = CAT(SKEL, __on_exit__attach)(s);
  return err < 0 ? err : 0;
}

static void OPS(detach)(struct SKEL* s) {
  close_link(&s->links.on_sys_enter_fd);
  close_link(&s->links.on_exec_fd);
  close_link(&s->links.on_vsyscall_fd);
  close_link(&s->links.on_fork_fd);
  close_link(&s->links.on_exit_fd);
  close_link(&s->links.on_sys_exit_fd);
}

static void OPS(destroy)(struct SKEL* s) {
  OPS(detach)(s);
  CAT(SKEL, __destroy)(s);
}

static int OPS(behaviour_fd)(const struct SKEL* s) {
#if WITH_BEHAVIOUR
  return s->maps.behaviour_events.map_fd;
#else
  (void)s;
  return -1;
#endif
}

#undef CAT
#undef CAT_
