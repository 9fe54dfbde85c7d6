# Warnings as an interface target: every nucleus target links nucleus_warnings.
add_library(nucleus_warnings INTERFACE)
target_compile_options(nucleus_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${NUCLEUS_WERROR}>:-Werror>)
