/* Emulated libcublasLt.so.13: cublasLtMatmul.
 *
 * D = epilogue(alpha * op(A) op(B) + beta * C), run on the given stream:
 * at once, or as a graph node when that stream is capturing. The products
 * come from the emulated cuBLAS's GEMM core (gemm.c), so FP16 accumulation,
 * FP32 accumulation and the FAST input down-conversions round exactly as
 * cublasGemmEx's do; this file adds what cuBLASLt has beyond it: split-K
 * chosen by the algorithm, row-major layouts, C apart from D, and the
 * epilogues: bias, ReLU, GELU (with its input saved to or read from the aux
 * matrix) and the bias gradients. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elem.h"
#include "lt.h"

/* An operation ready to run: everything by value, since a captured one runs
 * after its caller's arguments are gone. */
struct lt_op {
    struct lt_problem p;
    struct lt_algo algo;
    const void *A, *B, *C;
    void *D;
    float alpha, beta;
    const void *alpha_dev, *beta_dev; /* pointer mode device: read at run time */
};

/* Elements a stored matrix spans. */
static int64_t span(const struct lt_mat *m)
{
    return m->row_major ? (m->rows - 1) * m->ld + m->cols : (m->cols - 1) * m->ld + m->rows;
}

static int64_t index_of(const struct lt_mat *m, int64_t i, int64_t j)
{
    return m->row_major ? i * m->ld + j : i + j * m->ld;
}

static void *xlate(const char *what, const void *dev, size_t bytes)
{
    void *h = emu_to_host_range(dev, bytes);
    if (!h)
        fprintf(stderr, "emu: cublasLtMatmul: %s = %p (%zu bytes) is not device memory\n", what,
                dev, bytes);
    return h;
}

/* Member i of a batch, as a device address: at a stride from the base, or
 * read from the device array of pointers the argument is; NULL (reported)
 * when that array is not device memory. */
static const void *member(const char *what, const void *arg, const struct lt_mat *m, int64_t i,
                          int64_t batch)
{
    if (!m->pointer_array)
        return (const char *)arg + i * m->stride * (int64_t)emu_elem_size(m->type);
    const void *const *ptrs = xlate(what, arg, (size_t)batch * sizeof(void *));
    return ptrs ? ptrs[i] : NULL;
}

/* acc = op(A) op(B) as FP32 values (m x n, column-major), by the algorithm:
 * unsplit, or k in splitk chunks whose partials are joined by its scheme.
 * A row-major operand is the column-major transpose, hence the XOR. */
static void products(const struct lt_op *op, const char *a, const char *b, float *acc,
                     float *part)
{
    const struct lt_problem *p = &op->p;
    struct emu_gemm g = { .trans_a = p->trans_a ^ p->a.row_major,
                          .trans_b = p->trans_b ^ p->b.row_major, .m = p->m, .n = p->n,
                          .k = p->k, .lda = p->a.ld, .ldb = p->b.ld, .ldc = p->m,
                          .ab_type = p->a.type, .c_type = CUDA_R_32F, .acc = p->acc,
                          .down = p->down, .alpha = 1.0f, .beta = 0.0f };
    int64_t chunks = op->algo.splitk;
    if (chunks <= 1) {
        emu_gemm_compute(&g, a, b, acc);
        return;
    }
    /* INPLACE meets the partials in the output buffer, so it rounds like
     * OUTPUT_TYPE; COMPUTE_TYPE keeps them in FP32. */
    int reduced = op->algo.scheme != CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    cudaDataType out = reduced ? p->d.type : CUDA_R_32F;
    size_t es = emu_elem_size(p->a.type), cells = (size_t)(p->m * p->n);
    int64_t start = 0;
    for (int64_t c = 0; c < chunks; c++) {
        g.k = p->k / chunks + (c < p->k % chunks);
        /* Element (i, start) of op(A) and (start, j) of op(B). */
        int64_t off_a = g.trans_a ? start : start * p->a.ld;
        int64_t off_b = g.trans_b ? start * p->b.ld : start;
        emu_gemm_compute(&g, a + off_a * (int64_t)es, b + off_b * (int64_t)es, part);
        for (size_t e = 0; e < cells; e++) {
            float v = emu_round_to(out, part[e]);
            acc[e] = c == 0 ? v : emu_round_to(out, acc[e] + v);
        }
        start += g.k;
    }
}

