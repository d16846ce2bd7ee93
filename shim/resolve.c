#include <dlfcn.h>

#include "interpose.h"

/* The linker's symbol for this object's ELF header: a candidate in the same
 * object is one of our own wrappers (RTLD_NEXT hands one back when the shim
 * is loaded twice, or finds us again when the real library is missing). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static int is_ours(void *p)
{
    Dl_info info;
    return dladdr(p, &info) && info.dli_fbase == (void *)__ehdr_start;
}

void *sh_resolve(struct sh_lib *lib, size_t i)
{
    const char *name = lib->syms[i];
    void *p = dlsym(RTLD_NEXT, name);
    if (p && is_ours(p))
        p = NULL;
    for (const char *const *so = lib->sonames; !p && *so; so++) {
        void *h = dlopen(*so, RTLD_LAZY | RTLD_NOLOAD);
        if (!h)
            continue;
        p = dlsym(h, name);
        if (p && is_ours(p))
            p = NULL;
        dlclose(h); /* drops the reference NOLOAD took; the library stays */
    }
    if (p)
        atomic_store_explicit(&lib->slots[i], p, memory_order_release);
    return p;
}

const char *sh_lib_path(struct sh_lib *lib)
{
    for (size_t i = 0; i < lib->nsyms; i++) {
        Dl_info info;
        void *p = sh_real(lib, i);
        if (p && dladdr(p, &info) && info.dli_fname)
            return info.dli_fname;
    }
    return NULL;
}
