# fabc select writes the chosen architecture both as IR and as .fab (the
# supernet's source + select lines); both run to the same outputs.
set(common --task majority --proposals 2 --valid-batches 3 --seed 3)
execute_process(COMMAND ${FABC} select ${EX}/supernet_tiny.fab ${common} -o ${OUT}/chosen.fir
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "select -o chosen.fir failed")
endif()
execute_process(COMMAND ${FABC} select ${EX}/supernet_tiny.fab ${common} -o ${OUT}/chosen.fab
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "select -o chosen.fab failed")
endif()
file(STRINGS ${OUT}/chosen.fab sel REGEX "^select ")
list(LENGTH sel nsel)
if(NOT nsel EQUAL 2)
  message(FATAL_ERROR "expected 2 select lines, got: ${sel}")
endif()
foreach(step
    "run;${OUT}/chosen.fir;-o;${OUT}/y_fir.safetensors"
    "run;${OUT}/chosen.fab;-I;${EX};-o;${OUT}/y_fab.safetensors"
    "compare;${OUT}/y_fab.safetensors;${OUT}/y_fir.safetensors;--rtol;0")
  execute_process(COMMAND ${FABC} ${step} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc ${step} failed (${rc})")
  endif()
endforeach()