#define GELU_C 0.7978845608f /* sqrt(2 / pi) */
#define GELU_A 0.044715f

/* cuBLASLt's GELU, the tanh approximation, in float. Beyond |x| = 10 the
 * formula's float value is already x (tanh is 1) or -0 (tanh is -1); those
 * are returned directly so that +Inf gives +Inf and -Inf (or a cube that
 * overflows) -0, not Inf * 0 = NaN. NaN stays NaN. */
static float gelu(float x)
{
    if (x > 10.0f)
        return x;
    if (x < -10.0f)
        return -0.0f;
    return 0.5f * x * (1.0f + tanhf(GELU_C * (x + GELU_A * x * x * x)));
}

/* Its derivative, 1 and 0 beyond |x| = 10 for the same reason. */
static float gelu_grad(float x)
{
    if (x > 10.0f)
        return 1.0f;
    if (x < -10.0f)
        return 0.0f;
    float t = tanhf(GELU_C * (x + GELU_A * x * x * x));
    return 0.5f * (1.0f + t) +
           0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
}

/* One batch member's operands as host addresses. */
struct lt_host {
    const void *a, *b, *c;
    void *d, *bias, *aux;
};

/* D = epilogue(alpha * acc + beta * C + bias): in FP16 with every
 * operation rounded for FP16 compute (as cublasGemmEx does), else in FP32
 * and rounded once to the D type. GELU_AUX* saves the GELU input in aux,
 * DGELU* reads it from there; DGELU_BGRAD sums each row of D (before its
 * rounding to the D type) into sums, then stores them as the bias gradient. */
static void finish(const struct lt_op *op, const float *acc, const struct lt_host *h,
                   float *sums)
{
    const struct lt_problem *p = &op->p;
    int half = p->acc == EMU_ACC_16F, grad = p->bias_use == LT_BGRAD_D;
    const void *C = h->c, *bias = p->bias_use == LT_BIAS_IN ? h->bias : NULL;
    for (int64_t i = 0; grad && i < p->m; i++)
        sums[i] = 0.0f;
    for (int64_t j = 0; j < p->n; j++) {
        for (int64_t i = 0; i < p->m; i++) {
            float c = op->beta != 0.0f ? emu_load(C, p->c.type, index_of(&p->c, i, j)) : 0.0f;
            float out;
            if (half) {
                out = sh_round_half(op->alpha * acc[i + j * p->m]);
                if (op->beta != 0.0f)
                    out = sh_round_half(out + sh_round_half(op->beta * c));
                if (bias)
                    out = sh_round_half(out + emu_load(bias, p->bias_type, i));
            } else {
                out = op->alpha * acc[i + j * p->m];
                if (op->beta != 0.0f)
                    out += op->beta * c;
                if (bias)
                    out += emu_load(bias, p->bias_type, i);
            }
            int64_t x = i + j * p->aux_ld;
            switch (p->act) {
            case LT_ACT_RELU:
                /* As fmaxf(out, 0) on the GPU: NaN becomes 0. */
                if (!(out > 0.0f))
                    out = 0.0f;
                break;
            case LT_ACT_GELU:
                if (p->aux_use == LT_AUX_OUT)
                    emu_store(h->aux, p->aux_type, x, out);
                out = gelu(out);
                if (half)
                    out = sh_round_half(out);
                break;
            case LT_ACT_DGELU:
                out *= gelu_grad(emu_load(h->aux, p->aux_type, x));
                if (half)
                    out = sh_round_half(out);
                break;
            case LT_ACT_NONE:
                break;
            }
            if (grad)
                sums[i] = half ? sh_round_half(sums[i] + out) : sums[i] + out;
            emu_store(h->d, p->d.type, index_of(&p->d, i, j), out);
        }
    }
    for (int64_t i = 0; grad && i < p->m; i++)
        emu_store(h->bias, p->bias_type, i, sums[i]);
}

