// Aggregation of records into trace entries.
#include "nucleus/tracer/aggregate.hpp"

#include "nucleus/sandbox/syscalls.hpp"

#include <algorithm>

namespace nucleus::tracer {

void Aggregator::add(const SeccompRecord& record) {
  ++events_;
  auto it = counts_.find(KeyView{record.arch.token, record.syscall, record.exe});
  if (it != counts_.end()) {
    ++it->second;
    return;
  }
  counts_.emplace(Key{record.arch.token, record.syscall, record.exe}, 1);
  distinct_.emplace(record.arch.token, record.syscall); // only for a new key: no allocation per record
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
    sandbox::Arch arch{key.arch};
    auto name = sandbox::syscall_name(arch, key.nr);
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
    sandbox::Arch arch{key.first};
    auto name = sandbox::syscall_name(arch, key.second);
    out.emplace_back((name ? *name : "syscall_" + std::to_string(key.second)) + " (" +
                         std::string(sandbox::arch_name(arch)) + ")",
                     count);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > n) out.resize(n);
  return out;
}

} // namespace nucleus::tracer
