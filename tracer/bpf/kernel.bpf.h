// SPDX-License-Identifier: GPL-2.0
// The kernel layouts the eBPF recorder reads (included by syscalls.bpf.c): these structs name only
// the fields used, and `preserve_access_index` makes every access a CO-RE relocation by field name
// (see syscalls.bpf.c's header), pt_regs excepted.
#ifndef NUCLEUS_KERNEL_BPF_H
#define NUCLEUS_KERNEL_BPF_H

#define PAI __attribute__((preserve_access_index))

// Not relocated: the x86_64 ABI fixes this layout (the entry code pushes it), up to `di`.
struct pt_regs {
  unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
};
struct thread_info {
  __u32 status;
} PAI;
struct seccomp {
  int mode;
  struct {
    int counter;
  } filter_count;
} PAI;
struct super_block {
  __u32 s_dev;
} PAI;
struct inode {
  unsigned long i_ino;
  struct super_block* i_sb;
} PAI;
struct qstr {
  __u64 hash_len; // the hash in the low half, the length in the high one (x86_64)
  const unsigned char* name;
} PAI;
struct dentry {
  struct dentry* d_parent;
  struct qstr d_name;
} PAI;
struct vfsmount {
  struct dentry* mnt_root;
} PAI;
struct mount {
  struct mount* mnt_parent;
  struct dentry* mnt_mountpoint;
  struct vfsmount mnt;
} PAI;
struct path {
  struct vfsmount* mnt;
  struct dentry* dentry;
} PAI;
struct fs_struct {
  struct path root, pwd;
} PAI;
struct file {
  struct path f_path;
  struct inode* f_inode;
} PAI;
struct fdtable {
  unsigned int max_fds;
  struct file** fd;
} PAI;
struct files_struct {
  struct fdtable* fdt;
} PAI;
struct mm_struct {
  struct file* exe_file;
  unsigned long arg_start, arg_end;
} PAI;
struct signal_struct {
  struct {
    int counter;
  } live;
} PAI;
struct task_struct {
  struct thread_info thread_info;
  int exit_code;
  int tgid;
  unsigned int sessionid;
  struct signal_struct* signal;
  struct seccomp seccomp;
  struct mm_struct* mm;
  struct fs_struct* fs;
  struct files_struct* files;
} PAI;
struct linux_binprm {
  struct file* file;
  const char* filename;
  const char* interp;
} PAI;

#endif
