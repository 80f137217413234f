// Tests of agents/bandits.cc.
#include <doctest/doctest.h>

#include "agent_harness.h"
