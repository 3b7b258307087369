# One model written as PyTorch users write it (tests/golden/fab/<case>.fab)
# run by `fabc run` on one backend with the state_dict exactly as PyTorch
# saved it, then compared with PyTorch's outputs.
#   -DFABC= -DCASE=<dir>/<case> -DBACKEND=interp|cpu|so|fpga|fbin -DROOT= -DOUT= [-DRUN_MODEL=]
#   -DMUTATE=1: first make every butterfly decreasing-stride; the comparison
#   must then fail (the test shows it can tell the strides apart).
set(src ${CASE}.fab)
if(MUTATE)
  file(READ ${CASE}.fab text)
  string(REPLACE "fbfly(x, h)" "fbfly(x, h, increasing = 0)" text "${text}")
  file(WRITE ${OUT}.fab "${text}")
  set(src ${OUT}.fab)
endif()
# <case>.map.json: the weight map the state_dict needs (fabc and the runtime read it).
set(map)
if(EXISTS ${CASE}.map.json)
  set(map --weight-map ${CASE}.map.json)
endif()
set(extra)
if(BACKEND STREQUAL "fpga")
  set(extra --accel ${ROOT}/configs/vcu128-be40-fp32.json)
endif()
if(BACKEND STREQUAL "so")  # fabc build, then the runtime loads the .so (examples/c/run_model.c)
  execute_process(COMMAND ${FABC} build ${src} -I ${ROOT}/examples --target cpu -o ${OUT}.so
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc build failed (${rc})")
  endif()
  execute_process(COMMAND ${RUN_MODEL} ${OUT}.so ${CASE}.weights.safetensors ${CASE}.input.safetensors
                          ${map} -o ${OUT}.safetensors RESULT_VARIABLE rc)
elseif(BACKEND STREQUAL "fbin")  # fabc build --target fpga, then fabc sim binds the weights
  execute_process(COMMAND ${FABC} build ${src} -I ${ROOT}/examples --target fpga
                          --accel ${ROOT}/configs/vcu128-be40-fp32.json -o ${OUT}.fbin RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc build failed (${rc})")
  endif()
  execute_process(COMMAND ${FABC} sim ${OUT}.fbin --weights ${CASE}.weights.safetensors ${map}
                          --input ${CASE}.input.safetensors -o ${OUT}.safetensors RESULT_VARIABLE rc)
else()
  execute_process(COMMAND ${FABC} run ${src} -I ${ROOT}/examples --backend ${BACKEND} ${extra}
                          --weights ${CASE}.weights.safetensors ${map} --input ${CASE}.input.safetensors
                          -o ${OUT}.safetensors RESULT_VARIABLE rc)
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fabc run failed (${rc})")
endif()
# <case>.floor: the magnitude below which errors count as absolute, for
# outputs whose scale is far from 1 (an unnormalised FFT2 of n values is
# ~sqrt(n): its f32 rounding is relative to that, not to each value)
set(floor)
if(EXISTS ${CASE}.floor)
  file(STRINGS ${CASE}.floor f LIMIT_COUNT 1)
  set(floor --floor ${f})
endif()
execute_process(COMMAND ${FABC} compare ${OUT}.safetensors ${CASE}.expected.safetensors --rtol 1e-4 ${floor}
                RESULT_VARIABLE rc)
if(MUTATE AND rc EQUAL 0)
  message(FATAL_ERROR "decreasing-stride butterflies matched PyTorch's defaults: the test cannot tell them apart")
elseif(NOT MUTATE AND NOT rc EQUAL 0)
  message(FATAL_ERROR "outputs differ from PyTorch's")
endif()
