cmake_minimum_required(VERSION 3.20)
# One weight_errors case: runs fabc with the arguments of NAME.args (one a
# line; %EX%, %OUT% and %DIR% stand for the examples, the fixture folder
# and the cases' folder), expects it to fail and compares its standard
# error, with those paths put back as %EX%/%OUT%/%DIR%, with NAME.err.
# Needs FABC, EX, OUT, DIR, NAME; -DUPDATE=1 rewrites NAME.err instead.
file(STRINGS ${DIR}/${NAME}.args lines)
set(args)
foreach(line ${lines})
  string(REPLACE "%EX%" "${EX}" line "${line}")
  string(REPLACE "%OUT%" "${OUT}" line "${line}")
  string(REPLACE "%DIR%" "${DIR}" line "${line}")
  list(APPEND args "${line}")
endforeach()
execute_process(COMMAND ${FABC} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REPLACE "${OUT}" "%OUT%" err "${err}")
string(REPLACE "${DIR}" "%DIR%" err "${err}")
string(REPLACE "${EX}" "%EX%" err "${err}")
if(UPDATE)
  file(WRITE ${DIR}/${NAME}.err "${err}")
  return()
endif()
if(rc EQUAL 0 OR NOT out STREQUAL "")
  message(FATAL_ERROR "${NAME}: expected a failure and no output, got status ${rc}\n${out}${err}")
endif()
file(READ ${DIR}/${NAME}.err expected)
if(NOT err STREQUAL expected)
  message(FATAL_ERROR "${NAME}: messages differ\n--- expected\n${expected}--- got\n${err}")
endif()
