// probe: makes the system calls named on its command line, one after the other, and prints one JSON
// line per call on standard output. It exists so that tests and demos can ask "what does the kernel
// (under this filter) answer to exactly this call?" without writing a program per question.
//
//   probe [--touch FILE] CALL...
//   CALL = [ABI/]name[:arg0,arg1,...]      ABI = native (default, also x86_64) | x32 | i386
//   arg  = decimal (may be negative) | 0x hex | buf
//
// Syscall numbers come from libseccomp for the ABI asked for; the source holds no number table.
//   native  syscall(2) with the x86_64 number.
//   x32     syscall(2) with the x32 number, which libseccomp gives with bit 0x40000000 already set:
//           the x86_64 `syscall` instruction with that bit is how the kernel tells x32 calls apart.
//   i386    `int $0x80` from this 64-bit process (eax = number, ebx ecx edx esi edi ebp = arguments,
//           truncated to 32 bits). Where the machine offers no IA-32 entry, `int $0x80` faults: the
//           probe catches SIGSEGV/SIGILL around the call and reports the call as not applicable.
//
// Arguments: up to six. `buf` stands for the address of a zeroed 4 KiB scratch buffer. A call given
// without any argument list passes that address in every register, so that calls which fill in one
// structure (uname, sysinfo, times, pipe, ...) succeed and calls without arguments ignore it; its
// line shows "args":[] (what was written on the command line).
//
// Output, one line per call, written with a single write(2) right after the call so that nothing
// is lost when a later call ends the process (exit, execve, a kill action):
//   {"call":"socket","abi":"x86_64","nr":41,"args":[2,1,0],"ret":-1,"errno":1,"errname":"EPERM"}
//   {"call":"getpid","abi":"x86_64","nr":39,"args":[],"ret":4242,"errno":0}
//   {"call":"getpid","abi":"i386","nr":20,"args":[],"status":"not_applicable","reason":"..."}
//   {"call":"nonexistent","abi":"x86_64","status":"unknown_syscall"}
// "ret" is the raw return value in the C library's convention (-1 on failure, with "errno" set).
//
// Exit code: 0 when every call was made or found not applicable (whatever the calls returned),
// 2 on a usage error (nothing is called then) or when a name is unknown for its ABI (the other
// calls are still made).
//
// The probe's own system calls, beyond the C runtime's start-up, are kept few and predictable:
// --touch makes openat + close before anything else; each call is followed by one write(2) to
// standard output; an i386 call adds rt_sigaction (install and restore the fault handlers) and
// rt_sigprocmask (sigsetjmp/siglongjmp save and restore the signal mask); the end is exit_group.
// No iostreams, no locale, no allocation after start-up.
#include <seccomp.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace {

constexpr int exit_usage = 2;
constexpr std::size_t max_args = 6;
constexpr std::size_t max_name_length = 63; // longer than any syscall name: certainly unknown

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; // nowhere left to report to
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void print_error(std::string_view message, std::string_view detail = {}) {
  std::array<char, 512> line{};
  std::size_t len = 0;
  std::string_view separator = detail.empty() ? "" : ": ";
  for (std::string_view part : {std::string_view("probe: "), message, separator, detail, std::string_view("\n")}) {
    std::size_t n = part.size() < line.size() - len ? part.size() : line.size() - len;
    std::memcpy(line.data() + len, part.data(), n);
    len += n;
  }
  write_all(STDERR_FILENO, line.data(), len);
}

constexpr std::string_view usage_text =
    "usage: probe [--touch FILE] CALL...\n"
    "  CALL = [ABI/]name[:arg0,arg1,...]   ABI: native (default), x32, i386; up to 6 args:\n"
    "         decimal, 0x hex, or buf (a zeroed scratch buffer); no args: buf in every register\n"
    "  prints one JSON line per call; exit 0 when every call was made, 2 on usage errors or\n"
    "  unknown names\n";