/* BGRADA's row sums of op(A) (m x k) or BGRADB's column sums of op(B)
 * (k x n), in the order of k: FP32, or FP16 with every add rounded for FP16
 * compute. op() as products() reads it: the descriptor's transpose of the
 * stored (logical) matrix. */
static void operand_sums(const struct lt_problem *p, const struct lt_host *h)
{
    int rows = p->bias_use == LT_BGRAD_A, half = p->acc == EMU_ACC_16F;
    const struct lt_mat *m = rows ? &p->a : &p->b;
    const void *src = rows ? h->a : h->b;
    int trans = rows ? p->trans_a : p->trans_b;
    for (int64_t v = 0; v < (rows ? p->m : p->n); v++) {
        float s = 0.0f;
        for (int64_t l = 0; l < p->k; l++) {
            /* op(A)(v, l) or op(B)(l, v). */
            int64_t r = rows ? v : l, c = rows ? l : v;
            float e = emu_load(src, m->type, trans ? index_of(m, c, r) : index_of(m, r, c));
            s = half ? sh_round_half(s + e) : s + e;
        }
        emu_store(h->bias, p->bias_type, v, s);
    }
}

static float read_scalar(const void *p, int half)
{
    if (half)
        return sh_half_to_float(((const sh_half *)p)->bits);
    return *(const float *)p;
}

