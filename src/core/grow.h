/* Amortised growth of a heap array: doubles the capacity until it holds
 * `need` elements of `size` bytes (starting at `first`).
 *
 *   if (mira_grow((void **)&v, &cap, n + 1, sizeof *v, 64)) return MIRA_ENOMEM;
 *
 * Returns 0 or MIRA_ENOMEM (then *p and *cap are unchanged). Thread-safe. */
#ifndef MIRA_CORE_GROW_H
#define MIRA_CORE_GROW_H

#include <stddef.h>

int mira_grow(void **p, size_t *cap, size_t need, size_t size, size_t first);

#endif
