/* print.c — the IR text form (docs/ir.md), exactly what parse.c reads.
 *
 * Contract: print(parse(print(m))) == print(m) byte for byte.  Results are
 * numbered by op index; attributes come out in their stored (sorted)
 * order; floats always carry a '.', an exponent or inf/nan so that they
 * re-parse as floats, with 17 significant digits so that they re-parse to
 * the same double.  Names that are not plain identifiers are quoted.
 */
#include "ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_ident(const char *s) {
  if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return false;
  for (s++; *s; s++)
    if (!(*s == '_' || *s == '.' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*p < 0x20 || *p >= 0x7f) fprintf(out, "\\x%02x", *p);
      else fputc(*p, out);
    }
  }
  fputc('"', out);
}

/* A name after '@': bare when it is an identifier, quoted otherwise. */
static void print_name(FILE *out, const char *s) {
  if (is_ident(s)) fputs(s, out);
  else print_string(out, s);
}

/* %.17g, spelling non-finite values the way the parser reads them. */
static void print_number(FILE *out, double v, bool force_float) {
  if (isnan(v)) {
    fputs("nan", out);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? "-inf" : "inf", out);
    return;
  }
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", v);
  fputs(buf, out);
  if (force_float && !strpbrk(buf, ".e")) fputs(".0", out);
}

static void print_type(FILE *out, const fab_type *t) {
  fprintf(out, "%s[", fab_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && i < FAB_MAX_RANK; i++)
    fprintf(out, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  fputc(']', out);
}

static void print_attr(FILE *out, const fab_attr *a) {
  print_name(out, a->key);
  fputs(" = ", out);
  switch (a->kind) {
  case FAB_ATTR_INT: fprintf(out, "%lld", (long long)a->i); break;
  case FAB_ATTR_FLOAT: print_number(out, a->f, true); break;
  case FAB_ATTR_STR: print_string(out, a->s); break;
  case FAB_ATTR_INTS:
    fputc('[', out);
    for (int i = 0; i < a->nints; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)a->ints[i]);
    fputc(']', out);
    break;
  }
}

void fab_print_op(FILE *out, const fab_func *f, int index, unsigned flags) {
  const fab_op *op = &f->ops[index];
  bool valid = (unsigned)op->code < FAB_OP_COUNT;
  bool noresult = valid && (fab_opinfos[op->code].flags & FAB_OPF_NORESULT);
  if (!noresult) fprintf(out, "%%%d = ", index);
  fputs(valid ? fab_opinfos[op->code].name : "<invalid>", out);
  for (int i = 0; i < op->noperands; i++) fprintf(out, "%s%%%d", i ? ", " : " ", op->operands[i]);
  if (op->nattrs) {
    fputs(" {", out);
    for (int i = 0; i < op->nattrs; i++) {
      if (i) fputs(", ", out);
      print_attr(out, &op->attrs[i]);
    }
    fputc('}', out);
  }
  if (!noresult) {
    fputs(" : ", out);
    print_type(out, &op->type);
  }
  if ((flags & FAB_PRINT_LOCS) && op->loc.file) {
    fputs(" loc(", out);
    print_string(out, op->loc.file);
    fprintf(out, ":%d:%d)", op->loc.line, op->loc.col);
  }
  fputc('\n', out);
}

static void print_init(FILE *out, const fab_init *init) {
  switch (init->kind) {
  case FAB_INIT_ZEROS: fputs("zeros", out); return;
  case FAB_INIT_ONES: fputs("ones", out); return;
  case FAB_INIT_UNIFORM: fputs("uniform(", out); break;
  case FAB_INIT_NORMAL: fputs("normal(", out); break;
  }
  print_number(out, init->a, false);
  fputs(", ", out);
  print_number(out, init->b, false);
  fputc(')', out);
}

void fab_print_module(FILE *out, const fab_module *m, unsigned flags) {
  fputs("module @", out);
  print_name(out, m->name);
  fputc('\n', out);
  if (m->nparams) fputc('\n', out);
  for (int i = 0; i < m->nparams; i++) {
    const fab_param *p = &m->params[i];
    fputs("param @", out);
    print_string(out, p->name);
    fputs(" : ", out);
    print_type(out, &p->type);
    fputs(" = ", out);
    print_init(out, &p->init);
    fputc('\n', out);
  }
  for (int k = 0; k < m->nfuncs; k++) {
    const fab_func *f = m->funcs[k];
    fputs("\nfunc @", out);
    print_name(out, f->name);
    fputs(" {\n", out);
    for (int i = 0; i < f->nops; i++) {
      fputs("  ", out);
      fab_print_op(out, f, i, flags);
    }
    fputs("}\n", out);
  }
}

char *fab_print_module_str(const fab_module *m, unsigned flags) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (!out) return NULL;
  fab_print_module(out, m, flags);
  if (fclose(out) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}
