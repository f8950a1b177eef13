/* Thread-local error messages: recorded once where a failure is detected. */
#include <stdarg.h>
#include <stdio.h>

#include "core/common.h"

static _Thread_local char g_msg[1024];

const char *lens_last_error(void) { return g_msg; }

void lens_error_clear(void) { g_msg[0] = 0; }

lens_status lens_error(lens_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return status;
}

void lens_error_prefix(const char *fmt, ...) {
    char prefix[512], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    size_t pl = strlen(prefix);
    if (pl >= sizeof g_msg) pl = sizeof g_msg - 1;
    memcpy(g_msg, prefix, pl);
    size_t ol = strlen(old);
    if (ol > sizeof g_msg - 1 - pl) ol = sizeof g_msg - 1 - pl;
    memcpy(g_msg + pl, old, ol);
    g_msg[pl + ol] = 0;
}

const char *lens_status_string(lens_status s) {
    switch (s) {
    case LENS_OK: return "ok";
    case LENS_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case LENS_STATUS_INVALID_MODEL: return "invalid model";
    case LENS_STATUS_UNSUPPORTED_OP: return "unsupported operator";
    case LENS_STATUS_UNSUPPORTED: return "unsupported";
    case LENS_STATUS_OUT_OF_MEMORY: return "out of memory";
    case LENS_STATUS_IO_ERROR: return "I/O error";
    case LENS_STATUS_LIMIT_EXCEEDED: return "limit exceeded";
    case LENS_STATUS_SHAPE_MISMATCH: return "shape mismatch";
    case LENS_STATUS_RUNTIME_ERROR: return "runtime error";
    case LENS_STATUS_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *lens_version(void) { return LENS_VERSION_STRING; }