int usage_error(std::string_view message, std::string_view detail = {}) {
  print_error(message, detail);
  write_all(STDERR_FILENO, usage_text.data(), usage_text.size());
  return exit_usage;
}

// One output line, built on the stack and written at once.
class JsonLine {
public:
  void raw(std::string_view text) {
    for (char c : text) put(c);
  }
  void string(std::string_view text) {
    put('"');
    for (char c : text) {
      auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        put('\\');
        put(c);
      } else if (byte < 0x20) {
        constexpr std::string_view hex = "0123456789abcdef";
        raw("\\u00");
        put(hex[byte >> 4]);
        put(hex[byte & 0xf]);
      } else {
        put(c);
      }
    }
    put('"');
  }
  template <typename Integer>
  void number(Integer value) {
    std::array<char, 24> digits{};
    auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
    (void)ec; // 24 characters hold any 64-bit integer
    raw(std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
  }
  void key(std::string_view name) {
    put(',');
    string(name);
    put(':');
  }
  void write_line() {
    put('\n');
    write_all(STDOUT_FILENO, buffer_.data(), length_);
    length_ = 0;
  }

private:
  void put(char c) {
    if (length_ == buffer_.size()) { // only a huge name gets here: the line is then written in parts
      write_all(STDOUT_FILENO, buffer_.data(), length_);
      length_ = 0;
    }
    buffer_[length_++] = c;
  }
  std::array<char, 1024> buffer_{};
  std::size_t length_ = 0;
};

enum class Abi { native, x32, i386 };

std::string_view abi_label(Abi abi) {
  switch (abi) {
  case Abi::native: return "x86_64";
  case Abi::x32: return "x32";
  case Abi::i386: return "i386";
  }
  return "?";
}

uint32_t seccomp_arch(Abi abi) {
  switch (abi) {
  case Abi::native: return SCMP_ARCH_X86_64;
  case Abi::x32: return SCMP_ARCH_X32;
  case Abi::i386: return SCMP_ARCH_X86;
  }
  return SCMP_ARCH_X86_64;
}

struct Argument {
  uint64_t value = 0;
  bool negative = false;    // written with a minus sign: printed signed
  bool scratch_buf = false; // `buf`: the scratch buffer's address, printed as "buf"
};

struct Call {
  std::string_view name;
  Abi abi = Abi::native;
  std::array<Argument, max_args> args{};
  std::size_t arg_count = 0;
  bool args_given = false;
};

bool parse_integer(std::string_view text, Argument& out) {
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    auto [end, ec] = std::from_chars(first + 2, last, out.value, 16);
    return ec == std::errc() && end == last;
  }
  if (text[0] == '-') {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(first, last, value, 10);
    out.value = static_cast<uint64_t>(value);
    out.negative = true;
    return ec == std::errc() && end == last;
  }
  auto [end, ec] = std::from_chars(first, last, out.value, 10);
  return ec == std::errc() && end == last;
}

