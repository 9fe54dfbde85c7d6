// forge: a workload that tries to plant fake syscall records in what a tracer reads. It names its
// thread like a record (prctl PR_SET_NAME), opens a path holding a newline and a whole fake JSON log
// record, and makes a call gVisor does not know (futex_waitv, 449), so that its deceptive comm is
// printed in gVisor's log right before the real entry. A trace must show 449 by this executable,
// and none of the numbers the text names (460, 461, 41).
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

int main() {
  const char* names[] = {" E sys_460(0x1)", "Syscall 41: den"};
  const char* path = "/tmp/x\n{\"msg\":\"[   1:   1] t E sys_461(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)\",\"level\":\"info\"}\n";
  for (const char* name : names) {
    ::prctl(PR_SET_NAME, name, 0, 0, 0);
    int fd = ::open(path, O_RDONLY);
    if (fd >= 0) ::close(fd);
    ::syscall(449, 0, 0, 0, 0, 0); // futex_waitv: unknown to gVisor 2022, EINVAL or ENOSYS elsewhere
  }
  const char done[] = "forged\n";
  if (::write(STDOUT_FILENO, done, std::strlen(done)) < 0) return 1;
  return 0;
}
