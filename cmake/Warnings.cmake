# Warnings as an interface target: every nucleus target links nucleus_warnings.
add_library(nucleus_warnings INTERFACE)
target_compile_options(nucleus_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s string code at -O3 (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
  $<$<BOOL:${NUCLEUS_WERROR}>:-Werror>)
