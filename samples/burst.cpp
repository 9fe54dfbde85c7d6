// burst: a burst of one cheap system call from several threads, N calls in all, then prints the
// total. It exists to load the tracer: every call is one audit record in trace mode, so a burst
// shows whether a record source keeps up, and whether losses are detected and reported.
//
//   burst [--threads T] [--count N] [--syscall NAME]
//     T: 1 to 64 threads (default 4); N: 1 to 100000000 calls (default 200000), shared out evenly
//     NAME: getppid (default), getuid, or umask (set to the mask the process already has, so the
//     burst changes nothing)
//
// System calls: the burst call, made through syscall(2) exactly N times by the worker threads
// (the C library could otherwise answer some from a cache); for umask, the main thread makes two
// more to read and restore the mask; write for the report. Starting and joining the threads adds
// clone3, mmap, mprotect, munmap, madvise, rt_sigaction, rt_sigprocmask, set_robust_list, rseq,
// futex and exit; the main thread makes one futex call (a wake no one waits for) on every run, so
// that a profile from any run also allows the joins' waits, which depend on timing.
#include "sample_io.hpp"

#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using samples::print_line;

namespace {

struct Options {
  long threads = 4;
  long count = 200'000;
  std::string_view syscall_name = "getppid";
};

bool parse_number(std::string_view text, long min, long max, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= min && out <= max;
}

int usage() {
  std::fputs("usage: burst [--threads T] [--count N] [--syscall getppid|getuid|umask]\n"
             "  T: 1 to 64 (default 4), N: 1 to 100000000 (default 200000)\n",
             stderr);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) return usage();
    std::string_view value = argv[++i];
    if (flag == "--threads") {
      if (!parse_number(value, 1, 64, options.threads)) return usage();
    } else if (flag == "--count") {
      if (!parse_number(value, 1, 100'000'000, options.count)) return usage();
    } else if (flag == "--syscall") {
      options.syscall_name = value;
    } else {
      return usage();
    }
  }

  long nr = 0;
  long arg0 = 0;
  if (options.syscall_name == "getppid") nr = SYS_getppid;
  else if (options.syscall_name == "getuid") nr = SYS_getuid;
  else if (options.syscall_name == "umask") {
    nr = SYS_umask;
    mode_t current = ::umask(0);
    ::umask(current);
    arg0 = static_cast<long>(current);
  } else {
    return usage();
  }

  std::atomic<long> failures{0};
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(options.threads));
  for (long t = 0; t < options.threads; ++t) {
    long share = options.count / options.threads + (t < options.count % options.threads ? 1 : 0);
    workers.emplace_back([share, nr, arg0, &failures] {
      long failed = 0;
      for (long i = 0; i < share; ++i)
        if (::syscall(nr, arg0) == -1) ++failed;
      failures.fetch_add(failed);
    });
  }
  std::atomic<std::uint32_t> futex_word{0};
  ::syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  for (auto& worker : workers) worker.join();

  if (failures.load() != 0) {
    std::fprintf(stderr, "burst: %ld of %ld %.*s calls failed\n", failures.load(), options.count,
                 static_cast<int>(options.syscall_name.size()), options.syscall_name.data());
    return 1;
  }
  std::string report = "burst: " + std::to_string(options.count) + " " + std::string(options.syscall_name) +
                       " calls from " + std::to_string(options.threads) + " threads";
  return print_line(report) ? 0 : 1;
}