// Parses `[ABI/]name[:arg0,...]`; on failure, `error` says what is wrong.
bool parse_call(std::string_view text, Call& call, std::string_view& error) {
  call = Call{};
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto abi = text.substr(0, slash);
    if (abi == "native" || abi == "x86_64") call.abi = Abi::native;
    else if (abi == "x32") call.abi = Abi::x32;
    else if (abi == "i386") call.abi = Abi::i386;
    else {
      error = "unknown ABI (native, x32 or i386)";
      return false;
    }
    text.remove_prefix(slash + 1);
  }
  auto colon = text.find(':');
  call.name = text.substr(0, colon);
  if (call.name.empty()) {
    error = "a call needs a syscall name";
    return false;
  }
  if (colon == std::string_view::npos) return true;
  call.args_given = true;
  auto list = text.substr(colon + 1);
  while (true) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    if (call.arg_count == max_args) {
      error = "at most 6 arguments";
      return false;
    }
    Argument& arg = call.args[call.arg_count++];
    if (item == "buf") arg.scratch_buf = true;
    else if (!parse_integer(item, arg)) {
      error = "an argument is not an integer (decimal or 0x hex) or buf";
      return false;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

// Zeroed before every call: the out-buffer for calls that fill in a structure.
alignas(64) std::array<unsigned char, 4096> scratch_buffer{};

std::array<uint64_t, max_args> register_values(const Call& call) {
  auto scratch = reinterpret_cast<uint64_t>(scratch_buffer.data());
  std::array<uint64_t, max_args> regs{};
  if (!call.args_given) regs.fill(scratch);
  for (std::size_t i = 0; i < call.arg_count; ++i) regs[i] = call.args[i].scratch_buf ? scratch : call.args[i].value;
  return regs;
}

struct Outcome {
  long ret = 0;
  int error = 0;
  int fault_signal = 0; // non-zero: the call could not be made (the i386 entry faulted)
};

// Signal handlers can only reach the jump target through a global; it is used by one i386 call
// at a time, and the handlers are installed only around that call.
sigjmp_buf i386_fault_jump;
volatile sig_atomic_t i386_fault_signal = 0;

extern "C" void on_i386_fault(int signal_number) {
  i386_fault_signal = signal_number;
  siglongjmp(i386_fault_jump, 1);
}

// int $0x80 with the i386 register convention. The red zone below the stack pointer may hold the
// caller's data, so the stack pointer moves past it before %rbp (the sixth argument's register,
// possibly the frame pointer) is saved. %r8-%r11 are declared clobbered: older kernels zero them
// on this entry.
uint32_t int80(uint32_t nr, const std::array<uint64_t, max_args>& regs) {
  uint32_t eax = nr;
  auto a0 = static_cast<uint32_t>(regs[0]);
  auto a1 = static_cast<uint32_t>(regs[1]);
  auto a2 = static_cast<uint32_t>(regs[2]);
  auto a3 = static_cast<uint32_t>(regs[3]);
  auto a4 = static_cast<uint32_t>(regs[4]);
  auto a5 = static_cast<uint32_t>(regs[5]);
  asm volatile("sub $128, %%rsp\n\t"
               "push %%rbp\n\t"
               "mov %[a5], %%ebp\n\t"
               "int $0x80\n\t"
               "pop %%rbp\n\t"
               "add $128, %%rsp"
               : "+a"(eax)
               : "b"(a0), "c"(a1), "d"(a2), "S"(a3), "D"(a4), [a5] "r"(a5)
               : "memory", "cc", "r8", "r9", "r10", "r11");
  return eax;
}

Outcome call_i386(long nr, const std::array<uint64_t, max_args>& regs) {
  struct sigaction on_fault {};
  on_fault.sa_handler = on_i386_fault;
  sigemptyset(&on_fault.sa_mask);
  struct sigaction old_segv {};
  struct sigaction old_ill {};
  sigaction(SIGSEGV, &on_fault, &old_segv);
  sigaction(SIGILL, &on_fault, &old_ill);
  Outcome outcome;
  i386_fault_signal = 0;
  if (sigsetjmp(i386_fault_jump, 1) == 0) {
    uint32_t raw = int80(static_cast<uint32_t>(nr), regs);
    // The kernel returns -errno (-4095..-1) in eax; report it as the C library would. Anything
    // else is a 32-bit unsigned result (an mmap2 address may have the top bit set).
    auto as_signed = static_cast<int32_t>(raw);
    if (as_signed < 0 && as_signed >= -4095) {
      outcome.ret = -1;
      outcome.error = -as_signed;
    } else {
      outcome.ret = static_cast<long>(raw);
    }
  } else {
    outcome.fault_signal = i386_fault_signal;
  }
  sigaction(SIGSEGV, &old_segv, nullptr);
  sigaction(SIGILL, &old_ill, nullptr);
  return outcome;
}

Outcome make_call(const Call& call, long nr) {
  scratch_buffer.fill(0);
  auto regs = register_values(call);
  if (call.abi == Abi::i386) return call_i386(nr, regs);
  // Native and x32 both enter through `syscall`; the x32 number carries its ABI bit.
  errno = 0;
  long ret = ::syscall(nr, regs[0], regs[1], regs[2], regs[3], regs[4], regs[5]);
  return {ret, ret == -1 ? errno : 0, 0};
}

void print_head(JsonLine& line, const Call& call) {
  line.raw("{\"call\":");
  line.string(call.name);
  line.key("abi");
  line.string(abi_label(call.abi));
}

void print_args(JsonLine& line, const Call& call) {
  line.key("args");
  line.raw("[");
  for (std::size_t i = 0; i < call.arg_count; ++i) {
    if (i > 0) line.raw(",");
    const Argument& arg = call.args[i];
    if (arg.scratch_buf) line.string("buf");
    else if (arg.negative) line.number(static_cast<int64_t>(arg.value));
    else line.number(arg.value);
  }
  line.raw("]");
}

// Makes one call and prints its line; returns false when the name is unknown for its ABI.
bool run_call(const Call& call) {
  JsonLine line;
  print_head(line, call);
  std::array<char, max_name_length + 1> name{};
  long nr = __NR_SCMP_ERROR;
  if (call.name.size() <= max_name_length) {
    std::memcpy(name.data(), call.name.data(), call.name.size());
    nr = seccomp_syscall_resolve_name_arch(seccomp_arch(call.abi), name.data());
  }
  if (nr < 0) { // not found, or a libseccomp pseudo number: no such syscall on this ABI
    line.key("status");
    line.string("unknown_syscall");
    line.raw("}");
    line.write_line();
    return false;
  }
  line.key("nr");
  line.number(nr);
  print_args(line, call);
  Outcome outcome = make_call(call, nr);
  if (outcome.fault_signal != 0) {
    line.key("status");
    line.string("not_applicable");
    line.key("reason");
    line.string(outcome.fault_signal == SIGILL
                    ? "int 0x80 raised SIGILL: no i386 syscall entry for 64-bit processes on this machine"
                    : "int 0x80 raised SIGSEGV: no i386 syscall entry for 64-bit processes on this machine");
  } else {
    line.key("ret");
    line.number(outcome.ret);
    line.key("errno");
    line.number(outcome.error);
    if (outcome.error != 0) {
      line.key("errname");
      const char* errname = strerrorname_np(outcome.error);
      if (errname != nullptr) line.string(errname);
      else line.raw("null");
    }
  }
  line.raw("}");
  line.write_line();
  return true;
}

} // namespace

