/* Emulated libcuda.so.1: code images and kernel launches.
 *
 * A loaded image is only searched for kernel names; a kernel exists when its
 * name is in the image and the project has a host twin for it
 * (kernels/twins.h). Launching runs the twin on the calling thread, with a
 * translator that maps device addresses to host ones. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "twins.h"

#define FATBIN_MAGIC 0xBA55ED50u

struct CUfunc_st {
    uint32_t magic;
    const struct sh_twin *twin;
    struct CUfunc_st *next;
};

/* CUlibrary and CUmodule share one representation. */
struct image {
    uint32_t magic;
    unsigned char *bytes; /* private copy: callers may free theirs */
    size_t size;
    struct CUfunc_st *funcs;
};

struct CUlib_st { struct image img; };
struct CUmod_st { struct image img; };

static uint64_t read_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The image's size from its own header: a fatbin states it, an ELF64 file
 * ends with its section or program header table. 0 if unrecognized. */
static size_t image_size(const unsigned char *p)
{
    if (read_le(p, 4) == FATBIN_MAGIC)
        return (size_t)(read_le(p + 6, 2) + read_le(p + 8, 8));
    if (memcmp(p, "\177ELF", 4) == 0 && p[4] == 2 /* ELFCLASS64 */) {
        uint64_t sh = read_le(p + 0x28, 8) + read_le(p + 0x3c, 2) * read_le(p + 0x3a, 2);
        uint64_t ph = read_le(p + 0x20, 8) + read_le(p + 0x38, 2) * read_le(p + 0x36, 2);
        uint64_t end = sh > ph ? sh : ph;
        return end > 64 ? (size_t)end : 64;
    }
    return 0;
}

static CUresult image_load(struct image *img, const void *code)
{
    if (!code)
        return CUDA_ERROR_INVALID_VALUE;
    size_t size = image_size(code);
    if (size == 0)
        return CUDA_ERROR_INVALID_IMAGE;
    img->bytes = malloc(size);
    if (!img->bytes)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(img->bytes, code, size);
    img->size = size;
    img->magic = EMU_IMAGE_MAGIC;
    img->funcs = NULL;
    return CUDA_SUCCESS;
}

static void image_unload(struct image *img)
{
    for (struct CUfunc_st *f = img->funcs, *next; f; f = next) {
        next = f->next;
        f->magic = 0;
        free(f);
    }
    img->magic = 0;
    free(img->bytes);
}

/* The name must occur NUL-terminated, as in a string table, so a kernel
 * is not found inside a longer name. */
static int image_has_name(const struct image *img, const char *name)
{
    size_t len = strlen(name) + 1;
    const unsigned char *p = img->bytes, *end = img->bytes + img->size;
    while (p < end) {
        const unsigned char *hit = memmem(p, (size_t)(end - p), name, len);
        if (!hit)
            return 0;
        if (hit == img->bytes || hit[-1] == '\0')
            return 1;
        p = hit + 1;
    }
    return 0;
}

