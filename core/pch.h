// Precompiled header: LibTorch is large; every target reuses this one compiled copy.
#pragma once
#include <torch/torch.h>
