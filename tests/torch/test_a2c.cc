// Tests of agents/torch/a2c.cc (see tests/torch/main.cc: DOCTEST_ macros only).
#include <doctest/doctest.h>

#include "agent_harness.h"
#include "agents/torch/common.h"
