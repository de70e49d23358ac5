/*
 * wipe_alloc.h - allocators for libcurl and OpenSSL in the child that
 * zero every block before it goes back to malloc.
 *
 * A connector password travels as an HTTP header: libcurl copies it into
 * its request buffer and OpenSSL into its record buffer, and both free
 * those blocks without clearing them. Freed heap is still readable (a
 * core dump, a later exploit of the child), so the child hands both
 * libraries allocators that clear on free and on every move by realloc.
 */
#ifndef HSMAGENT_WIPE_ALLOC_H
#define HSMAGENT_WIPE_ALLOC_H

/*
 * Before anything allocates through OpenSSL or libcurl: installs the
 * OpenSSL functions and runs curl_global_init_mem(). 0 or -1.
 */
int	wipe_alloc_install(void);

#endif
