// Whole-file reads and atomic writes: an output file is either complete or not there.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace nucleus::sandbox {

// Reads the whole file; throws Error(not_found / permission / kernel) naming the path.
std::string read_file(const std::filesystem::path& path);
// Writes to a temporary file beside `path`, fsyncs and renames it over `path`. "-" means stdout.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

} // namespace nucleus::sandbox
