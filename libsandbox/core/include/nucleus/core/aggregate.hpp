// Counting attributed records by (arch, syscall, exe): the body of a trace log. One add() per
// record on the hot path, so the key is cheap and names are resolved only once per distinct key.
#pragma once

#include "nucleus/core/record.hpp"
#include "nucleus/core/trace_log.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace nucleus::core {

class Aggregator {
public:
  // A record that carries its arguments (record.args) also adds the values of its argument-
  // sensitive arguments (sandbox/sensitive.hpp): distinct, at most arg_values_max per (arch,
  // syscall, exe, argument), then "overflow", as the eBPF program keeps them.
  void add(const SeccompRecord& record);
  // An entry counted elsewhere (the eBPF recorder's maps), with its argument values; the name is
  // resolved here like a record's.
  void add(const TraceSyscall& counted);

  std::uint64_t events() const noexcept { return events_; }
  // Distinct (arch, syscall) pairs, whatever executable made them.
  std::size_t distinct() const noexcept { return distinct_.size(); }
  // Sorted by arch, name, exe; names from libseccomp for the record's architecture.
  std::vector<TraceSyscall> entries() const;
  // The `n` most frequent (arch, syscall) pairs: "read (x86_64)", count.
  std::vector<std::pair<std::string, std::uint64_t>> most_frequent(std::size_t n) const;

private:
  struct Key {
    std::uint32_t arch;
    int nr;
    std::string exe;
  };
  // Looked up without building a Key, so that a record costs no allocation once its key exists.
  struct KeyView {
    std::uint32_t arch;
    int nr;
    std::string_view exe;
  };
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      using View = std::tuple<std::uint32_t, int, std::string_view>;
      return View(a.arch, a.nr, a.exe) < View(b.arch, b.nr, b.exe);
    }
  };
  std::map<Key, std::uint64_t, KeyLess> counts_;
  void add_args(const Key& key, const std::array<std::uint64_t, 6>& args);
  std::map<Key, std::vector<TraceArgValues>, KeyLess> args_;
  std::map<std::pair<std::uint32_t, int>, std::uint8_t> arg_masks_; // sensitive_arg_mask, per (arch, nr)
  std::set<std::pair<std::uint32_t, int>> distinct_;
  std::uint64_t events_ = 0;
};

} // namespace nucleus::core
