# One example through every backend: the CPU JIT, the CPU ahead-of-time
# library loaded by the runtime (example program run_model), and the FPGA
# path (fp32 accelerator, simulator) all match the reference interpreter.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(M ${EX}/${NAME}.fab)
set(P ${OUT}/${NAME})
run(${FABC} init ${M} -o ${P}.w.safetensors --inputs ${P}.x.safetensors)
set(data --weights ${P}.w.safetensors --input ${P}.x.safetensors)
run(${FABC} run ${M} ${data} -o ${P}.interp.safetensors)
run(${FABC} run ${M} --backend cpu ${data} -o ${P}.cpu.safetensors)
run(${FABC} compare ${P}.cpu.safetensors ${P}.interp.safetensors --rtol 1e-4)
run(${FABC} run ${M} --backend fpga --accel ${CONFIGS}/vcu128-be40-fp32.json ${data} -o ${P}.fpga.safetensors)
run(${FABC} compare ${P}.fpga.safetensors ${P}.interp.safetensors --rtol 1e-4)
if(AOT)
  run(${FABC} build ${M} --target cpu -o ${P}.so)
  run(${RUN_MODEL} ${P}.so ${P}.w.safetensors ${P}.x.safetensors -o ${P}.so.safetensors)
  run(${FABC} compare ${P}.so.safetensors ${P}.interp.safetensors --rtol 1e-4)
endif()
