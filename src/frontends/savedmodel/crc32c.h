#pragma once
// CRC32C (Castagnoli), the checksum of LevelDB tables and tensor bundles.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kiln::savedmodel {

// Continues `crc` (the CRC of earlier bytes, 0 to start) over [data, data + n).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }
inline uint32_t Crc32c(std::string_view s) { return Crc32c(s.data(), s.size()); }

// Stored CRCs are masked, because a CRC of bytes that embed CRCs is weak.
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc32c(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kiln::savedmodel
