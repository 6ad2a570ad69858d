// Helpers of the sampler tests: the moment checks of tests/sampler_moments.h, and
// process_of(kind), a process with the kind's defaults.
#pragma once

#include "tests/process_fixture.h"
#include "tests/sampler_moments.h"
