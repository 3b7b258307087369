# The exploration commands end to end on small inputs: a latency data set
# (analytical FPGA model), a predictor trained on it and used on a model,
# and an exhaustive codesign search writing its front.
# A data set left by an earlier run would be resumed, not rewritten.
file(REMOVE ${OUT}/data.jsonl ${OUT}/resumed.jsonl)
foreach(step
    "sample;--space;${SPACES}/latbench.json;-n;30;--measure;model;-o;${OUT}/data.jsonl"
    "predictor;train;${OUT}/data.jsonl;--target;fpga_model_ms;--epochs;30;-o;${OUT}/m.pred"
    "predict;${EX}/tiny.fab;--predictor;${OUT}/m.pred;--accel;${CONFIGS}/vcu128-be40.json"
    "codesign;--space;${SPACES}/fabnet-text.json;--strategy;exhaustive;--budget;200;--accuracy;standin;-o;${OUT}/front.csv;--plot;${OUT}/front.svg"
    # the issue's spelling: --device, --objectives, the Codesign-NAS strategy names
    "codesign;--space;${SPACES}/fabnet-text.json;--device;xcvu37p;--objectives;accuracy,latency,area;--strategy;combined;--budget;60;--accuracy;standin;-o;${OUT}/front2.csv")
  execute_process(COMMAND ${FABC} ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc ${step} failed (${rc}): ${out} ${err}")
  endif()
endforeach()
file(STRINGS ${OUT}/data.jsonl lines)
list(LENGTH lines n)
if(NOT n EQUAL 30)
  message(FATAL_ERROR "sample wrote ${n} lines, expected 30")
endif()
file(READ ${OUT}/front.svg svg)
if(NOT svg MATCHES "<svg" OR NOT svg MATCHES "latency")
  message(FATAL_ERROR "front.svg is not a labelled plot")
endif()
# Objectives other than accuracy, latency, area are refused by name.
execute_process(COMMAND ${FABC} codesign --space ${SPACES}/fabnet-text.json --objectives speed RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "objectives")
  message(FATAL_ERROR "--objectives speed gave exit ${rc}: ${err}")
endif()
# A corrupt predictor file is a clear error, not a crash.
file(WRITE ${OUT}/bad.pred "{\"not\": \"a predictor\"}")
execute_process(COMMAND ${FABC} predict ${EX}/tiny.fab --predictor ${OUT}/bad.pred RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "bad.pred")
  message(FATAL_ERROR "a corrupt predictor gave exit ${rc}: ${err}")
endif()
# In a log (stderr is not a terminal here) progress comes as whole lines,
# no carriage returns; a search that runs out of new points before its
# budget says so.
execute_process(COMMAND ${FABC} codesign --space ${SPACES}/fabnet-text.json --objectives latency,area
                        --strategy evolution --budget 500 -o ${OUT}/front3.csv
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(FIND "${err}" "\r" cr)
if(NOT rc EQUAL 0 OR NOT cr EQUAL -1 OR NOT err MATCHES "search [0-9]+/500\n"
   OR NOT out MATCHES "stopped before its budget of 500.*the space has 120")
  message(FATAL_ERROR "progress/budget note (exit ${rc}): stdout ${out} stderr ${err}")
endif()
# accuracy is not an objective: the stand-in, no training
if(NOT out MATCHES "accuracy: model\\+standin")
  message(FATAL_ERROR "latency,area search did not use the stand-in accuracy: ${out}")
endif()
# A stopped `fabc sample` continues where it stopped: a file cut after 12
# lines and in the middle of the 13th is completed to the same bytes as an
# uninterrupted run; a data set from another seed is refused.
execute_process(COMMAND sh -c "head -n 12 \"$0\" > \"$1\" && sed -n 13p \"$0\" | head -c 80 >> \"$1\""
                        ${OUT}/data.jsonl ${OUT}/resumed.jsonl)
execute_process(COMMAND ${FABC} sample --space ${SPACES}/latbench.json -n 30 --measure model -o ${OUT}/resumed.jsonl
                RESULT_VARIABLE rc ERROR_VARIABLE err)
file(SHA256 ${OUT}/data.jsonl h1)
file(SHA256 ${OUT}/resumed.jsonl h2)
if(NOT rc EQUAL 0 OR NOT err MATCHES "resuming: 12 of 30" OR NOT h1 STREQUAL h2)
  message(FATAL_ERROR "resumed sample differs from an uninterrupted one (exit ${rc}): ${err}")
endif()
execute_process(COMMAND sh -c "head -n 5 \"$0\" > \"$1\"" ${OUT}/data.jsonl ${OUT}/resumed.jsonl)
execute_process(COMMAND ${FABC} sample --space ${SPACES}/latbench.json -n 30 --seed 2 --measure model -o ${OUT}/resumed.jsonl
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "another space or seed")
  message(FATAL_ERROR "continuing a data set with another seed: exit ${rc}: ${err}")
endif()
