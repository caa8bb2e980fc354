// Byte patterns that encode where a byte lives, shared by host and guest
// code: a byte read from the wrong page, the wrong offset or an older
// generation (seed) of the data never matches.
#pragma once

#include <stdint.h>

namespace kvmt {

// A function of the offset alone, not of a page size, so that host and
// guest code agree whatever the host's page size.
constexpr uint8_t pattern_byte(uint64_t seed, uint64_t byte_offset)
{
	uint64_t x = (seed * 0x9E3779B97F4A7C15ULL) ^ (byte_offset << 20) ^ byte_offset;
	x *= 0xD6E8FEB86659FD93ULL;
	x ^= x >> 29;
	return static_cast<uint8_t>(x >> 24);
}

}  // namespace kvmt

namespace kvmt {

// base points at the byte whose file offset is file_offset.
inline void fill_pattern(volatile uint8_t *base, uint64_t file_offset, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		base[i] = pattern_byte(seed, file_offset + i);
}

// Index of the first byte that is not pattern(seed), or -1.
inline int64_t find_pattern_mismatch(const volatile uint8_t *base, uint64_t file_offset,
				     uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		if (base[i] != pattern_byte(seed, file_offset + i))
			return static_cast<int64_t>(i);
	return -1;
}

// Index of the first byte that is not value, or -1.
inline int64_t find_byte_mismatch(const volatile uint8_t *base, uint64_t len, uint8_t value)
{
	for (uint64_t i = 0; i < len; i++)
		if (base[i] != value)
			return static_cast<int64_t>(i);
	return -1;
}

// Index of the first non-zero byte, or -1.
inline int64_t find_nonzero(const volatile uint8_t *base, uint64_t len)
{
	return find_byte_mismatch(base, len, 0);
}

}  // namespace kvmt