static cublasStatus_t lt_run(const struct lt_op *arg)
{
    struct lt_op op = *arg;
    const struct lt_problem *p = &op.p;
    int half_scalars = p->scale_type == CUDA_R_16F;
    if (op.alpha_dev) {
        size_t sz = half_scalars ? 2 : 4;
        const void *a = xlate("alpha", op.alpha_dev, sz), *b = xlate("beta", op.beta_dev, sz);
        if (!a || !b)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        op.alpha = read_scalar(a, half_scalars);
        op.beta = read_scalar(b, half_scalars);
    }
    int reads_ab = op.alpha != 0.0f && p->k > 0, reads_c = op.beta != 0.0f;
    /* BGRADA and BGRADB read their operand even when alpha is 0. */
    int reads_a = reads_ab || (p->bias_use == LT_BGRAD_A && p->k > 0);
    int reads_b = reads_ab || (p->bias_use == LT_BGRAD_B && p->k > 0);
    size_t bytes_a = reads_a ? (size_t)span(&p->a) * emu_elem_size(p->a.type) : 0;
    size_t bytes_b = reads_b ? (size_t)span(&p->b) * emu_elem_size(p->b.type) : 0;
    size_t bytes_c = (size_t)span(&p->c) * emu_elem_size(p->c.type);
    size_t bytes_d = (size_t)span(&p->d) * emu_elem_size(p->d.type);

    /* Translate every operand before computing any, so a bad pointer fails
     * the call without a partial result. A member's bias (or bias
     * gradient) vector lies BIAS_BATCH_STRIDE elements after the one
     * before, its aux matrix AUX_BATCH_STRIDE elements after. */
    int has_bias = p->bias_use != LT_BIAS_NONE, has_aux = p->aux_use != LT_AUX_NONE;
    size_t bias_es = emu_elem_size(p->bias_type), aux_es = emu_elem_size(p->aux_type);
    size_t bias_len = (size_t)(p->bias_use == LT_BGRAD_B ? p->n : p->m);
    size_t bytes_aux = (size_t)((p->n - 1) * p->aux_ld + p->m) * aux_es;
    struct lt_host *host = calloc((size_t)p->batch, sizeof *host);
    if (!host)
        return CUBLAS_STATUS_ALLOC_FAILED;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    for (int64_t i = 0; i < p->batch && !st; i++) {
        struct lt_host *h = host + i;
        if (has_bias) {
            const char *b = (const char *)p->bias + (size_t)(i * p->bias_stride) * bias_es;
            h->bias = xlate(p->bias_use == LT_BIAS_IN ? "bias" : "bias gradient", b,
                            bias_len * bias_es);
            if (!h->bias)
                st = CUBLAS_STATUS_EXECUTION_FAILED;
        }
        if (has_aux) {
            const char *x = (const char *)p->aux + (size_t)(i * p->aux_stride) * aux_es;
            h->aux = xlate("epilogue aux", x, bytes_aux);
            if (!h->aux)
                st = CUBLAS_STATUS_EXECUTION_FAILED;
        }
        if (reads_a)
            h->a = xlate("A", member("A array", op.A, &p->a, i, p->batch), bytes_a);
        if (reads_b)
            h->b = xlate("B", member("B array", op.B, &p->b, i, p->batch), bytes_b);
        if (reads_c)
            h->c = xlate("C", member("C array", op.C, &p->c, i, p->batch), bytes_c);
        h->d = xlate("D", member("D array", op.D, &p->d, i, p->batch), bytes_d);
        if (!h->d || (reads_c && !h->c) || (reads_a && !h->a) || (reads_b && !h->b))
            st = CUBLAS_STATUS_EXECUTION_FAILED;
    }
    float *acc = NULL, *part = NULL, *sums = NULL;
    size_t cells = (size_t)(p->m * p->n);
    if (!st && !emu_null_compute()) {
        acc = calloc(cells, sizeof *acc);
        part = op.algo.splitk > 1 ? malloc(cells * sizeof *part) : NULL;
        sums = p->bias_use == LT_BGRAD_D ? malloc((size_t)p->m * sizeof *sums) : NULL;
        if (!acc || (op.algo.splitk > 1 && !part) || (p->bias_use == LT_BGRAD_D && !sums))
            st = CUBLAS_STATUS_ALLOC_FAILED;
        for (int64_t i = 0; i < p->batch && !st; i++) {
            const struct lt_host *h = host + i;
            if (reads_ab)
                products(&op, h->a, h->b, acc, part);
            finish(&op, acc, h, sums);
            if (p->bias_use == LT_BGRAD_A || p->bias_use == LT_BGRAD_B)
                operand_sums(p, h);
        }
    }
    free(acc);
    free(part);
    free(sums);
    free(host);
    return st;
}

static CUresult lt_node(void *arg)
{
    return lt_run(arg) ? CUDA_ERROR_LAUNCH_FAILED : CUDA_SUCCESS;
}

/* EMU_LT_REFUSE_GIVEN_SPLITK=1, a fault to inject: a matmul handed an
 * algorithm that splits k refuses it with CUBLAS_STATUS_NOT_SUPPORTED, as
 * a real one refuses an algorithm its GPU cannot run (one the heuristic
 * chose for another GPU, or for a descriptor with other attributes). Its
 * own choice, for algo NULL, is not refused. Read once. */
static int refuse_given_splitk(void)
{
    static atomic_int v = -1;
    int r = atomic_load_explicit(&v, memory_order_relaxed);
    if (r < 0) {
        const char *e = getenv("EMU_LT_REFUSE_GIVEN_SPLITK");
        atomic_store(&v, r = e && e[0] && strcmp(e, "0") != 0);
    }
    return r;
}

static const char *compute_name(int c)
{
    switch (c) {
    case CUBLAS_COMPUTE_16F: return "COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "COMPUTE_32F_FAST_TF32";
    default: return "unsupported";
    }
}

