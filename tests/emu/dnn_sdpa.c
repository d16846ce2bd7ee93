/* Emulated libcudnn.so.9: the scaled dot-product attention forward
 * operation (CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR), computed as
 * NVIDIA's fused attention computes it: in FLOAT throughout, each output
 * element rounded once to its type, so an FP16 output overflows only where
 * its exact value does, whatever the intermediates.
 *
 * For each query row i of head h: s_j = scale * q_i . k_j, P_j =
 * softmax(s)_j (max-subtracted), O_i = sum_j P_j v_j, and STATS_i = max +
 * log(sum_j exp(s_j - max)), the row's logsumexp. Query heads share K and
 * V heads in groups (h / h_k queries per K head). There is no mask. */
#include <math.h>
#include <stdlib.h>

#include "dnn.h"

/* ---- shapes ----------------------------------------------------------------------- */

static int dims_are(const struct dnn_tensor *t, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    return t->nd == 4 && t->dim[0] == d0 && t->dim[1] == d1 && t->dim[2] == d2 && t->dim[3] == d3;
}

int bk_sdpa_shape_ok(const struct bk_op *op)
{
    const struct bk_tensor *t = op->t;
    const struct dnn_tensor *q = &t[BK_Q].t, *k = &t[BK_K].t, *v = &t[BK_V].t;
    if (q->nd != 4 || k->nd != 4 || v->nd != 4)
        return 0;
    int64_t b = q->dim[0], h = q->dim[1], sq = q->dim[2], skv = k->dim[2];
    return k->dim[0] == b && k->dim[3] == q->dim[3] && h % k->dim[1] == 0 && v->dim[0] == b &&
           v->dim[2] == skv && h % v->dim[1] == 0 && dims_are(&t[BK_O].t, b, h, sq, v->dim[3]) &&
           (!t[BK_STATS].set || dims_are(&t[BK_STATS].t, b, h, sq, 1)) &&
           (!t[BK_SCALE].set || dnn_elems(&t[BK_SCALE].t) == 1);
}

/* ---- compute ---------------------------------------------------------------------- */

/* One attention being computed: its operation, the host pointers of its
 * slots, its sizes, and FLOAT scratch for the row of logits / P. */
struct sdpa {
    const struct bk_op *op;
    void *const *p;
    int64_t b, h, sq, skv, d, dv;
    int64_t qk, qv; /* query heads per K head, per V head */
    float scale;
    float *row;
};

/* Offset of element [i0, i1, i2, i3] of slot s's tensor. */
static int64_t at(const struct sdpa *a, int s, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    const int64_t idx[4] = { i0, i1, i2, i3 };
    return dnn_offset(&a->op->t[s].t, idx);
}

static float ld(const struct sdpa *a, int s, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    return dnn_load(a->p[s], a->op->t[s].t.type, at(a, s, i0, i1, i2, i3));
}

static void st(const struct sdpa *a, int s, int64_t i0, int64_t i1, int64_t i2, int64_t i3,
               float v)
{
    dnn_store(a->p[s], a->op->t[s].t.type, at(a, s, i0, i1, i2, i3), v);
}

/* Row i of head (bi, hi): a->row[j] = scale * q_i . k_j; returns their
 * maximum (NaN logits are passed over here and poison the row's sum). */
static float logits(const struct sdpa *a, int64_t bi, int64_t hi, int64_t i)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < a->skv; j++) {
        float acc = 0.0f;
        for (int64_t c = 0; c < a->d; c++)
            acc += ld(a, BK_Q, bi, hi, i, c) * ld(a, BK_K, bi, hi / a->qk, j, c);
        a->row[j] = a->scale * acc;
        m = a->row[j] > m ? a->row[j] : m;
    }
    return m;
}

/* sum_j P_j * V[j][c] of head (bi, hi), P in a->row. */
static float mix_v(const struct sdpa *a, int64_t bi, int64_t hi, int64_t c)
{
    float acc = 0.0f;
    for (int64_t j = 0; j < a->skv; j++)
        acc += a->row[j] * ld(a, BK_V, bi, hi / a->qv, j, c);
    return acc;
}

static void fwd_row(const struct sdpa *a, int64_t bi, int64_t hi, int64_t i)
{
    float m = logits(a, bi, hi, i), l = 0.0f;
    for (int64_t j = 0; j < a->skv; j++) {
        a->row[j] = expf(a->row[j] - m);
        l += a->row[j];
    }
    for (int64_t j = 0; j < a->skv; j++)
        a->row[j] /= l;
    for (int64_t c = 0; c < a->dv; c++)
        st(a, BK_O, bi, hi, i, c, mix_v(a, bi, hi, c));
    if (a->op->t[BK_STATS].set)
        st(a, BK_STATS, bi, hi, i, 0, m + logf(l));
}

/* The scale tensor's one element, 1 without one. */
static float scale_of(const struct bk_op *op, void *const *p)
{
    const struct bk_tensor *t = &op->t[BK_SCALE];
    return t->set ? dnn_load(p[BK_SCALE], t->t.type, 0) : 1.0f;
}

int bk_sdpa_compute(const struct bk_op *op, void *const *p)
{
    const int64_t *q = op->t[BK_Q].t.dim;
    struct sdpa a = { .op = op, .p = p, .b = q[0], .h = q[1], .sq = q[2],
                      .skv = op->t[BK_K].t.dim[2], .d = q[3], .dv = op->t[BK_V].t.dim[3],
                      .qk = q[1] / op->t[BK_K].t.dim[1], .qv = q[1] / op->t[BK_V].t.dim[1],
                      .scale = scale_of(op, p) };
    if (!(a.row = malloc((size_t)a.skv * sizeof *a.row)))
        return 0;
    for (int64_t bi = 0; bi < a.b; bi++)
        for (int64_t hi = 0; hi < a.h; hi++)
            for (int64_t i = 0; i < a.sq; i++)
                fwd_row(&a, bi, hi, i);
    free(a.row);
    return 1;
}
