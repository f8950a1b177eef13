/* NumPy .npy files: read and write dense tensors.
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a major/minor version
 * (1.0: 16-bit header length; 2.0 and 3.0: 32-bit, 3.0 a UTF-8 header), then
 * a Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), } padded with spaces and ended by '\n', then the raw data.
 *
 * Supported dtypes: little-endian ('<', or '|' / '=' on this little-endian
 * host) f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1. C order only: a file with
 * fortran_order True is refused with a clear message (unless at most one
 * dimension exceeds 1, where both orders are the same bytes). Rank up to
 * LENS_MAX_DIMS.
 *
 * Everything in the header is treated as hostile: its length is bounded
 * (LENS_NPY_MAX_HEADER), the dict is parsed strictly, every dimension and
 * their product are overflow-checked, and the data must be exactly
 * numel * itemsize bytes — no more, no less.
 */
#ifndef LENS_IO_NPY_H
#define LENS_IO_NPY_H

#include "core/common.h"

/* Longest header accepted (numpy itself writes under 1 KiB for rank <= 8). */
#define LENS_NPY_MAX_HEADER (1u << 16)

/* Reads the .npy file at `path` (borrowed for the call). On success *out
 * describes the array; out->data is allocated with lens_aligned_alloc (at
 * least one byte, even for an empty array) and owned by the caller, who
 * frees it with lens_aligned_free. On failure *out is zeroed and nothing is
 * allocated. Errors: IO_ERROR (cannot open or read), INVALID_ARGUMENT
 * (malformed file, with what is wrong), UNSUPPORTED (a valid dtype or layout
 * lens does not read: big-endian, fortran order, object, complex...),
 * OUT_OF_MEMORY. */
lens_status lens_npy_read(const char *path, lens_tensor *out);

/* Same for a .npy image in memory: `data` (size bytes) is borrowed for the
 * call; the values are copied into a lens_aligned_alloc'd buffer that the
 * caller frees with lens_aligned_free. */
lens_status lens_npy_read_memory(const void *data, size_t size, lens_tensor *out);

/* Writes `t` (borrowed) to `path` as a version 1.0 .npy file, C order,
 * little-endian, header padded to 64 bytes as numpy does. BFLOAT16 has no NumPy
 * dtype: it is written as float32 ('<f4'), exactly (every bfloat16 value is
 * a float32 value). STRING, complex and UNDEFINED tensors are refused
 * (UNSUPPORTED). The file is replaced if it exists. */
lens_status lens_npy_write(const char *path, const lens_tensor *t);

#endif
