/* train.h — differentiation and training over the high-level IR.
 *
 * Three layers, each usable on its own:
 *
 *   fab_ad      reverse-mode differentiation of a module's entry function.
 *               A compiled program (fab_ad) holds the parameters in double
 *               and per-op configuration (masks, value overrides); a tape
 *               (fab_ad_tape) is one thread's workspace: every op's value
 *               and gradient for ONE sample (the model's declared input
 *               shapes) plus that thread's parameter-gradient accumulators.
 *               Everything is double precision: gradient checks and synflow
 *               need it, and the models trained here are small.
 *   tasks       deterministic generated sequence-classification data sets
 *               (ListOps, parity, majority) and user data from files.
 *   training    cross-entropy, Adam/AdamW, seeded data order, minibatches
 *               split over pthreads, held-out accuracy, progress lines.
 *
 * Models: the entry function takes one i32 token input [seq] (or any f32
 * inputs, for the op-level API) and produces logits [classes] as output 0.
 * Weights enter and leave as fab_tensor_sets in the module's state_dict
 * layout (F32), so a model trained here runs on every backend.
 *
 * Errors go to the fab_diag; nothing here exits.
 */
#ifndef FAB_TRAIN_H
#define FAB_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fab_tensor.h"
#include "ir.h"

/* ======================================================================
 * Reverse-mode differentiation
 * ==================================================================== */

typedef struct fab_ad fab_ad;
typedef struct fab_ad_tape fab_ad_tape;

/* Compiles the entry function of `m` (which must outlive the program).
 * Every op must be one fab_ad_supports() accepts, with types set (as the
 * front end and fab_infer_op leave them).  Parameters start at zero: load
 * them with fab_ad_load_weights. */
fab_ad *fab_ad_new(const fab_module *m, fab_diag *d);
void fab_ad_free(fab_ad *ad);
bool fab_ad_supports(int opcode);

const fab_module *fab_ad_module(const fab_ad *ad);
const fab_func *fab_ad_func(const fab_ad *ad);

/* Parameters, in module order (m->params[p]). */
int fab_ad_nparams(const fab_ad *ad);
double *fab_ad_param(fab_ad *ad, int p);
int64_t fab_ad_param_numel(const fab_ad *ad, int p);
/* Copies every parameter from `w` (F32/F64 tensors named as the module's
 * parameters, shapes checked; missing ones are errors). */
bool fab_ad_load_weights(fab_ad *ad, const fab_tensor_set *w, fab_diag *d);
/* Initialises every parameter from the module's fab_init distributions
 * with a seeded RNG (fab_bind_init_weights: the interpreter's draws). */
bool fab_ad_init_params(fab_ad *ad, uint64_t seed, fab_diag *d);
/* Writes every parameter as an F32 tensor into `w` (replacing same-named
 * tensors). */
bool fab_ad_store_weights(const fab_ad *ad, fab_tensor_set *w, fab_diag *d);

/* Entry inputs by their `index` attribute, and outputs likewise. */
int fab_ad_ninputs(const fab_ad *ad);
int fab_ad_noutputs(const fab_ad *ad);
int fab_ad_input_op(const fab_ad *ad, int k);  /* op defining input k */
int fab_ad_output_op(const fab_ad *ad, int k); /* op whose value output k is */
int64_t fab_ad_numel(const fab_ad *ad, int op);

/* Masking (Zero-Cost-PT, supernets): a masked op's value is zero and no
 * gradient flows through it; ops that then no longer reach an output are
 * dead: not executed, and proxies ignore their weights and units. */
void fab_ad_set_mask(fab_ad *ad, int op, bool masked);
bool fab_ad_masked(const fab_ad *ad, int op);
bool fab_ad_live(const fab_ad *ad, int op);
void fab_ad_clear_masks(fab_ad *ad);
/* Value override: the op's value is taken from `vals` (numel values, kept
 * by pointer, NULL to clear) instead of being computed, and no gradient
 * flows to its operands (synflow feeds the embedding output this way). */
void fab_ad_set_override(fab_ad *ad, int op, const double *vals);

fab_ad_tape *fab_ad_tape_new(const fab_ad *ad);
void fab_ad_tape_free(fab_ad_tape *t);

/* Runs the forward pass for one sample.  inputs[k] holds input k's values
 * (token ids as doubles).  Afterwards every value gradient is zero. */
bool fab_ad_forward(fab_ad_tape *t, const double *const *inputs, fab_diag *d);
/* The value of op `op` after forward (for weights: the parameter). */
const double *fab_ad_value(const fab_ad_tape *t, int op);
/* The gradient buffer of op `op`: seed output gradients here (e.g.
 * fab_ad_grad(t, fab_ad_output_op(ad, 0))) before fab_ad_backward; after
 * it, every live op's buffer holds d(seed . outputs)/d(value).  NULL for
 * integer values. */
double *fab_ad_grad(fab_ad_tape *t, int op);
/* Propagates the seeded gradients back and ADDS the parameter gradients
 * into the tape's accumulators. */
void fab_ad_backward(fab_ad_tape *t);
double *fab_ad_param_grad(fab_ad_tape *t, int p);
void fab_ad_zero_param_grads(fab_ad_tape *t);

/* ======================================================================
 * Data: generated tasks and user files
 * ==================================================================== */

typedef struct fab_dataset {
  int64_t n, seq;   /* n samples of seq tokens */
  int32_t *x;       /* [n, seq] token ids (malloc'd) */
  int32_t *y;       /* [n] labels (malloc'd) */
  int vocab, classes;
} fab_dataset;

