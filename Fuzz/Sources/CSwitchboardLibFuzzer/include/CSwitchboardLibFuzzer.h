#ifndef C_SWITCHBOARD_LIBFUZZER_H
#define C_SWITCHBOARD_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// The libFuzzer driver (compiler-rt, linked by `-sanitize=fuzzer`): parses the libFuzzer
/// command-line flags in argc/argv and runs `callback` on each input. Returns the exit status.
int LLVMFuzzerRunDriver(int *_Nonnull argc, char *_Nullable *_Nullable *_Nonnull argv,
                        int (*_Nonnull callback)(const uint8_t *_Nonnull data, size_t size));

#endif
