# run_diag.cmake — one diagnostics test: runs diag_runner on NAME.fab in
# DIR and compares stdout with NAME.err.  Needs RUNNER, DIR, NAME; ROOT is
# the source tree.
# With -DUPDATE=1 it rewrites NAME.err instead (review the diff!).
execute_process(COMMAND ${RUNNER} ${DIR} ${NAME}.fab
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
# Messages that name fabc's data folder (the source tree's examples/ in the
# build tree) read <source> for the source tree's path.
if(ROOT)
  string(REPLACE "${ROOT}/" "<source>/" out "${out}")
endif()
if(UPDATE)
  file(WRITE ${DIR}/${NAME}.err "${out}")
  return()
endif()
# The runner writes nothing to stderr: anything there is a sanitizer report
# (a leak also exits with status 1, so the status alone cannot tell).
if(NOT err STREQUAL "")
  message(FATAL_ERROR "${NAME}.fab: unexpected stderr output\n${err}")
endif()
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "${NAME}.fab: expected exit status 1 (errors), got '${rc}'\n${out}${err}")
endif()
file(READ ${DIR}/${NAME}.err expected)
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "${NAME}.fab: diagnostics differ\n--- expected\n${expected}--- got\n${out}")
endif()