typedef enum {
  FAB_TASK_LISTOPS,  /* nested MAX/MIN/MED/SM over digits, label 0-9 */
  FAB_TASK_PARITY,   /* bits; label = parity of the number of ones */
  FAB_TASK_MAJORITY, /* tokens 1..k; label = the most frequent one - 1 */
  FAB_TASK_COUNT
} fab_task_kind;

const char *fab_task_name(fab_task_kind k);
int fab_task_lookup(const char *name); /* -1 if unknown */

typedef struct fab_task_options {
  fab_task_kind kind;
  int64_t n;       /* samples */
  int64_t seq;     /* tokens per sample (padded with 0) */
  uint64_t seed;
  int max_depth;   /* ListOps: nesting depth (default 3) */
  int max_args;    /* ListOps: operands per operator (default 5) */
  int symbols;     /* majority: distinct symbols (default 4) */
} fab_task_options;

/* Vocabulary and class count of a task (for sizing a model). */
void fab_task_shape(fab_task_kind k, const fab_task_options *o, int *vocab, int *classes);
/* Generates a data set; the same options give the same bytes. */
bool fab_task_generate(const fab_task_options *o, fab_dataset *out, fab_diag *d);
/* ListOps token ids: 0 pad, 1..10 digits 0-9, 11..14 "[MAX" "[MIN" "[MED"
 * "[SM", 15 "]". */
enum { FAB_LISTOPS_VOCAB = 16 };
/* Evaluates a ListOps token sequence (for tests); -1 if malformed. */
int fab_listops_eval(const int32_t *tokens, int64_t len);

/* Reads `x` i32 [N, seq] and `y` i32 [N]: from one safetensors file
 * holding both, or from a path that names x.npy with a y.npy beside it
 * (or a folder holding x.npy and y.npy).  I64 is converted. */
bool fab_dataset_load(const char *path, fab_dataset *out, fab_diag *d);
void fab_dataset_free(fab_dataset *ds);

/* ======================================================================
 * Training
 * ==================================================================== */

/* Softmax cross-entropy of one row of logits against `label`; writes
 * d loss / d logits * gscale into grad (if not NULL). */
double fab_cross_entropy(const double *logits, int classes, int label, double gscale,
                         double *grad);

typedef struct fab_adamw {
  double lr, beta1, beta2, eps, weight_decay; /* weight_decay 0: Adam */
  int64_t step;
  double **m, **v; /* first / second moments per parameter */
  int nparams;
} fab_adamw;

/* Fills defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 0.01) and
 * allocates the moments for `ad`'s parameters. */
bool fab_adamw_init(fab_adamw *o, const fab_ad *ad, fab_diag *d);
/* One decoupled-weight-decay Adam step (Loshchilov & Hutter), as
 * torch.optim.AdamW: p -= lr*wd*p; p -= lr * mhat / (sqrt(vhat) + eps). */
void fab_adamw_step(fab_adamw *o, fab_ad *ad, double *const *grads, double lr);
void fab_adamw_free(fab_adamw *o);

typedef struct fab_train_progress {
  int64_t step, steps;
  double loss;        /* mean training loss over the last report window */
  double examples_per_s;
  double elapsed_s, eta_s;
  double eval_acc;    /* < 0 when not evaluated at this report */
  bool final;
} fab_train_progress;

typedef void (*fab_train_progress_fn)(const fab_train_progress *p, void *user);
/* The standard progress line on stderr: "\r"-updated on a terminal,
 * one plain line per report otherwise. */
void fab_train_progress_stderr(const fab_train_progress *p, void *user);

typedef struct fab_train_options {
  int64_t steps;        /* optimiser steps (default 100) */
  int batch;            /* samples per step (default 32) */
  double lr;            /* peak learning rate (default 1e-3) */
  double weight_decay;  /* AdamW (default 0.01; 0 = Adam) */
  double beta1, beta2, eps;
  int warmup;           /* linear warm-up steps, then constant (default 0) */
  double clip;          /* global gradient-norm clip; 0 = none (default 1) */
  uint64_t seed;        /* data order (and init if no weights) */
  int threads;          /* default 1 */
  int report_every;     /* steps between progress reports (default 10) */
  fab_train_progress_fn progress; /* NULL: silent */
  void *progress_user;
} fab_train_options;

void fab_train_options_default(fab_train_options *o);

typedef struct fab_train_result {
  double final_loss;      /* mean loss over the last report window */
  double examples_per_s;  /* forward+backward throughput */
  double seconds;
  int64_t examples;
} fab_train_result;

/* Trains `ad`'s parameters in place on `train` (one epoch = a seeded
 * permutation; epochs repeat with new permutations). */
bool fab_train_ad(fab_ad *ad, const fab_dataset *train, const fab_train_options *o,
                  fab_train_result *res, fab_diag *d);

/* Accuracy (argmax of output 0) and mean loss over a data set. */
bool fab_eval_ad(const fab_ad *ad, const fab_dataset *ds, int threads, double *acc,
                 double *loss, fab_diag *d);

/* Convenience for the driver: weights from `weights` (missing parameters
 * initialised from the module's fab_init with `o->seed`), trained, then
 * written back into `weights` (all parameters, F32). */
bool fab_train_module(const fab_module *m, fab_tensor_set *weights, const fab_dataset *train,
                      const fab_train_options *o, fab_train_result *res, fab_diag *d);
bool fab_eval_module(const fab_module *m, const fab_tensor_set *weights, const fab_dataset *ds,
                     int threads, double *acc, double *loss, fab_diag *d);


#endif /* FAB_TRAIN_H */
