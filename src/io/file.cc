#include <fstream>
#include <sstream>
#include <system_error>
#include <filesystem>

#include "io/npy.h"

namespace kiln::io {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return InvalidArgument("'" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLoss("error reading '" + path + "'");
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& bytes) {
  // Written to a temporary file beside `path`, then renamed over it: a reader never sees half a
  // file, and a failed write leaves the old one.
  const std::string temporary = path + ".kiln-partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return NotFound("cannot create '" + path + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(temporary, ec);
      return DataLoss("error writing '" + path + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    return DataLoss("cannot move the written file into '" + path + "'");
  }
  return OkStatus();
}

}  // namespace kiln::io
