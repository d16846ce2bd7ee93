/* cuBLASLt: the generated wrappers and their hand-written hooks (see
 * cublas.c for the shape of a hook).
 *
 * A matmul descriptor asking for FP16 accumulation is created as FP32 (with
 * an FP32 scale type) and remembered, so each cublasLtMatmul with it gets
 * its half alpha/beta converted; preferences lose the split-K reduction
 * schemes that sum in D's type; a matmul whose algorithm was not chosen
 * under such a preference gets one that was; D is checked. */
#include <cublasLt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cudanames.h"
#include "decide.h"
#include "detect.h"
#include "driver.h"
#include "half.h"
#include "hashwords.h"
#include "interpose.h"
#include "lockrenew.h"
#include "objtab.h"
#include "runtime.h"
#include "sites.h"

#include "cublaslt_table.h"

SH_CUBLASLT_INTERCEPT(SH_REAL_TYPEDEF)
SH_CUBLASLT_WATCH(SH_REAL_TYPEDEF)
SH_CUBLASLT_USE(SH_REAL_TYPEDEF)

/* Slots: the intercepted functions first (counted per api), then the
 * watched, then the used. */
enum { SH_CUBLASLT_INTERCEPT(SH_SLOT_ENUM) SH_CUBLASLT_WATCH(SH_SLOT_ENUM)
           SH_CUBLASLT_USE(SH_SLOT_ENUM) SH_LT_NSYMS };
#define SH_COUNT_ONE(...) +1
enum { SH_LT_NAPI = 0 SH_CUBLASLT_INTERCEPT(SH_COUNT_ONE) };

static const char *const lt_syms[] = { SH_CUBLASLT_INTERCEPT(SH_SLOT_NAME)
                                           SH_CUBLASLT_WATCH(SH_SLOT_NAME)
                                               SH_CUBLASLT_USE(SH_SLOT_NAME) };
static const char *const lt_sonames[] = { SH_CUBLASLT_SONAMES, NULL };
static _Atomic(void *) lt_slots[SH_LT_NSYMS];
static struct sh_lib sh_cublaslt = { "cublaslt", lt_sonames, lt_syms, lt_slots, SH_LT_NSYMS, 0 };

static struct sh_api_counts counts[SH_LT_NAPI];
static void log_call(const struct sh_call *c, int status);
static void describe(struct sh_json *j);
static void after_fork(void);
const struct sh_lib_ops sh_cublaslt_ops = { "cublaslt", lt_syms, counts, SH_LT_NAPI, log_call,
                                            describe, after_fork };

/* A layout as cuBLASLt holds it (cublasLt.h documents each attribute's
 * type). */
struct layout {
    uint32_t type;
    int32_t order, batch;
    uint64_t rows, cols;
    int64_t ld, stride;
    /* cublasLtBatchMode_t: with POINTER_ARRAY the matrix argument is a
     * device array of pointers, which must never be scanned as data. */
    uint32_t batch_mode;
};

/* One intercepted cuBLASLt call: the record every library keeps, and what
 * the hooks saw that only cuBLASLt has. log_call gets &cc->c back and
 * reads these through lt_of. */
struct lt_call {
    struct sh_call c; /* c.kind: LT_DESC, LT_PREF, or 0 (a matmul has c.gemm) */
    int compute, scale, scale_used; /* descriptor calls and matmuls: the program's / cuBLASLt's */
    uint32_t mask, mask_used;       /* preference calls: reduction scheme masks */
    enum { ALGO_GIVEN, ALGO_NULL, ALGO_REQUERIED, ALGO_REFUSED } algo_how;
    cudaStream_t stream;
    cublasLtMatmulDesc_t desc;
    const void *A, *B, *C, *beta; /* beta: the program's, in its scale type */
    void *D;
    cublasLtMatrixLayout_t Adesc, Bdesc, Cdesc;
    cublasLtMatrixLayout_t Ddesc;
    /* The layouts' followed copies (when *_known), or, for D, its type,
     * rows, cols and batch read back (have_d: describe_matmul). */
    struct layout a, b, d;
    bool a_known, b_known, d_known, have_d;
};

enum { LT_DESC = 1, LT_PREF };

static const struct lt_call *lt_of(const struct sh_call *c)
{
    return (const struct lt_call *)((const char *)c - offsetof(struct lt_call, c));
}

_Static_assert((int)SH_LT_SCHEME_INPLACE == (int)CUBLASLT_REDUCTION_SCHEME_INPLACE, "inplace");
_Static_assert((int)SH_LT_SCHEME_COMPUTE_TYPE == (int)CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE,
               "compute type");
_Static_assert((int)SH_LT_SCHEME_OUTPUT_TYPE == (int)CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE,
               "output type");
_Static_assert((int)SH_LT_SCHEME_MASK == (int)CUBLASLT_REDUCTION_SCHEME_MASK, "mask");

static atomic_int warned_table_full, warned_vector_mode, warned_device_scalars, warned_refused;

/* ---- descriptors the shim rewrote -------------------------------------------
 * Only rewritten descriptors are held: what the program asked for, and what
 * cuBLASLt was given. Descriptors made with cublasLtMatmulDescInit in the
 * program's storage are never destroyed; a later Init at the same address
 * replaces the entry. */
enum { W_COMPUTE, W_SCALE, W_COMPUTE_USED, W_SCALE_USED };
static struct sh_objtab rewritten = SH_OBJTAB_INIT;

struct desc_state {
    bool rewritten;
    int compute, scale;           /* the program's */
    int compute_used, scale_used; /* cuBLASLt's */
};

static struct desc_state desc_state(cublasLtMatmulDesc_t desc)
{
    long long w[SH_OBJTAB_WORDS];
    struct desc_state st = { 0 };
    if (!sh_objtab_get(&rewritten, desc, w))
        return st;
    st = (struct desc_state){ true, (int)w[W_COMPUTE], (int)w[W_SCALE], (int)w[W_COMPUTE_USED],
                              (int)w[W_SCALE_USED] };
    return st;
}

/* ---- what cuBLASLt holds for a descriptor the program created ---------------
 * The attributes a matmul reads, as the library holds them (the types the
 * shim handed over, for a rewritten one), followed from creation through
 * every change made through the shim, so that a matmul need not read them
 * back. A copy only: a descriptor without one (made by Init in storage the
 * program may reuse unseen, or made before the shim was on) is read from
 * the library. */
enum { F_COMPUTE, F_SCALE, F_POINTER_MODE, F_TRANSA, NFOLLOWED };
static const cublasLtMatmulDescAttributes_t followed[NFOLLOWED] = {
    [F_COMPUTE] = CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, [F_SCALE] = CUBLASLT_MATMUL_DESC_SCALE_TYPE,
    [F_POINTER_MODE] = CUBLASLT_MATMUL_DESC_POINTER_MODE, [F_TRANSA] = CUBLASLT_MATMUL_DESC_TRANSA,
};
_Static_assert(NFOLLOWED <= SH_OBJTAB_WORDS, "one word per attribute");
static struct sh_objtab desc_copies = SH_OBJTAB_INIT;

struct desc_copy {
    bool known;
    int32_t v[NFOLLOWED]; /* by index in followed[] */
};

static void desc_copy_of(cublasLtMatmulDesc_t desc, struct desc_copy *dc)
{
    struct sh_objtab_ref r;
    dc->known = false;
    if (!sh_objtab_ref(&desc_copies, desc, &r))
        return;
    for (int i = 0; i < NFOLLOWED; i++)
        dc->v[i] = (int32_t)sh_objtab_word(&desc_copies, &r, i);
    dc->known = sh_objtab_valid(&desc_copies, &r);
}

static int followed_index(cublasLtMatmulDescAttributes_t attr)
{
    for (int i = 0; i < NFOLLOWED; i++)
        if (followed[i] == attr)
            return i;
    return -1;
}

