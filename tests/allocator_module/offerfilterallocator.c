/*
 * A stand-in for the Offer Filtering Allocator module's shared library
 * (libofferfilterallocator-<mesos version>-<build>.so), for tests.
 *
 * mesos-master finds a module by dlsym()ing a symbol named like the module and reads the
 * record there: include/mesos/module.hpp's ModuleBase (module API version, the Mesos version
 * the module was built against, kind, author, description, an optional compatible() hook)
 * followed, in Module<T>, by the module's create() function. This file exports exactly that
 * record, with the Mesos version and build chosen at compile time:
 *
 *   gcc -shared -fPIC -DMESOS_VERSION='"1.0.1"' -DBUILD_ID='"v1-RC5"' -o lib.so offerfilterallocator.c
 *
 * It allocates nothing: the mesos-master stand-in (simulator/mesos_sim/standin.py) checks the
 * record as Mesos does and then serves the simulated /allocator/filters itself.
 *
 * -DRECORD_AT_LOAD_TIME leaves the record zeroed in the file (.bss) and fills it in from a
 * constructor when the library is loaded, as a C++ module's record may be when the compiler
 * initializes it dynamically: mesos-master accepts it, but no file reader can see its versions.
 * -DVERSION_SYMBOL points mesosVersion at an exported string instead of a literal, which the
 * linker relocates through that symbol (R_X86_64_64) rather than relative to the load address.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdbool.h>
#include <stddef.h>

#ifndef MESOS_VERSION
#define MESOS_VERSION "1.0.1"
#endif
#ifndef BUILD_ID
#define BUILD_ID "v1-RC5"
#endif
#ifndef MODULE_API_VERSION
/* MESOS_MODULE_API_VERSION in include/mesos/module.hpp: "2" since Mesos 0.21.0. */
#define MODULE_API_VERSION "2"
#endif
#ifndef MODULE_KIND
#define MODULE_KIND "Allocator"
#endif
#ifndef MODULE_SYMBOL
#define MODULE_SYMBOL im_getty_mesos_OfferFilteringAllocator
#endif

struct ModuleBase {
    const char *moduleApiVersion;
    const char *mesosVersion;
    const char *kind;
    const char *authorName;
    const char *authorEmail;
    const char *description;
    bool (*compatible)(void);
};

struct AllocatorModule {
    struct ModuleBase base;
    void *(*create)(const void *parameters);
};

#ifndef NO_MODULE_SYMBOL
static int instance;

static void *create(const void *parameters)
{
    (void)parameters;
    return &instance;
}

#ifdef VERSION_SYMBOL
const char offerfilterallocator_mesos_version[] = MESOS_VERSION;
#define RECORD_MESOS_VERSION offerfilterallocator_mesos_version
#else
#define RECORD_MESOS_VERSION MESOS_VERSION
#endif

#define RECORD                                                                              \
    {                                                                                       \
        {                                                                                   \
            MODULE_API_VERSION,                                                             \
            RECORD_MESOS_VERSION,                                                           \
            MODULE_KIND,                                                                    \
            "Getty Images",                                                                 \
            "mesos@example.com",                                                            \
            "Offer Filtering Allocator (test build " BUILD_ID " for Mesos " MESOS_VERSION ")", \
            NULL,                                                                           \
        },                                                                                  \
        create,                                                                             \
    }

#ifdef RECORD_AT_LOAD_TIME
struct AllocatorModule MODULE_SYMBOL;

__attribute__((constructor)) static void fill_record(void)
{
    struct AllocatorModule record = RECORD;
    MODULE_SYMBOL = record;
}
#else
struct AllocatorModule MODULE_SYMBOL = RECORD;
#endif
#endif

/* The version record a release also carries as a plain string, for tools that read it
 * without loading the library (`strings lib.so | grep offerfilterallocator-version=`). */
const char offerfilterallocator_version[] = "offerfilterallocator-version=" MESOS_VERSION "-" BUILD_ID;