static const char *type_name(cudaDataType t)
{
    switch (t) {
    case CUDA_R_16F: return "16F";
    case CUDA_R_16BF: return "16BF";
    case CUDA_R_32F: return "32F";
    default: return "other";
    }
}

/* No algorithm means the heuristic's first choice under the default
 * preference but for the alignments, which are the pointers' own, so a
 * large-k 16-bit output may be reduced in reduced precision, as real
 * cuBLASLt may do. The workspace is never needed. */
EMU_API cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle,
    cublasLtMatmulDesc_t computeDesc, const void *alpha, const void *A,
    cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
    const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
    cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
    size_t workspaceSizeInBytes, cudaStream_t stream)
{
    (void)workspace;
    (void)workspaceSizeInBytes;
    if (!lt_handle_valid(lightHandle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    struct lt_op op = { .A = A, .B = B, .C = C, .D = D };
    struct lt_problem *p = &op.p;
    cublasStatus_t st = lt_problem_make(computeDesc, Adesc, Bdesc, Cdesc, Ddesc, p);
    if (st)
        return st;
    /* The matrices whose alignment counts: not an array of pointers (its
     * members' alignment, in device memory, is not checked here). */
    const void *const ptr[4] = { p->a.pointer_array ? NULL : A, p->b.pointer_array ? NULL : B,
                                 p->c.pointer_array ? NULL : C, p->d.pointer_array ? NULL : D };
    if (algo) {
        if (!lt_algo_load(algo, &op.algo))
            return CUBLAS_STATUS_INVALID_VALUE;
        if (op.algo.splitk > 1 && refuse_given_splitk())
            return CUBLAS_STATUS_NOT_SUPPORTED;
    } else {
        /* The library's own choice, for the pointers it was given. */
        struct lt_pref pref;
        struct lt_algo choice[2];
        lt_pref_defaults(&pref);
        pref.align_a = lt_alignment(ptr[0]);
        pref.align_b = lt_alignment(ptr[1]);
        pref.align_c = lt_alignment(ptr[2]);
        pref.align_d = lt_alignment(ptr[3]);
        lt_heuristic(p, &pref, choice);
        op.algo = choice[0];
    }
    if ((st = lt_algo_fits(p, &op.algo, ptr)))
        return st;
    if (emu_trace())
        fprintf(stderr,
                "emu: cublasLtMatmul m=%lld n=%lld k=%lld compute=%s A=%s D=%s batch=%lld "
                "splitk=%d scheme=%u epilogue=%u pointer_mode=%s algo=%s\n",
                (long long)p->m, (long long)p->n, (long long)p->k, compute_name(p->compute),
                type_name(p->a.type), type_name(p->d.type), (long long)p->batch,
                (int)op.algo.splitk, (unsigned)op.algo.scheme, (unsigned)p->epilogue,
                p->pointer_mode == CUBLASLT_POINTER_MODE_DEVICE ? "device" : "host",
                algo ? "given" : "heuristic");

    /* In place, C and D must be laid out alike. */
    if (C == D && (p->c.ld != p->d.ld || p->c.stride != p->d.stride))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (p->bias_use != LT_BIAS_NONE && !p->bias)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (p->aux_use != LT_AUX_NONE && (!p->aux || p->aux_ld < p->m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (p->m == 0 || p->n == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (!alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (p->pointer_mode == CUBLASLT_POINTER_MODE_DEVICE) {
        op.alpha_dev = alpha;
        op.beta_dev = beta;
    } else {
        op.alpha = read_scalar(alpha, p->scale_type == CUDA_R_16F);
        op.beta = read_scalar(beta, p->scale_type == CUDA_R_16F);
    }

    int recorded;
    if (emu_lib_record(stream, lt_node, &op, sizeof op, &recorded))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return recorded ? CUBLAS_STATUS_SUCCESS : lt_run(&op);
}
