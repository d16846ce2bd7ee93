/* The GNU build-id of a loaded object, read from its notes in memory: the
 * report tool compares it with the file's before it turns an object+offset
 * into a source line, so that a file rebuilt since the run is not
 * symbolized with lines it no longer has. */
#ifndef SAFEHALF_BUILDID_H
#define SAFEHALF_BUILDID_H

#include <stdbool.h>
#include <stddef.h>

/* Lowercase hex of the build-id of the object whose loaded segments hold
 * addr, into hex (cap bytes, NUL-terminated; an id longer than fits is
 * cut); false when no object holds addr or it has no build-id. Takes the
 * loader's lock (dl_iterate_phdr): not for signal handlers. */
bool sh_build_id(const void *addr, char *hex, size_t cap);

#endif
