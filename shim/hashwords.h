/* The hash of a table key made of whole 64-bit words (zeroed before it is
 * filled, so padding hashes alike): a word at a time, since the keys are
 * hashed on hot paths (call sites, cuBLASLt requeried problems). */
#ifndef SAFEHALF_HASHWORDS_H
#define SAFEHALF_HASHWORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t sh_hash_words(const void *key, size_t bytes)
{
    uint64_t h = 0, w;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        memcpy(&w, (const char *)key + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    }
    return h ^ (h >> 31);
}

#endif
