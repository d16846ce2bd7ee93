/* libsafehalf-audit.so: a glibc rtld-audit module (LD_AUDIT) for programs
 * that look cuBLAS, cuBLASLt or cuDNN entry points up with dlsym on their
 * own handle (JAX/XLA, TensorFlow, cudnn-frontend's dynamic loading).
 * Such a lookup searches the library's own scope, so a preloaded
 * libsafehalf.so never sees the call. The dynamic linker reports every
 * binding to a library this module marks (la_symbind64, dlsym included);
 * when the name is one libsafehalf.so exports and the lookup is the
 * program's (not the shim's, not NVIDIA's own), the binding is redirected
 * to the preloaded shim's wrapper, which then finds the real function as it
 * always does.
 *
 * The module runs in its own link-map namespace, with its own copy of libc:
 * it shares nothing with the shim but addresses. So it keeps no state of
 * the shim's, calls no dlsym (the auditor's dlsym on a base-namespace
 * handle crashes in glibc 2.36) and finds the shim's wrappers in the
 * shim's own dynamic symbol table. It never loads anything: without a
 * preloaded shim it says so once and leaves every binding as it is. */
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cublas_table.h"
#include "cublaslt_table.h"
#include "cudnn_table.h"

#define SH_AUDIT_EXPORT __attribute__((visibility("default")))

#define SH_AUDIT_NAME(ret, name, ...) #name,
static const char *const shim_names[] = {
    SH_CUBLAS_INTERCEPT(SH_AUDIT_NAME)
    SH_CUBLASLT_INTERCEPT(SH_AUDIT_NAME)
    SH_CUBLASLT_WATCH(SH_AUDIT_NAME)
    SH_CUDNN_INTERCEPT(SH_AUDIT_NAME)
};
#define N_SHIM_NAMES (sizeof shim_names / sizeof shim_names[0])

/* The preloaded shim in the base namespace, once la_objopen has seen it.
 * la_objopen runs under the loader's lock, la_symbind64 on any thread. */
static _Atomic(struct link_map *) shim_map;
static atomic_int warned_no_shim;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A dynamic-section address: absolute where the loader relocated the
 * section in place (x86-64, aarch64), an offset where it is read-only. */
static uintptr_t dyn_addr(const struct link_map *m, ElfW(Addr) p)
{
    return p < m->l_addr ? m->l_addr + p : p;
}

/* What this module reads of an object's dynamic section (NULL: absent). */
struct dynamic {
    const ElfW(Sym) *symtab;
    const char *strtab;
    const uint32_t *gnu_hash;
    const char *soname;
};

static struct dynamic read_dynamic(const struct link_map *m)
{
    struct dynamic dyn = { NULL, NULL, NULL, NULL };
    const ElfW(Dyn) *soname = NULL;
    for (const ElfW(Dyn) *d = m->l_ld; d && d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_SYMTAB)
            dyn.symtab = (const ElfW(Sym) *)dyn_addr(m, d->d_un.d_ptr);
        else if (d->d_tag == DT_STRTAB)
            dyn.strtab = (const char *)dyn_addr(m, d->d_un.d_ptr);
        else if (d->d_tag == DT_GNU_HASH)
            dyn.gnu_hash = (const uint32_t *)dyn_addr(m, d->d_un.d_ptr);
        else if (d->d_tag == DT_SONAME)
            soname = d;
    }
    if (soname && dyn.strtab)
        dyn.soname = dyn.strtab + soname->d_un.d_val;
    return dyn;
}

/* The object's DT_SONAME, or "" */
static const char *soname_of(const struct link_map *m)
{
    const char *soname = read_dynamic(m).soname;
    return soname ? soname : "";
}

/* The libraries the shim forwards to, under the sonames it looks them up
 * by: a wrapper can only stand in for a function of one of those. (A
 * program that opens cuDNN 9's sub-libraries itself is left alone.) */
static const char *const wrapped_sonames[] = { SH_CUBLAS_SONAMES, SH_CUBLASLT_SONAMES,
                                               SH_CUDNN_SONAMES };

static int is_wrapped_library(const struct link_map *m)
{
    const char *soname = soname_of(m);
    for (size_t i = 0; i < sizeof wrapped_sonames / sizeof *wrapped_sonames; i++)
        if (strcmp(soname, wrapped_sonames[i]) == 0)
            return 1;
    return 0;
}

/* NVIDIA's own objects: the wrapped libraries and their helpers (cuDNN 9's
 * libcudnn_graph.so.9 & co.). */
static int is_nvidia_library(const struct link_map *m)
{
    const char *names[] = { m->l_name ? base_name(m->l_name) : "", soname_of(m) };
    for (int i = 0; i < 2; i++)
        if (starts_with(names[i], "libcublas") || starts_with(names[i], "libcudnn"))
            return 1;
    return 0;
}

