// Network: a new network namespace starts with only a loopback interface, and it is down.
#pragma once

namespace nucleus::sandbox::detail {

// Child: brings "lo" up in the current network namespace. 0 or an errno.
int bring_loopback_up() noexcept;

} // namespace nucleus::sandbox::detail
