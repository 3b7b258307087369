/* plancheck.h — an independent checker of memplan's annotations. */
#ifndef FAB_TESTS_PASSES_PLANCHECK_H
#define FAB_TESTS_PASSES_PLANCHECK_H

#include <stddef.h>

#include "ir.h"

/* Checks that every non-source value of every function has plan.offset and
 * plan.size, that sizes hold the value, and that no two values live at the
 * same time share a byte (except a value written in place over the operand
 * that dies at it, as plan.inplace says).  Writes the first problem into
 * why and returns false. */
bool plan_check(const fab_module *m, char *why, size_t n);

#endif
