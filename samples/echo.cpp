// echo: a TCP echo over loopback inside one process. A server thread accepts one connection on
// 127.0.0.1 (port chosen by the kernel) and sends back everything it reads; the main thread
// connects, sends the message (argument, default "hello"), reads the echo and prints it. Exit 0
// when the echo matches. It exists to check profiles with network calls, and that a trace covers
// them in a second thread. Nothing leaves 127.0.0.1.
//
//   echo [MESSAGE]       MESSAGE: 1 to 4096 bytes
//
// System calls: socket, bind, listen, getsockname (the chosen port), setsockopt (a receive
// timeout on the client, so that a server thread that died cannot leave the client waiting past
// about a second), connect, sendto, shutdown (end of the message), recvfrom, close; in the server
// thread accept, recvfrom, sendto, close; write for the report. Starting and joining the thread
// adds clone3, mmap, mprotect, munmap, madvise, rt_sigaction, rt_sigprocmask, set_robust_list,
// rseq, futex and exit; the main thread makes one futex call (a wake no one waits for) on every
// run, so that a profile from any run also allows the join's wait, which depends on timing.
#include "sample_io.hpp"

#include <arpa/inet.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

using samples::print_line;

namespace {

constexpr std::size_t max_message = 4096;

// Closes the descriptor when it goes out of scope.
class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_;
};

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// The server: one connection, echoed until the client shuts its sending side. Closing the
// listening socket on the way out resets a client still waiting to be accepted.
void serve_one(int listen_fd, std::atomic<bool>& failed) {
  Fd connection(::accept(listen_fd, nullptr, nullptr));
  ::close(listen_fd);
  if (connection.get() < 0) {
    std::perror("echo: accept");
    failed = true;
    return;
  }
  char buffer[max_message];
  while (true) {
    ssize_t n = ::recv(connection.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return;
    if (n < 0 || !send_all(connection.get(), buffer, static_cast<std::size_t>(n))) {
      std::perror("echo: server");
      failed = true;
      return;
    }
  }
}

int fail(const char* what) {
  std::perror(what);
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 2) {
    std::fputs("usage: echo [MESSAGE]\n", stderr);
    return 2;
  }
  std::string_view message = argc == 2 ? argv[1] : "hello";
  if (message.empty() || message.size() > max_message) {
    std::fprintf(stderr, "echo: the message must be 1 to %zu bytes\n", max_message);
    return 2;
  }

  // Listening before the server thread starts: the client can connect at once, no handshake
  // between the threads is needed.
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) return fail("echo: socket");
  socklen_t length = sizeof address;
  if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 || ::listen(listen_fd, 1) < 0 ||
      ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    ::close(listen_fd);
    return fail("echo: listen on 127.0.0.1");
  }

  std::atomic<bool> server_failed{false};
  std::thread server(serve_one, listen_fd, std::ref(server_failed));
  std::atomic<std::uint32_t> futex_word{0};
  ::syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);

  std::string echoed;
  bool client_ok = false;
  {
    Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval timeout{1, 0};
    if (client.get() < 0) std::perror("echo: socket");
    else if (::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
      std::perror("echo: setsockopt");
    else if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
      std::perror("echo: connect");
    else if (!send_all(client.get(), message.data(), message.size()) || ::shutdown(client.get(), SHUT_WR) < 0)
      std::perror("echo: send");
    else {
      char buffer[max_message];
      while (true) {
        ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          std::perror("echo: receive");
          break;
        }
        if (n == 0) {
          client_ok = true;
          break;
        }
        echoed.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  // If the client never connected, the server still waits in accept: a connection that closes at
  // once lets it finish.
  if (!client_ok) {
    Fd wake(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (wake.get() >= 0) (void)::connect(wake.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  server.join();

  if (!client_ok || server_failed) return 1;
  if (echoed != message) {
    std::fprintf(stderr, "echo: got back %zu bytes that differ from the %zu sent\n", echoed.size(), message.size());
    return 1;
  }
  return print_line("echo: " + echoed) ? 0 : 1;
}