static bool desc_get(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, void *v,
                     size_t size)
{
    size_t written;
    sh_fn_cublasLtMatmulDescGetAttribute get = REAL(sh_cublaslt, cublasLtMatmulDescGetAttribute);
    return get && get(desc, attr, v, size, &written) == CUBLAS_STATUS_SUCCESS;
}

static int32_t desc_attr(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                         int32_t fallback)
{
    int32_t v;
    return desc_get(desc, attr, &v, sizeof v) ? v : fallback;
}

/* The attribute followed[i] as cuBLASLt holds it: from the copy, else from
 * the library (fallback when it will not say). */
static int32_t held_attr(const struct desc_copy *dc, cublasLtMatmulDesc_t desc, int i,
                         int32_t fallback)
{
    return dc->known ? dc->v[i] : desc_attr(desc, followed[i], fallback);
}

/* A new descriptor, as cuBLASLt creates it (cublasLt.h's defaults). */
static void desc_follow(cublasLtMatmulDesc_t desc, int compute, int scale)
{
    long long w[SH_OBJTAB_WORDS] = { [F_COMPUTE] = compute, [F_SCALE] = scale,
                                     [F_POINTER_MODE] = CUBLASLT_POINTER_MODE_HOST,
                                     [F_TRANSA] = CUBLAS_OP_N };
    sh_objtab_del(&rewritten, desc); /* a destroyed descriptor's, if one was missed */
    sh_objtab_cache(&desc_copies, desc, w);
}

/* Every change of an attribute goes through here, the program's own as the
 * shim's: the copy follows what the library accepted. */
static cublasStatus_t desc_set_real(cublasLtMatmulDesc_t desc,
                                    cublasLtMatmulDescAttributes_t attr, int32_t v)
{
    sh_fn_cublasLtMatmulDescSetAttribute set = REAL(sh_cublaslt, cublasLtMatmulDescSetAttribute);
    cublasStatus_t s = set ? set(desc, attr, &v, sizeof v) : CUBLAS_STATUS_NOT_INITIALIZED;
    int i = followed_index(attr);
    if (i < 0)
        return s;
    if (s == CUBLAS_STATUS_SUCCESS)
        sh_objtab_set_word(&desc_copies, desc, i, v);
    else
        sh_objtab_del(&desc_copies, desc); /* refused: nothing is assumed about the rest */
    return s;
}

/* The descriptor back to the program's own types. */
static void restore_own(cublasLtMatmulDesc_t desc, int compute, int scale)
{
    desc_set_real(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, compute);
    desc_set_real(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, scale);
}

/* After cuBLASLt accepted the rewritten types: remember them, or, with no
 * room to remember (the matmul could not convert alpha/beta), put the
 * program's own types back. */
static bool remember(struct lt_call *cc, cublasLtMatmulDesc_t desc)
{
    long long w[SH_OBJTAB_WORDS] = { [W_COMPUTE] = cc->compute, [W_SCALE] = cc->scale,
                                     [W_COMPUTE_USED] = cc->c.compute_used,
                                     [W_SCALE_USED] = cc->scale_used };
    if (sh_objtab_put(&rewritten, desc, w))
        return true;
    sh_warn_once(&warned_table_full,
                 "more than %d cuBLASLt matmul descriptors alive at once; further ones keep "
                 "their FP16 compute type",
                 SH_OBJTAB_SLOTS);
    restore_own(desc, cc->compute, cc->scale);
    cc->c.action = SH_ACT_FALLBACK;
    cc->c.compute_used = cc->compute;
    cc->scale_used = cc->scale;
    return false;
}

/* A descriptor is being created (or initialized) with these types: decide,
 * and fill the record's fields. */
static struct sh_lt_decision decide_desc(struct lt_call *cc, int compute, int scale)
{
    struct sh_lt_decision d = sh_decide_lt_compute(&sh_policy, compute, scale);
    cc->c.kind = LT_DESC;
    cc->compute = compute;
    cc->scale = scale;
    cc->c.compute = compute;
    cc->c.compute_used = compute;
    cc->scale_used = scale;
    cc->c.action = d.action;
    return d;
}

/* The real create or init ran with the rewritten types and succeeded. */
static void made(struct lt_call *cc, const struct sh_lt_decision *d, cublasLtMatmulDesc_t desc,
                 cublasStatus_t s)
{
    cc->c.compute_used = d->compute_used;
    cc->scale_used = d->scale_used;
    remember(cc, desc);
    cc->c.status = s;
}

/* Made here, whatever the decision, so that the new descriptor is followed. */
static bool sh_hook_desc_create(struct lt_call *cc, cublasLtMatmulDesc_t *desc,
                                cublasComputeType_t compute, cudaDataType_t scale)
{
    struct sh_lt_decision d = decide_desc(cc, (int)compute, (int)scale);
    sh_fn_cublasLtMatmulDescCreate create = (sh_fn_cublasLtMatmulDescCreate)cc->c.real;
    if (!desc)
        return false;
    if (d.action == SH_ACT_UPCAST) {
        cublasStatus_t s = create(desc, (cublasComputeType_t)d.compute_used,
                                  (cudaDataType_t)d.scale_used);
        if (s == CUBLAS_STATUS_SUCCESS) {
            desc_follow(*desc, d.compute_used, d.scale_used);
            made(cc, &d, *desc, s);
            return true;
        }
        /* Never fail a call the library could serve as the program made it. */
        cc->c.action = SH_ACT_FALLBACK;
    }
    cc->c.status = create(desc, compute, scale);
    if (cc->c.status == CUBLAS_STATUS_SUCCESS)
        desc_follow(*desc, (int)compute, (int)scale);
    return true;
}

static bool sh_hook_desc_init(struct lt_call *cc, cublasLtMatmulDesc_t desc, size_t size,
                              cublasComputeType_t compute, cudaDataType_t scale)
{
    struct sh_lt_decision d = decide_desc(cc, (int)compute, (int)scale);
    /* Caller storage is reused: whatever was held for this address is stale. */
    sh_objtab_del(&rewritten, desc);
    sh_objtab_del(&desc_copies, desc);
    if (d.action != SH_ACT_UPCAST)
        return false;
    cublasStatus_t s = ((sh_fn_cublasLtMatmulDescInit_internal)cc->c.real)(
        desc, size, (cublasComputeType_t)d.compute_used, (cudaDataType_t)d.scale_used);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cc->c.action = SH_ACT_FALLBACK;
        return false;
    }
    made(cc, &d, desc, s);
    return true;
}

static bool sh_hook_desc_destroy(struct lt_call *cc, cublasLtMatmulDesc_t desc)
{
    (void)cc;
    sh_objtab_del(&rewritten, desc);
    sh_objtab_del(&desc_copies, desc);
    return false;
}

static bool int32_arg(const void *buf, size_t size, int32_t *v)
{
    if (!buf || size != sizeof *v)
        return false;
    memcpy(v, buf, sizeof *v);
    return true;
}

/* Vectors of half alphas (DEVICE_VECTOR and the modes after it) cannot be
 * converted per call: a descriptor whose pointer mode is one keeps the
 * program's own types, whichever of the two was set first. */
static bool half_vectors(int32_t mode)
{
    if (mode == CUBLASLT_POINTER_MODE_HOST || mode == CUBLASLT_POINTER_MODE_DEVICE)
        return false;
    sh_warn_once(&warned_vector_mode,
                 "a cuBLASLt descriptor with half alpha vectors (pointer mode %d) keeps its "
                 "FP16 compute type",
                 (int)mode);
    return true;
}

static int32_t pointer_mode_of(cublasLtMatmulDesc_t desc)
{
    struct desc_copy dc;
    desc_copy_of(desc, &dc);
    return held_attr(&dc, desc, F_POINTER_MODE, CUBLASLT_POINTER_MODE_HOST);
}

