# Weights saved the way PyTorch / Hugging Face save them: every name under
# "model.", one projection renamed q -> q_proj, buffers the model does not
# use, the positional table stored [1, S, d].  `fabc run` refuses the file
# and says which options fix it; with those options (or the same rules in a
# JSON map) it gives exactly the outputs of the correctly named file, on the
# interpreter, the CPU JIT and the FPGA simulator, and `fabc build
# --embed-weights` takes it.  Needs FABC, STEDIT, EX, CONFIGS, OUT.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

# Runs fabc expecting failure; every later argument must occur in stderr.
function(refused args)
  execute_process(COMMAND ${FABC} ${args} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "fabc ${args} succeeded; expected it to refuse the weights")
  endif()
  foreach(want ${ARGN})
    string(FIND "${err}" "${want}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "fabc ${args}: stderr lacks \"${want}\":\n${err}")
    endif()
  endforeach()
endfunction()

set(M ${EX}/tiny.fab)
set(D ${OUT}/weight_map)
file(MAKE_DIRECTORY ${D})
run(${FABC} init ${M} -o ${D}/w.safetensors --inputs ${D}/x.safetensors --seed 11)
run(${STEDIT} ${D}/w.safetensors ${D}/hf.safetensors
    unsqueeze=pos.weight
    rename=layers.1.attn.q.twiddle:layers.1.attn.q_proj.twiddle
    rename=layers.1.attn.q.bias:layers.1.attn.q_proj.bias
    prefix=model.
    add=model.embeddings.position_ids:I64:1,16
    add=model.layers.0.norm1.num_batches_tracked:I64:)

run(${FABC} run ${M} --weights ${D}/w.safetensors --input ${D}/x.safetensors -o ${D}/y_ref.safetensors)
set(hf ${M} --weights ${D}/hf.safetensors --input ${D}/x.safetensors)

# No map: the missing names come with the closest ones and the rule.
refused("run;${hf}"
        "missing weight 'embed.weight' (shape [32, 16]); did you mean 'model.embed.weight'?"
        "(--rename 'model.=' strips that prefix)"
        "unexpected weight 'model.embeddings.position_ids'"
        "--allow-unused")
# Prefix stripped: q_proj is suggested for q, the table's shape names --reshape.
refused("run;${hf};--rename;model.="
        "missing weight 'layers.1.attn.q.twiddle' (shape [1, 1, 4, 8, 2, 2]); did you mean 'layers.1.attn.q_proj.twiddle'"
        "weight 'pos.weight' (renamed from 'model.pos.weight') has shape [1, 16, 16], the model expects [16, 16]"
        "--reshape 'pos.weight'"
        "unexpected weight 'layers.0.norm1.num_batches_tracked' (renamed from 'model.layers.0.norm1.num_batches_tracked')")
# Everything stated but the buffers: still refused.
set(rules --rename model.= --rename model.layers.1.attn.q_proj.=layers.1.attn.q. --reshape pos.weight)
refused("run;${hf};${rules}" "unexpected weight 'embeddings.position_ids'" "--allow-unused")

# With the options: the outputs of the correctly named file, bit for bit.
run(${FABC} run ${hf} ${rules} --allow-unused -o ${D}/y_opts.safetensors)
run(${FABC} compare ${D}/y_opts.safetensors ${D}/y_ref.safetensors --rtol 0)
file(WRITE ${D}/map.json [=[
{
  "rename": {"model.": "", "model.layers.1.attn.q_proj.": "layers.1.attn.q."},
  "reshape": {"pos.weight": [16, 16]},
  "allow_unused": true
}
]=])
run(${FABC} run ${hf} --weight-map ${D}/map.json -o ${D}/y_map.safetensors)
run(${FABC} compare ${D}/y_map.safetensors ${D}/y_ref.safetensors --rtol 0)

# The CPU JIT binds the mapped set the same way.
run(${FABC} run ${M} --backend cpu --weights ${D}/w.safetensors --input ${D}/x.safetensors
    -o ${D}/y_cpu_ref.safetensors)
run(${FABC} run ${hf} --backend cpu --weight-map ${D}/map.json -o ${D}/y_cpu_map.safetensors)
run(${FABC} compare ${D}/y_cpu_map.safetensors ${D}/y_cpu_ref.safetensors --rtol 0)

# And the FPGA simulator (fp32 accelerator).
set(fpga --backend fpga --accel ${CONFIGS}/vcu128-be40-fp32.json)
run(${FABC} run ${M} ${fpga} --weights ${D}/w.safetensors --input ${D}/x.safetensors
    -o ${D}/y_fpga_ref.safetensors)
run(${FABC} run ${hf} ${fpga} --weight-map ${D}/map.json -o ${D}/y_fpga_map.safetensors)
run(${FABC} compare ${D}/y_fpga_map.safetensors ${D}/y_fpga_ref.safetensors --rtol 0)

# fabc build --embed-weights: refused without the map, the same library with it.
refused("build;${M};--target;cpu;--embed-weights;--weights;${D}/hf.safetensors;-o;${D}/bad.so"
        "did you mean 'model.embed.weight'?")
run(${FABC} build ${M} --target cpu --embed-weights --weights ${D}/w.safetensors -o ${D}/ref.so)
run(${FABC} build ${M} --target cpu --embed-weights --weights ${D}/hf.safetensors
    --weight-map ${D}/map.json -o ${D}/map.so)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${D}/ref.so ${D}/map.so RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the library built from the mapped weights differs from the reference")
endif()

# The options need --weights.
execute_process(COMMAND ${FABC} run ${M} --allow-unused RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "apply to --weights")
  message(FATAL_ERROR "--allow-unused without --weights: status ${rc}\n${err}")
endif()
