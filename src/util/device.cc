#include "kiln/device.h"

#include <charconv>

namespace kiln {

std::string Device::ToString() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

StatusOr<Device> ParseDevice(std::string_view text) {
  if (text == "cpu") return Device::CPU();
  if (text == "cuda" || text == "gpu") return Device::CUDA(0);
  if (text.starts_with("cuda:")) {
    const std::string_view digits = text.substr(5);
    int index = -1;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (err == std::errc() && end == digits.data() + digits.size() && !digits.empty() && index >= 0) {
      return Device::CUDA(index);
    }
  }
  return InvalidArgument("unknown device '" + std::string(text) + "'; expected cpu, cuda or cuda:N");
}

}  // namespace kiln