/* The program changes the compute type: decided as at creation, against
 * the scale type the program last gave. A descriptor going back to a safe
 * compute type gets the program's scale type back too. False: the
 * program's own value is still to be set. */
static bool set_compute(struct lt_call *cc, cublasLtMatmulDesc_t desc, int32_t compute)
{
    struct desc_state st = desc_state(desc);
    int scale = st.rewritten ? st.scale
                             : desc_attr(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, CUDA_R_32F);
    struct sh_lt_decision d = decide_desc(cc, compute, scale);
    if (d.action == SH_ACT_UPCAST && d.half_scalars && half_vectors(pointer_mode_of(desc)))
        d.action = cc->c.action = SH_ACT_FALLBACK;
    if (d.action == SH_ACT_UPCAST) {
        cublasStatus_t s = desc_set_real(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, d.compute_used);
        if (s != CUBLAS_STATUS_SUCCESS) {
            cc->c.action = SH_ACT_FALLBACK;
            return false;
        }
        cc->c.status = s;
        cc->c.compute_used = d.compute_used;
        cc->scale_used = d.scale_used;
        if (desc_set_real(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, d.scale_used) ==
            CUBLAS_STATUS_SUCCESS) {
            remember(cc, desc);
            return true;
        }
        /* FP32 compute with a half scale type is no valid pair: back to
         * the program's compute type, as the program's own call sets it. */
        desc_set_real(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, compute);
        cc->c.action = SH_ACT_FALLBACK;
        cc->c.compute_used = compute;
        cc->scale_used = scale;
        return true;
    }
    if (st.rewritten) {
        sh_objtab_del(&rewritten, desc);
        desc_set_real(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, st.scale);
    }
    return false;
}

/* The attributes the shim rewrites or follows are set here, the program's
 * value included, so that the copy follows what the library accepted. */
static bool sh_hook_desc_set(struct lt_call *cc, cublasLtMatmulDesc_t desc,
                             cublasLtMatmulDescAttributes_t attr, const void *buf, size_t size)
{
    int32_t v;
    if (followed_index(attr) < 0)
        return false;
    if (!int32_arg(buf, size, &v)) {
        /* The library refuses such a size; the copy could not follow one
         * it took. */
        sh_objtab_del(&desc_copies, desc);
        return false;
    }
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE:
        if (set_compute(cc, desc, v))
            return true;
        break;
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: {
        /* A rewritten descriptor keeps the FP32 scale type; the program's
         * choice is remembered for its alpha and beta. */
        struct desc_state st = desc_state(desc);
        if (!st.rewritten)
            break;
        long long w[SH_OBJTAB_WORDS] = { st.compute, v, st.compute_used, st.scale_used };
        sh_objtab_put(&rewritten, desc, w);
        cc->c.status = desc_set_real(desc, attr, st.scale_used);
        return true;
    }
    case CUBLASLT_MATMUL_DESC_POINTER_MODE: {
        /* Vectors of half alphas (DEVICE_VECTOR and the modes after it)
         * cannot be converted per call: such a descriptor goes back to
         * the program's own types. */
        struct desc_state st = desc_state(desc);
        if (!st.rewritten || st.scale != CUDA_R_16F || !half_vectors(v))
            break;
        sh_objtab_del(&rewritten, desc);
        restore_own(desc, st.compute, st.scale);
        cc->c.action = SH_ACT_FALLBACK;
        break;
    }
    default:
        break;
    }
    cc->c.status = desc_set_real(desc, attr, v);
    return true;
}

static bool sh_hook_desc_get(struct lt_call *cc, cublasLtMatmulDesc_t desc,
                             cublasLtMatmulDescAttributes_t attr, void *buf, size_t size,
                             size_t *written)
{
    struct sh_call *c = &cc->c;
    c->status = ((sh_fn_cublasLtMatmulDescGetAttribute)c->real)(desc, attr, buf, size, written);
    if (c->status != CUBLAS_STATUS_SUCCESS || !buf || size != sizeof(int32_t) ||
        (attr != CUBLASLT_MATMUL_DESC_COMPUTE_TYPE && attr != CUBLASLT_MATMUL_DESC_SCALE_TYPE))
        return true;
    struct desc_state st = desc_state(desc);
    if (st.rewritten) {
        int32_t own = attr == CUBLASLT_MATMUL_DESC_COMPUTE_TYPE ? st.compute : st.scale;
        memcpy(buf, &own, sizeof own);
    }
    return true;
}

/* ---- preferences: the reduction scheme mask -------------------------------- */

static void restrict_new_pref(struct lt_call *cc, cublasLtMatmulPreference_t pref)
{
    cc->c.kind = LT_PREF;
    cc->mask = SH_LT_SCHEME_MASK;
    cc->mask_used = sh_decide_reduction_mask(&sh_policy, SH_LT_SCHEME_MASK);
    if (cc->mask_used == cc->mask)
        return;
    uint32_t m = cc->mask_used;
    sh_fn_cublasLtMatmulPreferenceSetAttribute set =
        REAL(sh_cublaslt, cublasLtMatmulPreferenceSetAttribute);
    if (set && set(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &m, sizeof m) ==
                   CUBLAS_STATUS_SUCCESS)
        cc->c.changed = true;
    else
        cc->mask_used = cc->mask;
}

static bool sh_hook_pref_create(struct lt_call *cc, cublasLtMatmulPreference_t *pref)
{
    struct sh_call *c = &cc->c;
    c->status = ((sh_fn_cublasLtMatmulPreferenceCreate)c->real)(pref);
    if (c->status == CUBLAS_STATUS_SUCCESS && pref)
        restrict_new_pref(cc, *pref);
    return true;
}

static bool sh_hook_pref_init(struct lt_call *cc, cublasLtMatmulPreference_t pref, size_t size)
{
    struct sh_call *c = &cc->c;
    c->status = ((sh_fn_cublasLtMatmulPreferenceInit_internal)c->real)(pref, size);
    if (c->status == CUBLAS_STATUS_SUCCESS)
        restrict_new_pref(cc, pref);
    return true;
}

static bool sh_hook_pref_set(struct lt_call *cc, cublasLtMatmulPreference_t pref,
                             cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                             size_t size)
{
    uint32_t mask;
    if (attr != CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK || !buf || size != sizeof mask)
        return false;
    memcpy(&mask, buf, sizeof mask);
    cc->c.kind = LT_PREF;
    cc->mask = mask;
    cc->mask_used = sh_decide_reduction_mask(&sh_policy, mask);
    if (cc->mask_used == mask)
        return false;
    uint32_t used = cc->mask_used;
    cc->c.changed = true;
    cc->c.status = ((sh_fn_cublasLtMatmulPreferenceSetAttribute)cc->c.real)(pref, attr, &used,
                                                                             sizeof used);
    return true;
}

/* ---- matrix layouts ------------------------------------------------------------ */

static bool layout_attr(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                        void *v, size_t size)
{
    size_t written;
    sh_fn_cublasLtMatrixLayoutGetAttribute get =
        REAL(sh_cublaslt, cublasLtMatrixLayoutGetAttribute);
    return get && get(l, attr, v, size, &written) == CUBLAS_STATUS_SUCCESS;
}

static bool layout_type(cublasLtMatrixLayout_t l, int *type)
{
    uint32_t t;
    if (!layout_attr(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &t, sizeof t))
        return false;
    *type = (int)t;
    return true;
}

/* Batch mode exists from cuBLASLt 12.5 on: an older library's refusal
 * means strided. */
static uint32_t batch_mode_of(cublasLtMatrixLayout_t l)
{
    uint32_t mode = CUBLASLT_BATCH_MODE_STRIDED;
    return layout_attr(l, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, &mode, sizeof mode)
               ? mode
               : CUBLASLT_BATCH_MODE_STRIDED;
}

