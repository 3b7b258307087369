/* load.c — the front end's entry points: reading files, resolving
 * `import`s (relative to the importing file, then the include dirs, then
 * fabc's data folder with the block library: fab_datadir.h), and
 * splicing every file's declarations into one program before elaboration.
 * A file imported twice is read once; a file that imports itself, directly
 * or not, is an import cycle. */
#include "elab.h"
#include "fab_alloc.h"
#include "fab_datadir.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMPORT_DEPTH 32
#define MAX_FILE_SIZE (64 << 20)

typedef struct loader {
  fab_arena *ast;
  fab_module *m;
  fab_diag *d;
  const fab_frontend_options *opt;
  ast_list *decls;  /* the spliced program */
  ast_list *done;   /* canonical paths of loaded files */
  const char *stack_canon[MAX_IMPORT_DEPTH], *stack_name[MAX_IMPORT_DEPTH];
  int depth;
  bool syntax_errors;
  const char *data_dir; /* fabc's data folder: NULL until looked up, "" if none */
} loader;

static const fab_loc noloc = {0};

/* Reads a whole file; NULL (with errno set) on failure. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  errno = 0;
  size_t cap = 4096, n = 0;
  char *buf = fab_malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap >= MAX_FILE_SIZE) {
      free(buf);
      buf = NULL;
      errno = EFBIG;
      break;
    }
    char *nb = fab_realloc(buf, cap *= 2);
    if (!nb) free(buf);
    buf = nb;
  }
  if (buf && ferror(f)) {
    int err = errno ? errno : EIO; /* EISDIR for a folder */
    free(buf);
    buf = NULL;
    errno = err;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Reports the first byte that is not part of valid UTF-8; false if any. */
static bool check_utf8(loader *ld, const char *file, const char *text, size_t len) {
  int line = 1, col = 1;
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)text[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= len && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
    for (size_t k = 1; ok && k < n; k++) ok = ((unsigned char)text[i + k] >> 6) == 2;
    if (!ok) {
      fab_error(ld->d, ((fab_loc){file, line, col}),
                "invalid UTF-8 byte 0x%02x (source files must be UTF-8)", c);
      return false;
    }
    if (c == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
    i += n;
  }
  return true;
}

static bool file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* The folder part of `path` including the slash ("" if none). */
static const char *dir_of(fab_arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? fab_arena_strndup(a, path, (size_t)(slash - path + 1)) : "";
}

static char *canonical(fab_arena *a, const char *path) {
  char buf[PATH_MAX];
  return fab_arena_strdup(a, realpath(path, buf) ? buf : path);
}

static bool list_has(const ast_list *l, const char *s) {
  for (int i = 0; l && i < l->n; i++)
    if (strcmp(l->items[i], s) == 0) return true;
  return false;
}

static void load_text(loader *ld, const char *name, const char *canon, const char *text,
                      size_t len);

/* The i-th folder an import in file `from` is looked for in (its
 * trailing slash optional; "" is the current folder) and why it is
 * searched; false past the last.  Order: the importing file's folder, the
 * include dirs, fabc's data folder. */
static bool search_dir(loader *ld, const char *from, int i, const char **dir, const char **why) {
  int ninc = ld->opt ? ld->opt->ninclude_dirs : 0;
  if (i == 0) {
    *dir = dir_of(ld->ast, from);
    *why = "the importing file's folder";
    return true;
  }
  if (i <= ninc) {
    *dir = ld->opt->include_dirs[i - 1];
    *why = "-I";
    return true;
  }
  if (!ld->data_dir) {
    char buf[PATH_MAX];
    ld->data_dir = fab_arena_strdup(ld->ast, fab_data_dir(FAB_DATA_IMPORTS, buf, sizeof buf) ? buf : "");
  }
  if (i > ninc + 1 || !ld->data_dir[0]) return false;
  *dir = ld->data_dir;
  *why = "fabc's data folder, with the block library";
  return true;
}

static const char *join(fab_arena *a, const char *dir, const char *path) {
  size_t n = strlen(dir);
  return fab_arena_printf(a, "%s%s%s", dir, n && dir[n - 1] != '/' ? "/" : "", path);
}

/* The file an import names, or NULL after reporting where it looked. */
static const char *find_import(loader *ld, const ast_decl *imp, const char *from) {
  const char *path = imp->name, *dir, *why;
  if (path[0] == '/') {
    if (file_exists(path)) return path;
    fab_error(ld->d, imp->loc, "cannot find imported file \"%s\"", path);
    return NULL;
  }
  for (int i = 0; search_dir(ld, from, i, &dir, &why); i++) {
    const char *cand = join(ld->ast, dir, path);
    if (file_exists(cand)) return cand;
  }
  fab_error(ld->d, imp->loc, "cannot find imported file \"%s\"", path);
  fab_loc at = {imp->loc.file, 0, 0};
  for (int i = 0; search_dir(ld, from, i, &dir, &why); i++)
    fab_note(ld->d, at, "looked in %s (%s)", dir[0] ? dir : "./", why);
  fab_note(ld->d, at, "add a folder to search with -I DIR");
  return NULL;
}

/* Resolves and loads `import "path";` found in file `from`. */
/* An imported file's text is malloc'd: parsed under a guard of its own so
 * that it is freed when memory runs out (ir.h). */
typedef struct import_job {
  loader *ld;
  const char *name, *canon, *text;
  size_t len;
} import_job;

