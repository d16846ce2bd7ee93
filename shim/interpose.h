/* The macro vocabulary every wrapper is written in (after compiler-rt's
 * interception): one table per library declares the functions; these macros
 * turn a table into real-function typedefs, slots and wrappers. */
#ifndef SAFEHALF_INTERPOSE_H
#define SAFEHALF_INTERPOSE_H

#include <stdatomic.h>
#include <stddef.h>

#define SH_EXPORT __attribute__((visibility("default")))
#define SH_UNPAREN(...) __VA_ARGS__

/* A library the shim interposes, and the lazily resolved real functions. */
struct sh_lib {
    const char *name;             /* "cublas": the key in log records */
    const char *const *sonames;   /* tried with dlopen(RTLD_NOLOAD), in order */
    const char *const *syms;      /* symbol names, indexed like slots */
    _Atomic(void *) *slots;       /* real addresses, NULL until resolved */
    size_t nsyms;
    atomic_int warned_missing;
};

/* Resolve lib->syms[i] on first use: dlsym(RTLD_NEXT), then each soname
 * already loaded (RTLD_NOLOAD: Python extensions load cuBLAS RTLD_LOCAL,
 * where RTLD_NEXT cannot see it), never returning one of the shim's own
 * functions. NULL when no real library provides it; later calls retry, so
 * a library loaded afterwards is still found. */
void *sh_resolve(struct sh_lib *lib, size_t i);

static inline void *sh_real(struct sh_lib *lib, size_t i)
{
    void *p = atomic_load_explicit(&lib->slots[i], memory_order_acquire);
    return p ? p : sh_resolve(lib, i);
}

/* Path of the shared object holding a real function, or NULL. */
const char *sh_lib_path(struct sh_lib *lib);

/* For a table entry X(ret, name, params, args, ...): the real function's
 * type and its index in the library's slots. */
#define SH_REAL_TYPEDEF(ret, name, params, ...) typedef ret(*sh_fn_##name) params;
#define SH_SLOT_ENUM(ret, name, ...) SH_API_##name,
#define SH_SLOT_NAME(ret, name, ...) #name,

/* REAL(lib, fn): the real fn of lib, typed, or NULL. */
#define REAL(lib, name) ((sh_fn_##name)sh_real(&(lib), SH_API_##name))

#endif