static bool layout_of(cublasLtMatrixLayout_t l, struct layout *o)
{
    o->batch_mode = batch_mode_of(l);
    return layout_attr(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &o->type, sizeof o->type) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &o->order, sizeof o->order) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &o->rows, sizeof o->rows) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_COLS, &o->cols, sizeof o->cols) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_LD, &o->ld, sizeof o->ld) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &o->batch, sizeof o->batch) &&
           layout_attr(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &o->stride,
                       sizeof o->stride);
}

/* Every layout made through the shim is followed from its creation through
 * each change, so that a matmul reads its layouts from one table instead of
 * asking the library for each attribute. A copy only: a layout the table
 * does not hold (made before the shim was on, inside the library, or given
 * way to another) is read from the library.
 *
 * A layout made by Init lives in the program's storage, which the program
 * may reuse or overwrite (copy another layout into) without telling the
 * library: its copy holds a fingerprint of the storage, and counts only
 * while the storage still holds those bytes. */
enum { L_TYPE, L_ORDER, L_ROWS, L_COLS, L_LD, L_BATCH, L_STRIDE, L_PRINT };
static struct sh_objtab layout_copies = SH_OBJTAB_INIT;

/* Never 0, which marks a layout made by Create. */
static long long fingerprint(cublasLtMatrixLayout_t l)
{
    unsigned long long w[sizeof(cublasLtMatrixLayoutOpaque_t) / 8], h = 0;
    memcpy(w, l, sizeof w);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
    return (long long)((h ^ (h >> 29)) | 1);
}

static void layout_put(cublasLtMatrixLayout_t l, uint32_t type, int32_t order, uint64_t rows,
                       uint64_t cols, int64_t ld, int32_t batch, int64_t stride, bool init)
{
    long long w[SH_OBJTAB_WORDS] = { [L_TYPE] = type,
                                     [L_ORDER] = order,
                                     [L_ROWS] = (long long)rows,
                                     [L_COLS] = (long long)cols,
                                     [L_LD] = ld,
                                     [L_BATCH] = batch,
                                     [L_STRIDE] = stride,
                                     [L_PRINT] = init ? fingerprint(l) : 0 };
    sh_objtab_cache(&layout_copies, l, w);
}

/* The followed copy of l, if there is one that still counts; *print is its
 * fingerprint (0 when made by Create). Padding zeroed: problems are
 * compared whole. */
static bool layout_copy(cublasLtMatrixLayout_t l, struct layout *o, long long *print)
{
    struct sh_objtab *t = &layout_copies;
    struct sh_objtab_ref r;
    if (!sh_objtab_ref(t, l, &r))
        return false;
    memset(o, 0, sizeof *o);
    o->type = (uint32_t)sh_objtab_word(t, &r, L_TYPE);
    o->order = (int32_t)sh_objtab_word(t, &r, L_ORDER);
    o->rows = (uint64_t)sh_objtab_word(t, &r, L_ROWS);
    o->cols = (uint64_t)sh_objtab_word(t, &r, L_COLS);
    o->ld = sh_objtab_word(t, &r, L_LD);
    o->batch = (int32_t)sh_objtab_word(t, &r, L_BATCH);
    o->stride = sh_objtab_word(t, &r, L_STRIDE);
    *print = sh_objtab_word(t, &r, L_PRINT);
    return sh_objtab_valid(t, &r) && (!*print || fingerprint(l) == *print);
}

static bool layout_known(cublasLtMatrixLayout_t l, struct layout *o)
{
    long long print;
    return layout_copy(l, o, &print);
}

/* A new layout, as cuBLASLt makes it (cublasLt.h's defaults). */
static void layout_follow(cublasLtMatrixLayout_t l, cudaDataType type, uint64_t rows,
                          uint64_t cols, int64_t ld, bool init)
{
    layout_put(l, (uint32_t)type, CUBLASLT_ORDER_COL, rows, cols, ld, 1, 0, init);
}

static cublasStatus_t sh_watch_layout_create(sh_fn_cublasLtMatrixLayoutCreate real,
                                             cublasLtMatrixLayout_t *l, cudaDataType type,
                                             uint64_t rows, uint64_t cols, int64_t ld)
{
    cublasStatus_t s = real(l, type, rows, cols, ld);
    if (s == CUBLAS_STATUS_SUCCESS && l && sh_init())
        layout_follow(*l, type, rows, cols, ld, false);
    return s;
}

static cublasStatus_t sh_watch_layout_init(sh_fn_cublasLtMatrixLayoutInit_internal real,
                                           cublasLtMatrixLayout_t l, size_t size,
                                           cudaDataType type, uint64_t rows, uint64_t cols,
                                           int64_t ld)
{
    cublasStatus_t s = real(l, size, type, rows, cols, ld);
    if (!sh_init())
        return s;
    /* Storage smaller than the opaque block cannot be fingerprinted. */
    if (s == CUBLAS_STATUS_SUCCESS && l && size >= sizeof(cublasLtMatrixLayoutOpaque_t))
        layout_follow(l, type, rows, cols, ld, true);
    else
        sh_objtab_del(&layout_copies, l);
    return s;
}

/* The word of an attribute the shim reads, and the size cublasLt.h gives
 * it; -1 for the others. */
static int layout_word(cublasLtMatrixLayoutAttribute_t attr, size_t *size)
{
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE: *size = sizeof(uint32_t); return L_TYPE;
    case CUBLASLT_MATRIX_LAYOUT_ORDER: *size = sizeof(int32_t); return L_ORDER;
    case CUBLASLT_MATRIX_LAYOUT_ROWS: *size = sizeof(uint64_t); return L_ROWS;
    case CUBLASLT_MATRIX_LAYOUT_COLS: *size = sizeof(uint64_t); return L_COLS;
    case CUBLASLT_MATRIX_LAYOUT_LD: *size = sizeof(int64_t); return L_LD;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: *size = sizeof(int32_t); return L_BATCH;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: *size = sizeof(int64_t); return L_STRIDE;
    default: return -1;
    }
}

static long long attr_value(const void *buf, size_t size, bool is_signed)
{
    if (size == 8) {
        int64_t v;
        memcpy(&v, buf, sizeof v);
        return v;
    }
    uint32_t v;
    memcpy(&v, buf, sizeof v);
    return is_signed ? (long long)(int32_t)v : (long long)v;
}

/* The changed word follows. A layout made by Init: its copy must still
 * count before the change, and then gets the storage's new fingerprint,
 * after the word (a lookup in between finds the old fingerprint and reads
 * the library instead). */
static cublasStatus_t sh_watch_layout_set(sh_fn_cublasLtMatrixLayoutSetAttribute real,
                                          cublasLtMatrixLayout_t l,
                                          cublasLtMatrixLayoutAttribute_t attr, const void *buf,
                                          size_t size)
{
    struct layout o;
    long long print = 0;
    bool known = layout_copy(l, &o, &print);
    cublasStatus_t s = real(l, attr, buf, size);
    size_t want = 0;
    int w = layout_word(attr, &want);
    /* A size the library refuses; a copy could not follow one it took.
     * Copies are of strided layouts only: one given another batch mode is
     * read from the library from then on. */
    uint32_t mode = CUBLASLT_BATCH_MODE_STRIDED;
    if (attr == CUBLASLT_MATRIX_LAYOUT_BATCH_MODE && buf && size == sizeof mode)
        memcpy(&mode, buf, sizeof mode);
    if (!known || s != CUBLAS_STATUS_SUCCESS || (w >= 0 && (!buf || size != want)) ||
        (attr == CUBLASLT_MATRIX_LAYOUT_BATCH_MODE && mode != CUBLASLT_BATCH_MODE_STRIDED)) {
        sh_objtab_del(&layout_copies, l);
        return s;
    }
    if (w >= 0)
        sh_objtab_set_word(&layout_copies, l, w, attr_value(buf, size, w != L_TYPE));
    if (print)
        sh_objtab_set_word(&layout_copies, l, L_PRINT, fingerprint(l));
    return s;
}

