/*
 * A stand-in libcurl.so.4 for the Mesos 1.11.0 egg (test harness only).
 *
 * The egg's _scheduler.so was linked against a libcurl whose symbols carry the version
 * CURL_OPENSSL_3; Debian 12's libcurl.so.4 versions them CURL_OPENSSL_4, so the dynamic
 * loader refuses the egg. This library exports the seven functions the egg uses under
 * CURL_OPENSSL_3 (see curl_shim.map) and forwards each call to the system libcurl, opened
 * by absolute path (SYSTEM_LIBCURL, set at build time) with RTLD_DEEPBIND so that the
 * system libcurl binds to its own OpenSSL 3 and never to the egg's OpenSSL 1.0.
 *
 * Built by tests/real_mesos/setup.py:
 *   gcc -shared -fPIC -O2 -DSYSTEM_LIBCURL='"/lib/x86_64-linux-gnu/libcurl.so.4"' \
 *       -Wl,--version-script=curl_shim.map -Wl,-soname,libcurl.so.4 -o libcurl.so.4 curl_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SYSTEM_LIBCURL
#error "build with -DSYSTEM_LIBCURL='\"/path/to/libcurl.so.4\"'"
#endif

/* Opaque to us: the egg and the system libcurl agree on these; we only pass them on. */
typedef void CURL;
typedef int CURLcode;
typedef int CURLoption;
typedef int CURLINFO;

static void *real_curl;

static void *resolve(const char *name)
{
    if (real_curl == NULL) {
        real_curl = dlopen(SYSTEM_LIBCURL, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (real_curl == NULL) {
            fprintf(stderr, "curl shim: cannot open %s: %s\n", SYSTEM_LIBCURL, dlerror());
            abort();
        }
    }
    void *symbol = dlsym(real_curl, name);
    if (symbol == NULL) {
        fprintf(stderr, "curl shim: %s has no %s: %s\n", SYSTEM_LIBCURL, name, dlerror());
        abort();
    }
    return symbol;
}

/* The system libcurl's function NAME, looked up once; TYPE is its pointer type. */
#define FORWARD(type, name)                                                                     \
    static type name##_fn;                                                                      \
    if (name##_fn == NULL)                                                                      \
    name##_fn = (type)resolve(#name)

typedef CURLcode (*global_init_t)(long);
typedef CURL *(*easy_init_t)(void);
typedef void (*easy_cleanup_t)(CURL *);
typedef CURLcode (*easy_perform_t)(CURL *);
typedef const char *(*easy_strerror_t)(CURLcode);
typedef CURLcode (*easy_setopt_t)(CURL *, CURLoption, ...);
typedef CURLcode (*easy_getinfo_t)(CURL *, CURLINFO, ...);

CURLcode curl_global_init(long flags)
{
    FORWARD(global_init_t, curl_global_init);
    return curl_global_init_fn(flags);
}

CURL *curl_easy_init(void)
{
    FORWARD(easy_init_t, curl_easy_init);
    return curl_easy_init_fn();
}

void curl_easy_cleanup(CURL *handle)
{
    FORWARD(easy_cleanup_t, curl_easy_cleanup);
    curl_easy_cleanup_fn(handle);
}

CURLcode curl_easy_perform(CURL *handle)
{
    FORWARD(easy_perform_t, curl_easy_perform);
    return curl_easy_perform_fn(handle);
}

const char *curl_easy_strerror(CURLcode code)
{
    FORWARD(easy_strerror_t, curl_easy_strerror);
    return curl_easy_strerror_fn(code);
}

/*
 * The variadic pair takes exactly one argument after the option: a long, a pointer, a
 * function pointer or a curl_off_t. On x86_64 all four travel in one 64-bit integer
 * register, so reading it as a pointer and passing it on keeps every bit.
 */
CURLcode curl_easy_setopt(CURL *handle, CURLoption option, ...)
{
    FORWARD(easy_setopt_t, curl_easy_setopt);
    va_list args;
    va_start(args, option);
    void *value = va_arg(args, void *);
    va_end(args);
    return curl_easy_setopt_fn(handle, option, value);
}

CURLcode curl_easy_getinfo(CURL *handle, CURLINFO info, ...)
{
    FORWARD(easy_getinfo_t, curl_easy_getinfo);
    va_list args;
    va_start(args, info);
    void *out = va_arg(args, void *);
    va_end(args);
    return curl_easy_getinfo_fn(handle, info, out);
}
