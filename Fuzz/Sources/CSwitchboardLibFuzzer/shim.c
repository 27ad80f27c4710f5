// The declarations in include/CSwitchboardLibFuzzer.h are implemented by libFuzzer itself.
#include "CSwitchboardLibFuzzer.h"
