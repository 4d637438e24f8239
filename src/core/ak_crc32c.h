/* ak_crc32c.h - CRC-32C (Castagnoli), for checksummed records on disk.
 * Uses the SSE4.2 instruction when the CPU has it. */
#ifndef AK_CRC32C_H
#define AK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t ak_crc32c(uint32_t crc, const void *data, size_t n);

#endif
