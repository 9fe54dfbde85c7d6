#include "caps.hpp"

#include "nucleus/core/io.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nucleus::sandbox::detail {
using core::read_file;

int last_capability() {
  try {
    return std::stoi(read_file("/proc/sys/kernel/cap_last_cap"));
  } catch (const std::exception&) {
    return CAP_LAST_CAP;
  }
}

int drop_capabilities(const ChildPlan& plan) noexcept {
  const auto kept = [&](int cap) { return cap < 64 && ((plan.cap_keep >> cap) & 1U) != 0; };
  for (int cap = 0; cap <= plan.cap_last; ++cap) {
    if (!kept(cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    auto bits = static_cast<std::uint32_t>(plan.cap_keep >> (32 * i));
    data[i].effective = bits;
    data[i].permitted = bits;
    data[i].inheritable = bits;
  }
  if (::syscall(SYS_capset, &header, data) != 0) return errno;
  for (int cap = 0; cap <= plan.cap_last; ++cap) {
    if (kept(cap) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return errno;
  }
  return 0;
}

} // namespace nucleus::sandbox::detail
