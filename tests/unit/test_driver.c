/* The shim's driver layer against the emulated libcuda.so.1 (run with
 * LD_LIBRARY_PATH at tests/emu): where half scalars in device memory are
 * converted to. The emulator runs work at once, so a race on a shared pair
 * cannot show; which pair each call gets can. */
#include <check.h>
#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "driver.h"
#include "log.h"
#include "policy.h"
#include "run_suite.h"

/* What log.c takes from the runtime. */
struct sh_policy sh_policy;
void sh_runtime_describe_libs(struct sh_json *j)
{
    (void)j;
}

static CUresult (*mem_alloc)(CUdeviceptr *, size_t);
static CUresult (*copy_dtoh)(void *, CUdeviceptr, size_t);
static CUresult (*copy_htod)(CUdeviceptr, const void *, size_t);
static CUresult (*retain)(CUcontext *, CUdevice);
static CUresult (*set_current)(CUcontext);
static CUresult (*stream_create)(CUstream *, unsigned int);
static CUresult (*ctx_reset)(CUdevice);
static CUdeviceptr halves; /* alpha 2.0, beta 0.5 */

static void setup(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    ck_assert_ptr_nonnull(lib);
    *(void **)&mem_alloc = dlsym(lib, "cuMemAlloc_v2");
    *(void **)&copy_dtoh = dlsym(lib, "cuMemcpyDtoH_v2");
    *(void **)&copy_htod = dlsym(lib, "cuMemcpyHtoD_v2");
    *(void **)&retain = dlsym(lib, "cuDevicePrimaryCtxRetain");
    *(void **)&set_current = dlsym(lib, "cuCtxSetCurrent");
    *(void **)&stream_create = dlsym(lib, "cuStreamCreate");
    *(void **)&ctx_reset = dlsym(lib, "cuDevicePrimaryCtxReset_v2");
    ck_assert(sh_driver_ready());
    CUcontext ctx;
    ck_assert_int_eq(retain(&ctx, 0), CUDA_SUCCESS);
    ck_assert_int_eq(set_current(ctx), CUDA_SUCCESS);
    const unsigned short h[2] = { 0x4000, 0x3800 };
    ck_assert_int_eq(mem_alloc(&halves, sizeof h), CUDA_SUCCESS);
    ck_assert_int_eq(copy_htod(halves, h, sizeof h), CUDA_SUCCESS);
}

/* The pair a conversion on `stream` wrote, checked to hold 2.0 and 0.5. */
static void *convert(CUstream stream)
{
    void *out = NULL;
    const void *alpha = (const void *)(uintptr_t)halves;
    const void *beta = (const void *)(uintptr_t)(halves + 2);
    ck_assert(sh_driver_scalars_h2f(stream, alpha, beta, &out));
    float f[2];
    ck_assert_int_eq(copy_dtoh(f, (CUdeviceptr)(uintptr_t)out, sizeof f), CUDA_SUCCESS);
    ck_assert_float_eq(f[0], 2.0f);
    ck_assert_float_eq(f[1], 0.5f);
    return out;
}

struct job {
    CUstream stream;
    void *first, *second;
};

static void *on_thread(void *arg)
{
    struct job *j = arg;
    CUcontext ctx;
    if (retain(&ctx, 0) == CUDA_SUCCESS && set_current(ctx) == CUDA_SUCCESS) {
        j->first = convert(j->stream);
        j->second = convert(j->stream);
    }
    return NULL;
}

static void two_threads(CUstream stream, struct job jobs[2])
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (struct job){ .stream = stream };
        ck_assert_int_eq(pthread_create(&t[i], NULL, on_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(jobs[i].first);
        ck_assert_ptr_eq(jobs[i].first, jobs[i].second); /* one pair a stream */
    }
}

/* CU_STREAM_PER_THREAD names each thread's own stream, unordered with the
 * others': two threads must not share a pair (one's GEMM could read the
 * other's alpha and beta). One stream shared by threads keeps one pair:
 * its work is ordered. */
START_TEST(per_thread_stream_pairs)
{
    setup();
    struct job jobs[2];
    two_threads(CU_STREAM_PER_THREAD, jobs);
    ck_assert_ptr_ne(jobs[0].first, jobs[1].first);

    CUstream shared;
    ck_assert_int_eq(stream_create(&shared, 0), CUDA_SUCCESS);
    two_threads(shared, jobs);
    ck_assert_ptr_eq(jobs[0].first, jobs[1].first);
    ck_assert_ptr_ne(convert(shared), convert(CU_STREAM_LEGACY));
}
END_TEST

/* A device reset (cudaDeviceReset) frees every allocation, the pairs too,
 * and the program's next allocations may get their addresses: a conversion
 * after the reset must not write into the program's memory (nor into memory
 * no longer allocated), but into a pair of its own. */
START_TEST(pairs_after_device_reset)
{
    setup();
    void *before = convert(CU_STREAM_LEGACY);
    ck_assert_ptr_nonnull(ctx_reset);
    ck_assert_int_eq(ctx_reset(0), CUDA_SUCCESS);
    /* The program allocates again: small buffers, as many as it likes. */
    CUdeviceptr mine[8];
    const unsigned char pattern[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(mem_alloc(&mine[i], 8), CUDA_SUCCESS);
        ck_assert_int_eq(copy_htod(mine[i], pattern, 8), CUDA_SUCCESS);
    }
    const unsigned short h[2] = { 0x4000, 0x3800 };
    ck_assert_int_eq(mem_alloc(&halves, sizeof h), CUDA_SUCCESS);
    ck_assert_int_eq(copy_htod(halves, h, sizeof h), CUDA_SUCCESS);
    void *after = convert(CU_STREAM_LEGACY);
    for (int i = 0; i < 8; i++) {
        unsigned char got[8];
        ck_assert_int_eq(copy_dtoh(got, mine[i], 8), CUDA_SUCCESS);
        ck_assert_msg(memcmp(got, pattern, 8) == 0,
                      "the conversion wrote into the program's allocation %d", i);
        ck_assert_ptr_ne(after, (void *)(uintptr_t)mine[i]);
    }
    (void)before;
}
END_TEST

/* cuCtxGetDevice (CUDA 13) and cuStreamGetCtx (12.5) took a new parameter;
 * the driver hands out the variant of the CUDA version it is asked for. The
 * shim asked at its headers' version and called the new variants with the
 * old parameters: the extra one was whatever a register held, and on an
 * H100 the first matmul that needed the device crashed in the driver. */
START_TEST(functions_whose_parameters_changed)
{
    setup();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sh_driver_current_device(), 0);
    /* No current context: registering memory takes the stream's. */
    CUstream stream;
    ck_assert_int_eq(stream_create(&stream, 0), CUDA_SUCCESS);
    ck_assert_int_eq(set_current(NULL), CUDA_SUCCESS);
    static _Alignas(4096) char page[4096];
    ck_assert(sh_driver_map_host(page, sizeof page, stream));
    ck_assert_int_eq(sh_driver_current_device(), -1); /* none current: said, not guessed */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver");
    TCase *t = tcase_create("scalars");
    tcase_add_test(t, per_thread_stream_pairs);
    tcase_add_test(t, pairs_after_device_reset);
    tcase_add_test(t, functions_whose_parameters_changed);
    suite_add_tcase(s, t);
    return sh_run_suite(s);
}