/* Forgotten before the library frees it: the address may be handed out
 * again as soon as the real call returns. */
static cublasStatus_t sh_watch_layout_destroy(sh_fn_cublasLtMatrixLayoutDestroy real,
                                              cublasLtMatrixLayout_t l)
{
    sh_objtab_del(&layout_copies, l);
    return real(l);
}

/* ---- the matmul --------------------------------------------------------------- */

/* Algorithms re-chosen under the policy's preference, per problem: the
 * heuristic costs microseconds, the lookup a compare of hashes. Programs
 * with dynamic shapes (a sequence length per batch) recur through many
 * problems, so the cache is large and, when full, drops the problem used
 * least recently: one a model runs every step stays. */
#define NCACHE 256
struct problem {
    int32_t compute, scale, trans_a, trans_b;
    uint32_t epilogue;
    int32_t pointer_mode; /* algorithms support some modes only */
    int32_t device;       /* current: the heuristic answers for its GPU */
    uint32_t pad;
    uint64_t workspace;
    struct layout l[4];
    uint32_t align[4]; /* of A, B, C and D, in bytes */
};
static struct {
    pthread_mutex_t lock;
    unsigned used;
    uint64_t clock;
    struct {
        uint64_t hash, stamp; /* stamp 0: free, or forgotten */
        struct problem key;
        cublasLtMatmulAlgo_t algo;
    } e[NCACHE];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A thread of the parent may have been writing an entry: the child starts
 * with none. */
static void after_fork(void)
{
    sh_lock_renew(&cache.lock);
    cache.used = 0;
    cache.clock = 0;
}

_Static_assert(sizeof(struct problem) % 8 == 0, "problem: whole words, for sh_hash_words");

static uint64_t problem_hash(const struct problem *p)
{
    return sh_hash_words(p, sizeof *p);
}

/* Under cache.lock: the entry holding the problem, or -1. */
static int cache_find(const struct problem *key, uint64_t hash)
{
    for (unsigned i = 0; i < cache.used; i++)
        if (cache.e[i].hash == hash && cache.e[i].stamp &&
            memcmp(&cache.e[i].key, key, sizeof *key) == 0)
            return (int)i;
    return -1;
}

static bool is16(int t)
{
    return t == CUDA_R_16F || t == CUDA_R_16BF;
}

/* The alignment an algorithm may assume of a matrix: its address's, up to
 * the 256 bytes a preference assumes by default (a slice of a tensor may
 * be aligned to 2); for an array of pointers, whose members only the
 * device knows, the element's. */
static uint32_t alignment_of(const void *ptr, const struct layout *o)
{
    if (o->batch_mode == CUBLASLT_BATCH_MODE_POINTER_ARRAY)
        return is16((int)o->type) ? 2 : 1;
    uintptr_t a = (uintptr_t)ptr | 256;
    return (uint32_t)(a & -a);
}

static bool problem_of(const struct desc_copy *dc, cublasLtMatmulDesc_t desc,
                       cublasLtMatrixLayout_t const l[4], const void *const ptr[4],
                       size_t workspace, struct problem *p)
{
    memset(p, 0, sizeof *p);
    p->compute = held_attr(dc, desc, F_COMPUTE, -1);
    p->scale = held_attr(dc, desc, F_SCALE, -1);
    p->trans_a = held_attr(dc, desc, F_TRANSA, -1);
    p->trans_b = desc_attr(desc, CUBLASLT_MATMUL_DESC_TRANSB, -1);
    p->epilogue = (uint32_t)desc_attr(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, -1);
    p->pointer_mode = held_attr(dc, desc, F_POINTER_MODE, -1);
    /* Loaded now if not yet (the check after the call loads it anyway), or
     * the first call's problem would be keyed to no device. */
    p->device = sh_driver_ready() ? sh_driver_current_device() : -1;
    p->workspace = workspace;
    for (int i = 0; i < 4; i++) {
        if (!layout_known(l[i], &p->l[i]) && !layout_of(l[i], &p->l[i]))
            return false;
        p->align[i] = alignment_of(ptr[i], &p->l[i]);
    }
    return p->compute >= 0;
}

/* The first algorithm cuBLASLt's heuristic offers for this problem under a
 * preference with the policy's reduction scheme mask, the call's workspace
 * and its matrices' alignment; false when there is none (the program's
 * choice then stands). */
static bool requery(cublasLtHandle_t h, const struct desc_copy *dc, cublasLtMatmulDesc_t desc,
                    cublasLtMatrixLayout_t const l[4], const void *const ptr[4],
                    size_t workspace, cublasLtMatmulAlgo_t *out, struct problem *problem)
{
    struct problem key;
    if (!problem_of(dc, desc, l, ptr, workspace, &key))
        return false;
    *problem = key;
    uint64_t hash = problem_hash(&key);
    pthread_mutex_lock(&cache.lock);
    int hit = cache_find(&key, hash);
    if (hit >= 0) {
        cache.e[hit].stamp = ++cache.clock;
        *out = cache.e[hit].algo;
        pthread_mutex_unlock(&cache.lock);
        return true;
    }
    pthread_mutex_unlock(&cache.lock);

    sh_fn_cublasLtMatmulPreferenceInit_internal init =
        REAL(sh_cublaslt, cublasLtMatmulPreferenceInit_internal);
    sh_fn_cublasLtMatmulPreferenceSetAttribute set =
        REAL(sh_cublaslt, cublasLtMatmulPreferenceSetAttribute);
    sh_fn_cublasLtMatmulAlgoGetHeuristic heuristic =
        REAL(sh_cublaslt, cublasLtMatmulAlgoGetHeuristic);
    cublasLtMatmulPreferenceOpaque_t storage;
    cublasLtMatmulPreference_t pref = &storage;
    uint32_t mask = sh_decide_reduction_mask(&sh_policy, SH_LT_SCHEME_MASK);
    uint64_t max_ws = workspace;
    cublasLtMatmulHeuristicResult_t result;
    int n = 0;
    if (!init || !set || !heuristic || init(pref, sizeof storage) != CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask, sizeof mask) !=
            CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof max_ws) !=
            CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &key.align[0], 4) !=
            CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &key.align[1], 4) !=
            CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &key.align[2], 4) !=
            CUBLAS_STATUS_SUCCESS ||
        set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &key.align[3], 4) !=
            CUBLAS_STATUS_SUCCESS ||
        heuristic(h, desc, l[0], l[1], l[2], l[3], pref, 1, &result, &n) !=
            CUBLAS_STATUS_SUCCESS ||
        n < 1 || result.state != CUBLAS_STATUS_SUCCESS)
        return false;
    *out = result.algo;
    pthread_mutex_lock(&cache.lock);
    /* Another thread may have asked for the same problem meanwhile. */
    int at = cache_find(&key, hash);
    if (at < 0 && cache.used < NCACHE)
        at = (int)cache.used++;
    for (unsigned i = 0; at < 0 && i < NCACHE; i++)
        if (!cache.e[i].stamp)
            at = (int)i;
    if (at < 0) {
        at = 0;
        for (unsigned i = 1; i < NCACHE; i++)
            if (cache.e[i].stamp < cache.e[at].stamp)
                at = (int)i;
    }
    cache.e[at].hash = hash;
    cache.e[at].stamp = ++cache.clock;
    cache.e[at].key = key;
    cache.e[at].algo = result.algo;
    pthread_mutex_unlock(&cache.lock);
    return true;
}

/* An algorithm cuBLASLt refused for the problem is not offered again; the
 * next call asks the heuristic anew. */