int main(int argc, char** argv) {
  int first_call = 1;
  const char* touch_path = nullptr;
  while (first_call < argc) {
    std::string_view arg = argv[first_call];
    if (arg == "--touch") {
      if (first_call + 1 >= argc) return usage_error("--touch needs a file");
      touch_path = argv[first_call + 1];
      first_call += 2;
    } else if (arg == "--help" || arg == "-h") {
      write_all(STDOUT_FILENO, usage_text.data(), usage_text.size());
      return 0;
    } else if (arg == "--") {
      ++first_call;
      break;
    } else if (arg.starts_with("-")) {
      return usage_error("unknown option", arg);
    } else {
      break;
    }
  }
  if (touch_path == nullptr && first_call >= argc) return usage_error("no call given");

  // The marker comes first: its existence proves that this program started at all.
  if (touch_path != nullptr) {
    int fd = ::open(touch_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      print_error("--touch: cannot create", touch_path);
      return 1;
    }
    ::close(fd);
  }

  // Every call is checked before the first one is made: a usage error makes none.
  Call call;
  std::string_view error;
  for (int i = first_call; i < argc; ++i)
    if (!parse_call(argv[i], call, error)) return usage_error(error, argv[i]);

  bool all_known = true;
  for (int i = first_call; i < argc; ++i) {
    parse_call(argv[i], call, error);
    if (!run_call(call)) all_known = false;
  }
  return all_known ? 0 : exit_usage;
}
