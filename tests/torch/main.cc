// Test entry point of the LibTorch agent tests. Debian's LibTorch pulls glog,
// whose CHECK macro would replace doctest's: these tests use DOCTEST_CHECK etc.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#define DOCTEST_CONFIG_NO_SHORT_MACRO_NAMES
#include <doctest/doctest.h>
