// Whole-file reads and atomic writes: an output file is either complete or not there.
// Outputs that a workload could interfere with (a trace written into a --rw directory) are
// opened with OutputPath before the workload starts and written relative to that directory.
#pragma once

#include "nucleus/core/fd.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace nucleus::core {

// Reads the whole file; throws Error(not_found / permission / kernel) naming the path.
std::string read_file(const std::filesystem::path& path);

// The directory an output goes to, resolved and opened (O_PATH) when this is made; the write goes
// to a temporary file in that very directory, renamed over the name inside it. Renaming the
// directory away or replacing it (or the name) by a symlink afterwards cannot redirect the write.
class OutputPath {
public:
  // "-" means standard output. Throws Error when the directory cannot be opened, and Error(usage)
  // when the name is taken by anything but a regular file (a device, FIFO, symlink, directory):
  // the write would replace it.
  static OutputPath open(const std::filesystem::path& path);
  // A replaced file keeps its permission bits (set-id bits dropped); a new one gets 0666 & ~umask.
  // The file and then the directory are fsynced. Throws Error naming the path, and Error(usage)
  // when the name has been taken by anything but a regular file since open().
  void write_atomic(std::string_view content) const;
  const std::filesystem::path& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
  std::string name_;
  UniqueFd dir_; // invalid: standard output
};

// OutputPath::open(path).write_atomic(content), for outputs no workload runs beside.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

} // namespace nucleus::core
