// The eBPF recorder's maps read into trace entries once the program is detached: the counts per
// (executable slot, ABI, syscall) summed over the CPUs, the rare numbers and argument values from
// the facts map, the executables' names from the exec events, and every counter of what the
// program could not keep, as loss.
#if NUCLEUS_HAVE_EBPF

#include "ebpf_state.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/sensitive.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <tuple>

// The program keeps as many distinct values per argument as every recorder does.
static_assert(nucleus_bpf_arg_values_max == nucleus::core::arg_values_max);

namespace nucleus::tracer::ebpf {
using core::TraceArgValues;
using core::TraceSyscall;
namespace {

int on_exec_event(void* context, void* data, std::size_t size) {
  if (size < sizeof(nucleus_bpf_exec_event)) return 0;
  auto* names = static_cast<SlotNames*>(context);
  nucleus_bpf_exec_event event{};
  std::memcpy(&event, data, sizeof event);
  event.path[sizeof event.path - 1] = '\0';
  (*names)[event.slot] = event.path;
  return 0;
}

void note(LossReport& loss, std::uint64_t n, bool overflow, const std::string& what) {
  if (n == 0) return;
  if (overflow) loss.overflowed = true;
  else loss.lost += n;
  if (!loss.detail.empty()) loss.detail += "; ";
  loss.detail += what;
}

} // namespace

std::array<core::Arch, 3> program_arches() {
  return {*core::arch_from_name("x86_64"), *core::arch_from_name("x86"), *core::arch_from_name("x32")};
}

void read_maps(nucleus_bpf* skel, SlotNames& names, EbpfTrace& out) {
  MonitorResult& result = out.run;
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(skel);
  // Executable names, from the exec events.
  names[nucleus_bpf_slots - 1] = "?";
  if (ring_buffer* rb = ring_buffer__new(nucleus_bpf_events_fd(skel), on_exec_event, &names, nullptr)) {
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
  } else {
    note(result.loss, 1, true, "the exec events could not be read, so executables are unnamed");
  }
  auto arches = program_arches();
  auto exe_of = [&](std::uint32_t slot) {
    auto it = names.find(slot);
    return it != names.end() ? it->second : std::string("?");
  };
  auto nr_of = [&](std::uint32_t arch, std::uint32_t idx) {
    return static_cast<int>(arch == 2 ? idx | x32_syscall_bit : idx);
  };

  using Key = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>; // slot, arch, nr index
  std::map<Key, std::uint64_t> counts;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) core::throw_errno(-cpus, "cannot count the possible CPUs");
  constexpr std::size_t per_cpu = nucleus_bpf_arches * nucleus_bpf_nr_max; // u64s, 8-aligned
  std::vector<std::uint64_t> value(per_cpu * static_cast<std::size_t>(cpus));
  // Slots are handed out in order (next_slot, final now that the program is detached): the image
  // before the first exec, one per executable, and the overflow slot; the rest hold only zeros.
  const std::uint32_t last_given = std::min<std::uint32_t>(std::uint32_t{counters->next_slot}, nucleus_bpf_slots - 2);
  for (std::uint32_t slot = 0; slot < nucleus_bpf_slots; ++slot) {
    if (slot > last_given && slot != nucleus_bpf_slots - 1) continue;
    if (bpf_map_lookup_elem(nucleus_bpf_counts_fd(skel), &slot, value.data()) != 0)
      core::throw_errno("cannot read the eBPF recorder's counts");
    for (std::size_t i = 0; i < per_cpu; ++i) {
      std::uint64_t n = 0;
      for (int c = 0; c < cpus; ++c) n += value[static_cast<std::size_t>(c) * per_cpu + i];
      if (n != 0)
        counts[{slot, static_cast<std::uint32_t>(i / nucleus_bpf_nr_max),
                static_cast<std::uint32_t>(i % nucleus_bpf_nr_max)}] += n;
    }
  }

  // Rare numbers, argument values and their overflow marks.
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>, TraceArgValues> args;
  const int facts = nucleus_bpf_facts_fd(skel);
  nucleus_bpf_fact_key key{};
  nucleus_bpf_fact_key next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(facts, previous, &next) == 0) {
    key = next;
    previous = &key;
    std::uint64_t v = 0;
    if (bpf_map_lookup_elem(facts, &key, &v) != 0) continue;
    if (key.kind == nucleus_bpf_fact_rare) {
      counts[{key.slot, key.arch, key.nr}] += v;
    } else if (key.kind == nucleus_bpf_fact_arg_value || key.kind == nucleus_bpf_fact_arg_count) {
      auto& a = args[{key.slot, key.arch, key.nr, key.arg}];
      a.index = static_cast<int>(key.arg);
      if (key.kind == nucleus_bpf_fact_arg_value) a.values.push_back(key.value);
      else if (v > nucleus_bpf_arg_values_max) a.overflow = true;
    }
  }

  std::uint64_t unnamed = 0;
  for (const auto& [k, n] : counts) {
    auto [slot, arch, idx] = k;
    if (arch >= arches.size()) continue;
    if (names.find(slot) == names.end()) unnamed += n;
    TraceSyscall entry;
    entry.arch = arches[arch];
    entry.nr = nr_of(arch, idx);
    entry.count = n;
    entry.exe = exe_of(slot);
    for (auto it = args.lower_bound({slot, arch, idx, 0}); it != args.end(); ++it) {
      auto [s, a, i, arg] = it->first;
      if (s != slot || a != arch || i != idx) break;
      TraceArgValues values = it->second;
      std::sort(values.values.begin(), values.values.end());
      values.values.erase(std::unique(values.values.begin(), values.values.end()), values.values.end());
      entry.args.push_back(std::move(values));
    }
    out.syscalls.push_back(std::move(entry));
  }

  note(result.loss, counters->ringbuf_drops, false,
       std::to_string(counters->ringbuf_drops) + " exec event(s) were dropped (ring buffer full)");
  note(result.loss, counters->slots_full, true,
       "more executables ran than the recorder names (" + std::to_string(nucleus_bpf_slots - 2) +
           "): the calls of the rest are counted under exe \"?\"");
  note(result.loss, counters->storage_failures, false,
       std::to_string(counters->storage_failures) + " task(s) could not be tagged with their executable");
  note(result.loss, counters->args_unread, false,
       std::to_string(counters->args_unread) + " call(s) whose argument registers could not be read");
  note(result.loss, counters->rare_full, false,
       std::to_string(counters->rare_full) + " syscall(s) or argument value(s) found the recorder's map full");
  note(result.loss, counters->behaviour_drops, false,
       std::to_string(counters->behaviour_drops) + " behaviour record(s) were dropped (ring buffer full)");
  note(result.loss, counters->behaviour_storage_failures, false,
       std::to_string(counters->behaviour_storage_failures) +
           " behaviour record(s) found no room in their task's slot");
  note(result.loss, unnamed, false, std::to_string(unnamed) + " syscall(s) of executables whose exec event is missing");
  note(result.loss, counters->tracked_full, false,
       std::to_string(counters->tracked_full) +
           " forked process(es) found the recorder's table of tracked processes full");
  for (const auto& e : out.syscalls) result.records_attributed += e.count;
  result.records_seen = result.records_attributed;
}

} // namespace nucleus::tracer::ebpf

#endif
