# Fixture of the weight_errors cases: tiny.fab's seeded weights and inputs,
# and variants of the weights as other tools save them.  Needs FABC,
# STEDIT, EX, OUT.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
file(MAKE_DIRECTORY ${OUT})
set(w ${OUT}/w.safetensors)
run(${FABC} init ${EX}/tiny.fab -o ${w} --inputs ${OUT}/x.safetensors --seed 1)
run(${STEDIT} ${w} ${OUT}/prefixed.safetensors prefix=model.)
run(${STEDIT} ${w} ${OUT}/dup.safetensors prefix=model. add=head.bias:F32:4)
run(${STEDIT} ${w} ${OUT}/unsqueezed.safetensors unsqueeze=pos.weight)
run(${STEDIT} ${w} ${OUT}/middle1.safetensors reshape=pos.weight:16,1,16)
run(${STEDIT} ${w} ${OUT}/buffers.safetensors add=embed.position_ids:I64:1,16 add=layers.0.norm1.num_batches_tracked:I64:)
run(${STEDIT} ${w} ${OUT}/bare_param.safetensors rename=pos.weight:pos)
run(${STEDIT} ${w} ${OUT}/q_proj.safetensors rename=layers.1.attn.q.twiddle:layers.1.attn.q_proj.twiddle
    rename=layers.1.attn.q.bias:layers.1.attn.q_proj.bias)
