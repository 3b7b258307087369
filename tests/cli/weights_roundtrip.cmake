# fabc init writes exactly the weights and inputs `fabc run` uses by default:
# running from those files gives the same outputs as running without them.
foreach(step
    "init;${EX}/tiny.fab;-o;${OUT}/w.safetensors;--inputs;${OUT}/x.safetensors;--seed;7"
    "run;${EX}/tiny.fab;--seed;7;-o;${OUT}/y_default.safetensors"
    "run;${EX}/tiny.fab;--weights;${OUT}/w.safetensors;--input;${OUT}/x.safetensors;-o;${OUT}/y_files.safetensors"
    "compare;${OUT}/y_files.safetensors;${OUT}/y_default.safetensors;--rtol;0")
  execute_process(COMMAND ${FABC} ${step} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc ${step} failed (${rc})")
  endif()
endforeach()
# A different seed must give different outputs (the comparison can fail).
execute_process(COMMAND ${FABC} run ${EX}/tiny.fab --seed 8 -o ${OUT}/y_seed8.safetensors RESULT_VARIABLE rc)
execute_process(COMMAND ${FABC} compare ${OUT}/y_seed8.safetensors ${OUT}/y_default.safetensors
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "outputs for seeds 7 and 8 compare equal: compare cannot fail?")
endif()
