# Runs TOOL --generate KIND and writes its output to OUT (a man page or a completion script);
# fails the build when the tool fails, so a broken document is never installed.
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${TOOL}" --generate "${KIND}" OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${TOOL} --generate ${KIND} failed: ${rc}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
