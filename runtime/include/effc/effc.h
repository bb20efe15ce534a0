// Umbrella header of the effc runtime API.
#pragma once

#include "effc/Backend.h"
#include "effc/DType.h"
#include "effc/Engine.h"
#include "effc/Generator.h"
#include "effc/Model.h"
#include "effc/Session.h"
#include "effc/Status.h"
#include "effc/Tensor.h"
#include "effc/TensorIO.h"