static void load_import_text(void *arg) {
  import_job *j = arg;
  load_text(j->ld, fab_arena_strdup(j->ld->m->arena, j->name), j->canon, j->text, j->len);
}

static void load_import(loader *ld, const ast_decl *imp, const char *from) {
  const char *found = find_import(ld, imp, from);
  if (!found) return;
  const char *canon = canonical(ld->ast, found);
  for (int i = 0; i < ld->depth; i++) {
    if (strcmp(ld->stack_canon[i], canon) != 0) continue;
    char chain[1024];
    int n = 0;
    for (int j = i; j < ld->depth && n < (int)sizeof chain; j++)
      n += snprintf(chain + n, sizeof chain - (size_t)n, "%s -> ", ld->stack_name[j]);
    if (n < (int)sizeof chain) snprintf(chain + n, sizeof chain - (size_t)n, "%s", found);
    fab_error(ld->d, imp->loc, "import cycle: %s", chain);
    return;
  }
  if (list_has(ld->done, canon)) return;
  if (ld->depth == MAX_IMPORT_DEPTH) {
    fab_error(ld->d, imp->loc, "imports nested too deeply (more than %d files)", MAX_IMPORT_DEPTH);
    return;
  }
  size_t len;
  char *text = read_file(found, &len);
  if (!text) {
    fab_error(ld->d, imp->loc, "cannot read \"%s\": %s", found, strerror(errno));
    return;
  }
  import_job j = {ld, found, canon, text, len};
  bool finished = fab_oom_protect(load_import_text, &j);
  free(text);
  if (!finished) fab_out_of_memory(__FILE__, __LINE__); /* on to compile()'s guard */
}

/* Parses one file and splices its declarations (imports first, in place)
 * into ld->decls. */
static void load_text(loader *ld, const char *name, const char *canon, const char *text,
                      size_t len) {
  ast_push(ld->ast, &ld->done, (void *)canon);
  if (len > MAX_FILE_SIZE) { /* the scanner takes an int length */
    fab_error(ld->d, ((fab_loc){name, 0, 0}), "source file too large (more than %d bytes)",
              MAX_FILE_SIZE);
    ld->syntax_errors = true;
    return;
  }
  fab_diag_add_source(ld->d, name, text, len);
  if (!check_utf8(ld, name, text, len)) {
    ld->syntax_errors = true;
    return;
  }
  parse_ctx ctx = {.arena = ld->ast, .diag = ld->d, .file = name};
  if (!fab_fe_parse(&ctx, text, len)) ld->syntax_errors = true;
  ld->stack_canon[ld->depth] = canon;
  ld->stack_name[ld->depth] = name;
  ld->depth++;
  for (int i = 0; ctx.decls && i < ctx.decls->n; i++) {
    ast_decl *d = ctx.decls->items[i];
    if (d->kind == D_IMPORT) load_import(ld, d, name);
    else if (d->kind == D_MODEL && ld->depth > 1)
      fab_error(ld->d, d->loc, "an imported file cannot declare a model ('%s')", d->name);
    else ast_push(ld->ast, &ld->decls, d);
  }
  ld->depth--;
}

static void parse_and_elaborate(fab_module *m, fab_arena *ast, const char *name, const char *text, size_t len,
                                const fab_frontend_options *opt, fab_diag *d, int errors) {
  loader ld = {.ast = ast, .m = m, .d = d, .opt = opt};
  const char *file = fab_arena_strdup(m->arena, name);
  load_text(&ld, file, canonical(ast, name), text, len);
  /* Elaborating a partly parsed program would only report consequences of
   * the syntax errors already shown. */
  if (!ld.syntax_errors && fab_diag_error_count(d) == errors) {
    elab e = {.m = m, .d = d, .tmp = ast};
    if (elab_program(&e, ld.decls, opt)) fab_verify(m, d);
  }
}

static fab_module *compile(const char *name, const char *text, size_t len,
                           const fab_frontend_options *opt, fab_diag *d) {
  int errors = fab_diag_error_count(d);
  fab_module *m = fab_module_new("model");
  fab_arena *ast = fab_arena_new();
  if (!m || !ast) {
    fab_module_free(m);
    fab_arena_free(ast);
    fab_error(d, noloc, "out of memory");
    return NULL;
  }
  /* Out of memory anywhere below (the AST, the IR builders) lands here:
   * m and ast are not written after setjmp. */
  fab_oom_guard g;
  if (setjmp(g.jb)) {
    fab_oom_pop(&g);
    fab_arena_free(ast);
    fab_module_free(m);
    fab_error(d, noloc, "out of memory while compiling '%s'", name);
    return NULL;
  }
  fab_oom_push(&g);
  parse_and_elaborate(m, ast, name, text, len, opt, d, errors);
  fab_oom_pop(&g);
  fab_arena_free(ast);
  if (fab_diag_error_count(d) != errors) {
    fab_module_free(m);
    return NULL;
  }
  return m;
}

fab_module *fab_frontend_compile_string(const char *name, const char *text, size_t len,
                                        const fab_frontend_options *opt, fab_diag *d) {
  if (!text) {
    text = "";
    len = 0;
  }
  return compile(name ? name : "<string>", text, len, opt, d);
}

fab_module *fab_frontend_compile_file(const char *path, const fab_frontend_options *opt,
                                      fab_diag *d) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) {
    fab_error(d, noloc, "cannot read \"%s\": %s", path, strerror(errno));
    return NULL;
  }
  fab_module *m = compile(path, text, len, opt, d);
  free(text);
  return m;
}
