// Aggregation of records into trace entries.
#include "nucleus/core/aggregate.hpp"

#include "nucleus/core/sensitive.hpp"
#include "nucleus/core/syscalls.hpp"

#include <algorithm>

namespace nucleus::core {

void Aggregator::add(const SeccompRecord& record) {
  ++events_;
  auto it = counts_.find(KeyView{record.arch.token, record.syscall, record.exe});
  if (it != counts_.end()) {
    ++it->second;
  } else {
    it = counts_.emplace(Key{record.arch.token, record.syscall, record.exe}, 1).first;
    distinct_.emplace(record.arch.token, record.syscall); // only for a new key: no allocation per record
  }
  if (record.args != nullptr) add_args(it->first, *record.args);
}

void Aggregator::add_args(const Key& key, const std::array<std::uint64_t, 6>& args) {
  auto mask_it = arg_masks_.find({key.arch, key.nr});
  if (mask_it == arg_masks_.end()) {
    auto name = syscall_name(Arch{key.arch}, key.nr);
    std::uint8_t mask = name ? sensitive_arg_mask(Arch{key.arch}, *name) : 0;
    mask_it = arg_masks_.emplace(std::pair{key.arch, key.nr}, mask).first;
  }
  if (mask_it->second == 0) return;
  auto& entry = args_[key];
  for (int i = 0; i < 6; ++i) {
    if ((mask_it->second & (1u << i)) == 0) continue;
    auto values = std::find_if(entry.begin(), entry.end(), [&](const TraceArgValues& v) { return v.index == i; });
    if (values == entry.end()) {
      values = entry.insert(std::upper_bound(entry.begin(), entry.end(), i,
                                             [](int index, const TraceArgValues& v) { return index < v.index; }),
                            TraceArgValues{i, {}, false});
    }
    auto at = std::lower_bound(values->values.begin(), values->values.end(), args[static_cast<std::size_t>(i)]);
    if (at != values->values.end() && *at == args[static_cast<std::size_t>(i)]) continue;
    if (values->values.size() >= arg_values_max) values->overflow = true; // as the eBPF program's cap
    else values->values.insert(at, args[static_cast<std::size_t>(i)]);
  }
}

void Aggregator::add(const TraceSyscall& counted) {
  events_ += counted.count;
  Key key{counted.arch.token, counted.nr, counted.exe};
  counts_[key] += counted.count;
  distinct_.emplace(counted.arch.token, counted.nr);
  if (!counted.args.empty()) args_[key] = counted.args;
}

std::vector<TraceSyscall> Aggregator::entries() const {
  std::vector<TraceSyscall> out;
  out.reserve(counts_.size());
  for (const auto& [key, count] : counts_) {
    Arch arch{key.arch};
    auto name = syscall_name(arch, key.nr);
    out.push_back({arch, key.nr, name ? *name : "syscall_" + std::to_string(key.nr), count, key.exe});
    if (auto it = args_.find(key); it != args_.end()) out.back().args = it->second;
  }
  std::sort(out.begin(), out.end(), [](const TraceSyscall& a, const TraceSyscall& b) {
    return std::tie(a.arch.token, a.name, a.exe) < std::tie(b.arch.token, b.name, b.exe);
  });
  return out;
}

std::vector<std::pair<std::string, std::uint64_t>> Aggregator::most_frequent(std::size_t n) const {
  std::map<std::pair<std::uint32_t, int>, std::uint64_t> by_syscall;
  for (const auto& [key, count] : counts_) by_syscall[{key.arch, key.nr}] += count;
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& [key, count] : by_syscall) {
    Arch arch{key.first};
    auto name = syscall_name(arch, key.second);
    out.emplace_back(
        (name ? *name : "syscall_" + std::to_string(key.second)) + " (" + std::string(arch_name(arch)) + ")", count);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > n) out.resize(n);
  return out;
}

} // namespace nucleus::core