static void forget(const struct problem *key)
{
    pthread_mutex_lock(&cache.lock);
    int at = cache_find(key, problem_hash(key));
    if (at >= 0)
        cache.e[at].stamp = 0;
    pthread_mutex_unlock(&cache.lock);
}

/* A thread tends to pass the same algorithm again and again: its split-K
 * configuration is read once. An algorithm is plain data (cuBLASLt has
 * programs store and restore it as bytes): equal bytes, equal answers. */
static __attribute__((tls_model("initial-exec"))) _Thread_local struct {
    unsigned long long algo[sizeof(cublasLtMatmulAlgo_t) / 8];
    int32_t splitk;
    uint32_t scheme;
    bool valid;
} last_algo;

static bool algo_config(const cublasLtMatmulAlgo_t *algo, int32_t *splitk, uint32_t *scheme)
{
    unsigned long long w[sizeof last_algo.algo / 8], diff = 0;
    memcpy(w, algo, sizeof w);
    for (size_t i = 0; i < sizeof w / 8; i++)
        diff |= w[i] ^ last_algo.algo[i];
    if (diff == 0 && last_algo.valid) {
        *splitk = last_algo.splitk;
        *scheme = last_algo.scheme;
        return true;
    }
    size_t written;
    sh_fn_cublasLtMatmulAlgoConfigGetAttribute get =
        REAL(sh_cublaslt, cublasLtMatmulAlgoConfigGetAttribute);
    if (!get ||
        get(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, splitk, sizeof *splitk, &written) !=
            CUBLAS_STATUS_SUCCESS ||
        get(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, scheme, sizeof *scheme, &written) !=
            CUBLAS_STATUS_SUCCESS)
        return false;
    memcpy(last_algo.algo, w, sizeof w);
    last_algo.splitk = *splitk;
    last_algo.scheme = *scheme;
    last_algo.valid = true;
    return true;
}

/* Whether an algorithm the program chose splits k and joins the partial
 * sums in a way the policy forbids for this D type. */
static bool algo_risky(const cublasLtMatmulAlgo_t *algo, int dtype)
{
    int32_t splitk = 1;
    uint32_t scheme = 0;
    if (!algo_config(algo, &splitk, &scheme))
        return false;
    return sh_decide_lt_algo_risky(&sh_policy, splitk, scheme, dtype);
}

/* The call's shape for sites and records: D is m x n, op(A) is m x k.
 * What of D's layout is read here (type, rows, columns, batch) the check
 * does not read again. */
static void describe_matmul(struct lt_call *cc, const struct desc_copy *dc,
                            cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t Adesc,
                            cublasLtMatrixLayout_t Ddesc)
{
    struct sh_call *c = &cc->c;
    struct layout *d = &cc->d;
    if (cc->d_known) {
        cc->have_d = true;
    } else {
        d->batch = 1;
        cc->have_d =
            layout_attr(Ddesc, CUBLASLT_MATRIX_LAYOUT_ROWS, &d->rows, sizeof d->rows) &&
            layout_attr(Ddesc, CUBLASLT_MATRIX_LAYOUT_COLS, &d->cols, sizeof d->cols) &&
            layout_attr(Ddesc, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &d->batch, sizeof d->batch);
        d->type = (uint32_t)c->ctype;
    }
    c->m = (long long)d->rows;
    c->n = (long long)d->cols;
    c->batch = d->batch;
    bool ta = held_attr(dc, desc, F_TRANSA, CUBLAS_OP_N) != CUBLAS_OP_N;
    uint64_t k = 0;
    if (cc->a_known) {
        k = ta ? cc->a.rows : cc->a.cols;
        c->atype = (int)cc->a.type;
    } else {
        layout_attr(Adesc, ta ? CUBLASLT_MATRIX_LAYOUT_ROWS : CUBLASLT_MATRIX_LAYOUT_COLS, &k,
                    sizeof k);
        layout_type(Adesc, &c->atype);
    }
    c->k = (long long)k;
}

static bool sh_hook_matmul(struct lt_call *cc, cublasLtHandle_t h, cublasLtMatmulDesc_t desc,
                           const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc,
                           const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta,
                           const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                           cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo,
                           void *workspace, size_t workspace_size, cudaStream_t stream)
{
    struct sh_call *c = &cc->c;
    struct desc_state st = desc_state(desc);
    struct desc_copy dc;
    desc_copy_of(desc, &dc);
    c->gemm = true;
    c->pointer_mode = -1;
    c->atype = c->btype = c->ctype = -1;
    cc->stream = stream;
    cc->desc = desc;
    cc->D = D;
    cc->A = A;
    cc->B = B;
    cc->C = C;
    cc->beta = beta;
    cc->Adesc = Adesc;
    cc->Bdesc = Bdesc;
    cc->Cdesc = Cdesc;
    cc->Ddesc = Ddesc;
    cc->have_d = false;
    cc->d_known = layout_known(Ddesc, &cc->d);
    cc->a_known = layout_known(Adesc, &cc->a);
    cc->b_known = layout_known(Bdesc, &cc->b);
    if (!cc->d_known)
        memset(&cc->d, 0, sizeof cc->d);
    cc->algo_how = algo ? ALGO_GIVEN : ALGO_NULL;
    if (st.rewritten) {
        c->compute = st.compute;
        c->compute_used = st.compute_used;
        cc->scale = st.scale;
        cc->scale_used = st.scale_used;
        c->action = SH_ACT_UPCAST;
    } else {
        c->compute = c->compute_used = held_attr(&dc, desc, F_COMPUTE, -1);
        cc->scale = cc->scale_used = held_attr(&dc, desc, F_SCALE, -1);
        /* Risky and not rewritten: observed, left out of the policy, or no
         * room was left to remember the descriptor. */
        struct sh_lt_decision d = sh_decide_lt_compute(&sh_policy, c->compute, cc->scale);
        c->action = d.action == SH_ACT_UPCAST ? SH_ACT_FALLBACK : d.action;
    }
    if (cc->d_known)
        c->ctype = (int)cc->d.type;
    else
        layout_type(Ddesc, &c->ctype);
    if (cc->b_known)
        c->btype = (int)cc->b.type;
    else
        layout_type(Bdesc, &c->btype);
    bool trace = sh_log_wants(SH_LEVEL_TRACE);
    if (sh_decide_tracked(c->ctype, c->compute, c->action) || trace)
        describe_matmul(cc, &dc, desc, Adesc, Ddesc);

    bool half_scalars = st.rewritten && st.scale == CUDA_R_16F && st.scale_used == CUDA_R_32F;
    if (half_scalars || trace || sh_policy.check_inputs)
        c->pointer_mode = held_attr(&dc, desc, F_POINTER_MODE, -1);

    /* split-K: an algorithm the program did not choose, or chose joining
     * 16-bit partial sums, is re-chosen under the policy's preference. */
    cublasLtMatmulAlgo_t chosen;
    struct problem problem;
    const cublasLtMatmulAlgo_t *use = algo;
    if (is16(c->ctype) && sh_decide_reduction_mask(&sh_policy, SH_LT_SCHEME_MASK) !=
                              SH_LT_SCHEME_MASK &&
        (!algo || algo_risky(algo, c->ctype))) {
        cublasLtMatrixLayout_t l[4] = { Adesc, Bdesc, Cdesc, Ddesc };
        const void *const ptr[4] = { A, B, C, D };
        if (requery(h, &dc, desc, l, ptr, workspace_size, &chosen, &problem)) {
            use = &chosen;
            cc->algo_how = ALGO_REQUERIED;
        }
    }

    if (!half_scalars && use == algo)
        return false;
    float host[2];
    if (half_scalars) {
        /* Without alpha/beta or a known pointer mode the program's own call
         * must produce the library's own error: nothing is rewritten. */
        if (!alpha || !beta || c->pointer_mode < 0)
            return false;
        if (c->pointer_mode == CUBLASLT_POINTER_MODE_HOST) {
            host[0] = sh_half_to_float(((const sh_half *)alpha)->bits);
            host[1] = sh_half_to_float(((const sh_half *)beta)->bits);
            alpha = &host[0];
            beta = &host[1];
        } else {
            void *dev;
            if (c->pointer_mode != CUBLASLT_POINTER_MODE_DEVICE ||
                !sh_driver_scalars_h2f(stream, alpha, beta, &dev)) {
                /* The descriptor already holds FP32 types: its half
                 * scalars cannot be handed over as they are. */
                sh_warn_once(&warned_device_scalars,
                             "cannot convert half alpha/beta in device memory for "
                             "cublasLtMatmul; returning CUBLAS_STATUS_NOT_SUPPORTED");
                c->action = SH_ACT_FALLBACK;
                c->status = CUBLAS_STATUS_NOT_SUPPORTED;
                return true;
            }
            alpha = dev;
            beta = (const float *)dev + 1;
        }
    }
    sh_fn_cublasLtMatmul real = (sh_fn_cublasLtMatmul)c->real;
    c->status = real(h, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, use, workspace,
                     workspace_size, stream);
    if (use == &chosen && (c->status == CUBLAS_STATUS_NOT_SUPPORTED ||
                           c->status == CUBLAS_STATUS_INVALID_VALUE ||
                           c->status == CUBLAS_STATUS_ARCH_MISMATCH)) {
        /* Refused before any work was queued (an algorithm suits one GPU
         * and descriptor, and the cache keys only part of either): the
         * program's own choice runs, as it would without the shim. */
        forget(&problem);
        cc->algo_how = ALGO_REFUSED;
        sh_warn_once(&warned_refused,
                     "cuBLASLt refused the algorithm chosen for the split-K policy (status "
                     "%d); such matmuls run with the program's own algorithm",
                     (int)c->status);
        c->status = real(h, desc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo,
                         workspace, workspace_size, stream);
    }
    return true;
}

