// The eBPF recorder's private parts, shared by its three files: the loaded program's state
// (ebpf_recorder.cpp loads it and runs a workload under it), the ABIs it tells apart, and the
// reading of its maps into trace entries (ebpf_maps.cpp), which record_existing()
// (ebpf_existing.cpp) uses as well.
#pragma once

#if NUCLEUS_HAVE_EBPF

#include "nucleus/tracer/ebpf.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/sandbox/filter.hpp"

#include "ebpf_skeleton.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace nucleus::tracer {

// The load runs on a thread of its own from open() on: loading and verifying take milliseconds of
// CPU in the kernel, which the workload's own start (namespaces, mounts, a fork or two) overlaps
// on another core. Only await_attached() reads what the thread wrote, after joining it.
struct EbpfRecorder::State {
  nucleus_bpf* skel = nullptr;
  std::chrono::microseconds setup{0};
  std::chrono::microseconds setup_cpu{0};
  sandbox::BpfProgram marker; // the filter that marks the workload (see syscalls.bpf.c)
  std::vector<std::uint8_t> flags;
  nucleus_bpf_sizes sizes{};
  bool count_refused = false;                // attach the sys_exit program for nucleus_bpf_flag_refused
  std::vector<std::uint32_t> behaviour_spec; // empty: names only (EbpfContent::behaviour false)
  bool follows_trees = false;                // EbpfContent::follows_trees
  std::size_t behaviour_cap = 0;             // 0: core::BehaviourSet's default
  std::thread loader;
  std::exception_ptr load_error;
  bool used = false;

  void load() noexcept;
  void await_attached() {
    if (loader.joinable()) loader.join();
    if (load_error) std::rethrow_exception(load_error);
  }
  ~State() {
    if (loader.joinable()) loader.join();
    nucleus_bpf_destroy(skel);
  }
};

namespace ebpf {

inline constexpr int x32_syscall_bit = 0x40000000;

// The ABIs the program tells apart, in its own order (0 x86_64, 1 i386, 2 x32).
std::array<core::Arch, 3> program_arches();

// Executable names by the program's slot numbers.
using SlotNames = std::map<std::uint32_t, std::string>;

// Turns the maps into trace entries and loss notes (into out.run). `names` holds the slots
// userspace named itself; the exec events name the rest.
void read_maps(nucleus_bpf* skel, SlotNames& names, EbpfTrace& out);

} // namespace ebpf
} // namespace nucleus::tracer

#endif
