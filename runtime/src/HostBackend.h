// The reference backend: one host arena per session, kernels from
// EffcHostKernels run in manifest order.
#pragma once

#include "effc/Backend.h"

namespace effc {
std::shared_ptr<Backend> makeHostBackend();
}