static int is_shim(const char *path)
{
    const char *b = base_name(path);
    return starts_with(b, "libsafehalf") && !starts_with(b, "libsafehalf-audit");
}

static int is_shim_name(const char *name)
{
    if (!starts_with(name, "cublas") && !starts_with(name, "cudnn"))
        return 0;
    for (size_t i = 0; i < N_SHIM_NAMES; i++)
        if (strcmp(name, shim_names[i]) == 0)
            return 1;
    return 0;
}

static void say(const char *msg)
{
    ssize_t r = write(STDERR_FILENO, msg, strlen(msg));
    (void)r;
}

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = h * 33 + *p;
    return h;
}

/* Address of the function `name` defined by m, found through its
 * DT_GNU_HASH table (the shim is linked with one); 0 when absent. */
static uintptr_t find_function(const struct link_map *m, const char *name)
{
    struct dynamic dyn = read_dynamic(m);
    const ElfW(Sym) *symtab = dyn.symtab;
    const char *strtab = dyn.strtab;
    const uint32_t *gnu = dyn.gnu_hash;
    if (!symtab || !strtab || !gnu || gnu[0] == 0)
        return 0;
    uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_words = gnu[2];
    const ElfW(Addr) *bloom = (const ElfW(Addr) *)(gnu + 4);
    const uint32_t *buckets = (const uint32_t *)(bloom + bloom_words);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t h = gnu_hash(name);
    uint32_t i = buckets[h % nbuckets];
    if (i < symoffset)
        return 0;
    for (;; i++) {
        uint32_t ch = chain[i - symoffset];
        const ElfW(Sym) *s = &symtab[i];
        if ((ch | 1) == (h | 1) && strcmp(strtab + s->st_name, name) == 0) {
            if (s->st_shndx == SHN_UNDEF || s->st_value == 0 ||
                ELF64_ST_TYPE(s->st_info) != STT_FUNC)
                return 0;
            return m->l_addr + s->st_value;
        }
        if (ch & 1)
            break;
    }
    return 0;
}

SH_AUDIT_EXPORT unsigned int la_version(unsigned int version)
{
    /* Version 1 of the interface has everything used here. */
    return version >= 1 ? (version < LAV_CURRENT ? version : LAV_CURRENT) : 0;
}

SH_AUDIT_EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid,
                                        uintptr_t *cookie)
{
    (void)cookie; /* stays the link map, as la_symbind64 reads it */
    if (lmid != LM_ID_BASE || !map->l_name)
        return 0;
    if (is_shim(map->l_name)) {
        struct link_map *none = NULL;
        atomic_compare_exchange_strong(&shim_map, &none, map);
        return 0;
    }
    /* Only bindings to the wrapped libraries are reported to us: the rest of
     * the program links as if no auditor were there. */
    return is_wrapped_library(map) ? LA_FLG_BINDTO : 0;
}

SH_AUDIT_EXPORT unsigned int la_objclose(uintptr_t *cookie)
{
    struct link_map *map = (struct link_map *)*cookie;
    atomic_compare_exchange_strong(&shim_map, &map, NULL);
    return 0;
}

SH_AUDIT_EXPORT uintptr_t la_symbind64(ElfW(Sym) *sym, unsigned int ndx,
                                       uintptr_t *refcook, uintptr_t *defcook,
                                       unsigned int *flags, const char *symname)
{
    (void)ndx;
    (void)defcook;
    *flags |= LA_SYMB_NOPLTENTER | LA_SYMB_NOPLTEXIT;
    uintptr_t value = sym->st_value;
    if (!is_shim_name(symname))
        return value;
    struct link_map *shim = atomic_load(&shim_map);
    if (!shim) {
        if (atomic_exchange(&warned_no_shim, 1) == 0)
            say("safehalf-audit: libsafehalf.so is not preloaded (LD_PRELOAD): cuBLAS/cuDNN "
                "entry points looked up with dlsym are left to the real libraries\n");
        return value;
    }
    /* The shim's own lookups of the real functions must get them, and so
     * must the libraries' own: cuDNN 9's libcudnn.so.9 finds each entry
     * point it forwards with dlsym in a sub-library under the same name
     * (libcudnn_graph.so.9's cudnnBackendExecute), and a wrapper there
     * would call itself through the dispatcher forever. */
    const struct link_map *ref = (const struct link_map *)*refcook;
    if (ref == shim || is_nvidia_library(ref))
        return value;
    uintptr_t wrapper = find_function(shim, symname);
    return wrapper ? wrapper : value;
}