/* ---- the check after a matmul -------------------------------------------------- */

static const struct sh_check_names lt_names = { sh_cuda_type_name, sh_cublas_compute_name };


/* A layout in the scan kernels' terms: column-major as it is, row-major
 * as its transpose (the same elements); the tiled orders are not scanned. */
static bool matrix_of(const struct layout *o, const void *p, struct sh_matrix *m)
{
    enum sh_scan_type t;
    if (!p || !sh_cuda_scan_type((int)o->type, &t) || o->batch < 1)
        return false;
    bool row = o->order == CUBLASLT_ORDER_ROW;
    if (!row && o->order != CUBLASLT_ORDER_COL)
        return false;
    *m = (struct sh_matrix){ .type = t, .base = p, .rows = row ? o->cols : o->rows,
                             .cols = row ? o->rows : o->cols, .ld = (unsigned long long)o->ld,
                             .batch = (unsigned long long)o->batch,
                             .stride = (unsigned long long)o->stride };
    if (o->batch_mode == CUBLASLT_BATCH_MODE_POINTER_ARRAY) {
        m->ptrs = (const void *const *)p;
        m->base = NULL;
        m->stride = 0;
    } else if (o->batch_mode != CUBLASLT_BATCH_MODE_STRIDED) {
        return false; /* a mode this shim does not know: not scanned */
    }
    return true;
}

static bool input_of(cublasLtMatrixLayout_t l, const struct layout *known, const void *p,
                     struct sh_matrix *m)
{
    struct layout o;
    if (known)
        return matrix_of(known, p, m);
    return layout_of(l, &o) && matrix_of(&o, p, m);
}

/* beta != 0 makes C an input, which a host beta (read in the program's
 * scale type) may rule out; one in device memory may be anything. */
static bool beta_counts(const struct lt_call *cc)
{
    switch (cc->c.pointer_mode) {
    case CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO: return false;
    case CUBLASLT_POINTER_MODE_HOST:
    case CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST:
        return !cc->beta || sh_cuda_scalar_nonzero(cc->scale, cc->beta);
    default: return true;
    }
}

/* One more input, listed unread when it cannot be described. */
static void add_input(struct sh_check_call *k, const char *name, bool described)
{
    int i = k->nin++;
    if (described)
        k->in_name[i] = name;
}

/* C, when beta lets it in: scanned when it is a matrix of its own (cuBLASLt
 * computes in place only with C == D), else listed unread, as D's memory
 * holds the result by the time any scan runs. Arrays of pointers apart may
 * still name D's members, which only the device can tell: unread too. */
static void c_input(const struct lt_call *cc, struct sh_check_call *k)
{
    struct layout o;
    add_input(k, "C", cc->C != cc->D &&
                          input_of(cc->Cdesc, layout_known(cc->Cdesc, &o) ? &o : NULL, cc->C,
                                   &k->in[k->nin]) &&
                          !k->in[k->nin].ptrs);
}

/* A vector an epilogue reads or writes at BIAS_POINTER: len elements of
 * BIAS_DATA_TYPE (-1: D's type) per batch member, BIAS_BATCH_STRIDE apart
 * (0: one vector for all). */
static bool bias_vector(const struct lt_call *cc, const struct layout *d, uint64_t len,
                        struct sh_matrix *m)
{
    const void *bias = NULL;
    int32_t type;
    int64_t stride = 0;
    enum sh_scan_type t;
    if (!desc_get(cc->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) ||
        !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof type) ||
        !sh_cuda_scan_type(type == -1 ? (int)d->type : type, &t) || !bias || len < 1)
        return false;
    if (d->batch > 1 &&
        !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &stride, sizeof stride))
        return false;
    bool batched = d->batch > 1 && stride != 0;
    *m = (struct sh_matrix){ .type = t, .base = bias, .rows = len, .cols = 1, .ld = len,
                             .batch = batched ? (unsigned long long)d->batch : 1,
                             .stride = batched ? (unsigned long long)stride : 0 };
    return true;
}

/* The GELU input matrix at EPILOGUE_AUX_POINTER: D's shape, column-major
 * with EPILOGUE_AUX_LD, of EPILOGUE_AUX_DATA_TYPE (-1: D's type), batch
 * members EPILOGUE_AUX_BATCH_STRIDE apart. cuBLASLt documents no other
 * order for it, so beside a row-major or tiled D it is not read. */
static bool aux_matrix(const struct lt_call *cc, const struct layout *d, struct sh_matrix *m)
{
    const void *aux = NULL;
    int64_t ld = 0, stride = 0;
    int32_t type;
    enum sh_scan_type t;
    if (d->order != CUBLASLT_ORDER_COL ||
        !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof aux) ||
        !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld, sizeof ld) ||
        !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &type, sizeof type) ||
        !sh_cuda_scan_type(type == -1 ? (int)d->type : type, &t) || !aux ||
        ld < (int64_t)d->rows || d->rows < 1 || d->cols < 1)
        return false;
    if (d->batch > 1 && !desc_get(cc->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE,
                                  &stride, sizeof stride))
        return false;
    *m = (struct sh_matrix){ .type = t, .base = aux, .rows = d->rows, .cols = d->cols,
                             .ld = (unsigned long long)ld,
                             .batch = (unsigned long long)d->batch,
                             .stride = (unsigned long long)stride };
    return true;
}

static bool is_gelu_aux(uint32_t e)
{
    return e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
}

static bool is_dgelu(uint32_t e)
{
    return e == CUBLASLT_EPILOGUE_DGELU || e == CUBLASLT_EPILOGUE_DGELU_BGRAD;
}

static bool is_bgrad(uint32_t e)
{
    return e == CUBLASLT_EPILOGUE_DRELU_BGRAD || e == CUBLASLT_EPILOGUE_DGELU_BGRAD ||
           e == CUBLASLT_EPILOGUE_BGRADA || e == CUBLASLT_EPILOGUE_BGRADB;
}