static CUresult image_get(struct image *img, const char *name, struct CUfunc_st **out)
{
    if (!img || img->magic != EMU_IMAGE_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!name || !out)
        return CUDA_ERROR_INVALID_VALUE;
    const struct sh_twin *twin = sh_twin_find(name);
    if (!twin || !image_has_name(img, name))
        return CUDA_ERROR_NOT_FOUND;
    for (struct CUfunc_st *f = img->funcs; f; f = f->next) {
        if (f->twin == twin) {
            *out = f;
            return CUDA_SUCCESS;
        }
    }
    struct CUfunc_st *f = calloc(1, sizeof *f);
    if (!f)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *f = (struct CUfunc_st){ EMU_FUNC_MAGIC, twin, img->funcs };
    img->funcs = f;
    *out = f;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLibraryLoadData(CUlibrary *library, const void *code, CUjit_option *jit_options,
                                   void **jit_values, unsigned int njit,
                                   CUlibraryOption *lib_options, void **lib_values,
                                   unsigned int nlib)
{
    (void)jit_options, (void)jit_values, (void)njit;
    (void)lib_options, (void)lib_values, (void)nlib;
    CUresult r = drv_need_init();
    if (r)
        return r;
    if (!library)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUlib_st *lib = calloc(1, sizeof *lib);
    if (!lib)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if ((r = image_load(&lib->img, code))) {
        free(lib);
        return r;
    }
    *library = lib;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuLibraryUnload(CUlibrary library)
{
    if (!library || library->img.magic != EMU_IMAGE_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    image_unload(&library->img);
    free(library);
    return CUDA_SUCCESS;
}

/* A CUkernel is the same object as the CUfunction it yields, which is what
 * lets cuLaunchKernel take either, as the real driver does. */
EMU_API CUresult cuLibraryGetKernel(CUkernel *kernel, CUlibrary library, const char *name)
{
    CUresult r = drv_need_init();
    if (r)
        return r;
    struct CUfunc_st *f = NULL;
    if ((r = image_get(library ? &library->img : NULL, name, &f)))
        return r;
    *kernel = (CUkernel)f;
    return CUDA_SUCCESS;
}

static struct CUfunc_st *as_func(const void *handle)
{
    struct CUfunc_st *f = (struct CUfunc_st *)handle;
    return f && f->magic == EMU_FUNC_MAGIC ? f : NULL;
}

EMU_API CUresult cuKernelGetFunction(CUfunction *func, CUkernel kernel)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!func)
        return CUDA_ERROR_INVALID_VALUE;
    if (!as_func(kernel))
        return CUDA_ERROR_INVALID_HANDLE;
    *func = (CUfunction)kernel;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    if (!module)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUmod_st *mod = calloc(1, sizeof *mod);
    if (!mod)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if ((r = image_load(&mod->img, image))) {
        free(mod);
        return r;
    }
    *module = mod;
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleUnload(CUmodule module)
{
    if (!module || module->img.magic != EMU_IMAGE_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    image_unload(&module->img);
    free(module);
    return CUDA_SUCCESS;
}

EMU_API CUresult cuModuleGetFunction(CUfunction *func, CUmodule module, const char *name)
{
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    return image_get(module ? &module->img : NULL, name, (struct CUfunc_st **)func);
}

/* ---- launch ---------------------------------------------------------------- */

/* A bad device address inside a twin leaves the twin by longjmp and fails the
 * launch with CUDA_ERROR_ILLEGAL_ADDRESS, where a GPU would fault. Twins hold
 * no resources, so abandoning their frames is safe. */
static _Thread_local jmp_buf *launch_jmp;

static void *twin_xlate(const void *dev)
{
    if (!dev)
        return NULL;
    void *h = emu_to_host(dev);
    if (h)
        return h;
    fprintf(stderr, "emu: kernel dereferences %p, which is not device memory\n", dev);
    if (launch_jmp)
        longjmp(*launch_jmp, 1);
    abort();
}

static CUresult run_twin(const struct sh_twin *twin, void **params)
{
    jmp_buf jb;
    jmp_buf *volatile outer = launch_jmp;
    if (setjmp(jb)) {
        launch_jmp = outer;
        return CUDA_ERROR_ILLEGAL_ADDRESS;
    }
    launch_jmp = &jb;
    twin->launch(params, twin_xlate);
    launch_jmp = outer;
    return CUDA_SUCCESS;
}

/* A captured launch must keep the argument values: kernelParams only points
 * at them, so they are copied, with the sizes the twin table gives. */
#define MAX_PARAMS SH_TWIN_MAX_ARGS

struct launch_op {
    const struct sh_twin *twin;
    unsigned nparams;
    unsigned offset[MAX_PARAMS];
    _Alignas(16) unsigned char values[MAX_PARAMS * 16];
};

static CUresult run_launch(void *arg)
{
    struct launch_op *op = arg;
    void *params[MAX_PARAMS];
    for (unsigned i = 0; i < op->nparams; i++)
        params[i] = op->values + op->offset[i];
    return run_twin(op->twin, params);
}

EMU_API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                unsigned int bx, unsigned int by, unsigned int bz,
                                unsigned int shmem, CUstream stream, void **params, void **extra)
{
    (void)shmem;
    CUresult r = drv_need_ctx();
    if (r)
        return r;
    struct CUfunc_st *fn = as_func(f);
    if (!fn)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!drv_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    if (!gx || !gy || !gz || !bx || !by || !bz || (uint64_t)bx * by * bz > 1024)
        return CUDA_ERROR_INVALID_VALUE;
    if (extra) /* the packed-buffer convention is not emulated */
        return CUDA_ERROR_NOT_SUPPORTED;
    if (!params)
        return CUDA_ERROR_INVALID_VALUE;

    const struct sh_twin *twin = fn->twin;
    struct launch_op op = { .twin = twin, .nparams = twin->nargs };
    unsigned off = 0;
    for (unsigned i = 0; i < twin->nargs; i++) {
        off = (off + 7u) & ~7u;
        if (off + twin->arg_sizes[i] > sizeof op.values)
            return CUDA_ERROR_INVALID_VALUE;
        op.offset[i] = off;
        memcpy(op.values + off, params[i], twin->arg_sizes[i]);
        off += twin->arg_sizes[i];
    }
    int recorded;
    if ((r = emu_stream_record(stream, run_launch, &op, sizeof op, &recorded)) || recorded)
        return r;
    return run_twin(fn->twin, params);
}