/* What an epilogue writes beside D, checked like D when 16-bit: a forward
 * GELU's input (AUX), kept for the backward pass, and a bias gradient, a
 * reduction over k of A (BGRADA) or B (BGRADB), or over D's columns
 * (DRELU_BGRAD, DGELU_BGRAD), which overflows FP16 on long reductions
 * even where D does not. The ReLU bit masks hold no floats. */
static void epilogue_outputs(const struct lt_call *cc, const struct layout *d, uint32_t epi,
                             const struct sh_check_call *dk)
{
    struct sh_check_call k = *dk;
    if (is_gelu_aux(epi) && aux_matrix(cc, d, &k.out) && k.out.type != SH_SCAN_F32) {
        k.out_name = "aux";
        sh_check_submit(&k);
    }
    bool b = epi == CUBLASLT_EPILOGUE_BGRADB;
    if (!is_bgrad(epi) || !bias_vector(cc, d, b ? d->cols : d->rows, &k.out) ||
        k.out.type == SH_SCAN_F32)
        return;
    k.out_name = "bias_grad";
    if (k.nin && (b || epi == CUBLASLT_EPILOGUE_BGRADA)) {
        /* The sum of one operand: only it can bring an Inf in. */
        k.in[0] = dk->in[b];
        k.in_name[0] = dk->in_name[b];
        k.nin = 1;
    }
    sh_check_submit(&k);
}

static void matmul_check(const struct lt_call *cc)
{
    const struct sh_call *c = &cc->c;
    if (!sh_check_wanted(c->ctype))
        return;
    struct sh_check_call k = { .api = lt_syms[c->api], .names = &lt_names,
                               .counts = &counts[c->api].checks, .seq = c->seq, .m = c->m,
                               .n = c->n, .k = c->k, .batch = c->batch, .atype = c->atype,
                               .btype = c->btype, .ctype = c->ctype, .compute = c->compute,
                               .compute_used = c->compute_used, .stream = cc->stream,
                               .caller = c->caller, .site = c->site };
    /* A 16-bit D (the only kind checked) is always described: the rest of
     * its layout completes it. */
    struct layout d = cc->d;
    if (cc->have_d && !cc->d_known)
        d.batch_mode = batch_mode_of(cc->Ddesc);
    if (!cc->have_d ||
        (!cc->d_known &&
         (!layout_attr(cc->Ddesc, CUBLASLT_MATRIX_LAYOUT_ORDER, &d.order, sizeof d.order) ||
          !layout_attr(cc->Ddesc, CUBLASLT_MATRIX_LAYOUT_LD, &d.ld, sizeof d.ld) ||
          !layout_attr(cc->Ddesc, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &d.stride,
                       sizeof d.stride))) ||
        !matrix_of(&d, cc->D, &k.out))
        return;
    uint32_t epi;
    if (!desc_get(cc->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi))
        epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (sh_policy.check_inputs) {
        k.nin = 2;
        if (input_of(cc->Adesc, cc->a_known ? &cc->a : NULL, cc->A, &k.in[0]))
            k.in_name[0] = "A";
        if (input_of(cc->Bdesc, cc->b_known ? &cc->b : NULL, cc->B, &k.in[1]))
            k.in_name[1] = "B";
        if (beta_counts(cc))
            c_input(cc, &k);
        /* The bias a BIAS epilogue adds; the GELU input a DGELU one reads. */
        if (epi & CUBLASLT_EPILOGUE_BIAS)
            add_input(&k, "bias", bias_vector(cc, &d, d.rows, &k.in[k.nin]));
        else if (is_dgelu(epi))
            add_input(&k, "aux", aux_matrix(cc, &d, &k.in[k.nin]));
    }
    sh_check_submit(&k);
    epilogue_outputs(cc, &d, epi, &k);
}

static void after(struct lt_call *cc, cublasStatus_t status)
{
    struct sh_call *c = &cc->c;
    if (!c->gemm)
        return;
    if (sh_site_tracked(c))
        sh_site_enter(c, lt_syms[c->api], &lt_names);
    if (status == CUBLAS_STATUS_SUCCESS)
        matmul_check(cc);
}

/* ---- the wrappers ----------------------------------------------------------- */

static cublasStatus_t sh_cublaslt_missing(int api)
{
    sh_init();
    sh_warn_once(&sh_cublaslt.warned_missing,
                 "%s called, but no real cuBLASLt is loaded (libcublasLt.so.13/.so.12); "
                 "returning CUBLAS_STATUS_NOT_INITIALIZED",
                 lt_syms[api]);
    return CUBLAS_STATUS_NOT_INITIALIZED;
}

#define SH_WRAPPER(ret, name, params, args, hook) \
    SH_INTERCEPTOR(sh_cublaslt, struct lt_call, after, ret, name, params, args, hook)
SH_CUBLASLT_INTERCEPT(SH_WRAPPER)

/* A watched entry point: the real call, made by sh_watch_<hook>. */
#define SH_WATCHER(ret, name, params, args, hook)                \
    SH_EXPORT ret name params                                    \
    {                                                            \
        sh_fn_##name real = REAL(sh_cublaslt, name);             \
        if (!real)                                               \
            return sh_cublaslt_missing(SH_API_##name);           \
        return sh_watch_##hook(real, SH_UNPAREN args);           \
    }
SH_CUBLASLT_WATCH(SH_WATCHER)

static const char *pointer_mode_name(int mode)
{
    switch (mode) {
    case CUBLASLT_POINTER_MODE_HOST: return "host";
    case CUBLASLT_POINTER_MODE_DEVICE: return "device";
    case CUBLASLT_POINTER_MODE_DEVICE_VECTOR: return "device_vector";
    case CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO: return "alpha_device_vector_beta_zero";
    case CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST: return "alpha_device_vector_beta_host";
    default: return NULL;
    }
}

static void log_call(const struct sh_call *c, int status)
{
    static const char *const algo_names[] = { "given", "null", "requeried", "refused" };
    const struct lt_call *cc = lt_of(c);
    char buf[1024];
    struct sh_json j;
    sh_json_begin(&j, buf, sizeof buf, "call");
    sh_json_str(&j, "api", lt_syms[c->api]);
    sh_json_uint(&j, "seq", c->seq);
    if (c->gemm) {
        sh_call_json_shape(&j, c, &lt_names);
    }
    if (c->gemm || cc->c.kind == LT_DESC) {
        sh_json_name(&j, "compute", sh_cublas_compute_name(c->compute), c->compute);
        sh_json_name(&j, "compute_used", sh_cublas_compute_name(c->compute_used), c->compute_used);
        sh_json_name(&j, "scale", sh_cuda_type_name(cc->scale), cc->scale);
        sh_json_name(&j, "scale_used", sh_cuda_type_name(cc->scale_used), cc->scale_used);
    }
    if (c->gemm) {
        sh_json_str(&j, "pointer_mode", pointer_mode_name(c->pointer_mode));
        sh_json_str(&j, "algo", algo_names[cc->algo_how]);
    }
    if (c->kind == LT_PREF) {
        sh_json_uint(&j, "reduction_mask", cc->mask);
        sh_json_uint(&j, "reduction_mask_used", cc->mask_used);
    }
    if (c->gemm || cc->c.kind == LT_DESC)
        sh_json_str(&j, "action", sh_action_name(c->action));
    sh_json_int(&j, "status", status);
    sh_log_write(&j);
}

static void describe(struct sh_json *j)
{
    sh_fn_cublasLtGetVersion get = REAL(sh_cublaslt, cublasLtGetVersion);
    sh_json_open(j, "cublaslt", '{');
    sh_json_str(j, "path", sh_lib_path(&sh_cublaslt));
    if (get)
        sh_json_int(j, "version", (long long)get());
    else
        sh_json_str(j, "version", NULL);
    sh_json_close(j, '}');
}
