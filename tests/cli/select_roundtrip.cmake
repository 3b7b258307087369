# fabc select writes the chosen architecture both as IR and as .fab (the
# supernet's source + select lines); both run to the same outputs.  The
# selection runs with a -D: the .fab records it (`select dim seq = 32;`) and
# compiles on its own, with no -D, to the model that was scored.
set(common --task majority --proposals 2 --valid-batches 3 --seed 3 -D seq=32)
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
file(STRINGS ${OUT}/chosen.fab sel REGEX "^select \"")
list(LENGTH sel nsel)
if(NOT nsel EQUAL 2)
  message(FATAL_ERROR "expected 2 select lines, got: ${sel}")
endif()
file(READ ${OUT}/chosen.fab chosen)
string(REGEX MATCHALL "\nselect dim " dims "${chosen}")
list(LENGTH dims ndims)
if(NOT ndims EQUAL 1 OR NOT chosen MATCHES "\nselect dim seq = 32;\n")
  message(FATAL_ERROR "expected one line `select dim seq = 32;` in:\n${chosen}")
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

# The same file without its `select dim` line is the supernet with its
# edges fixed: compiled with the -D it gives chosen.fab's IR; without it,
# another model (seq 16), so the line is what carries the -D.
string(REGEX REPLACE "\nselect dim [^\n]*" "" nodims "${chosen}")
file(WRITE ${OUT}/chosen_nodims.fab "${nodims}")
function(emit_ir file out)
  execute_process(COMMAND ${FABC} emit --ir ${file} -I ${EX} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE ir ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc emit --ir ${file} ${ARGN} failed (${rc}): ${err}")
  endif()
  set(${out} "${ir}" PARENT_SCOPE)
endfunction()
emit_ir(${OUT}/chosen.fab alone)
emit_ir(${OUT}/chosen_nodims.fab with_d -D seq=32)
emit_ir(${OUT}/chosen_nodims.fab without_d)
if(NOT alone STREQUAL with_d)
  message(FATAL_ERROR "chosen.fab alone and the supernet selected with -D seq=32 differ:\n${alone}\n---\n${with_d}")
endif()
if(alone STREQUAL without_d OR NOT alone MATCHES "i32\\[32\\]")
  message(FATAL_ERROR "chosen.fab does not carry seq=32:\n${alone}")
endif()
# A -D on the command line still wins over the file's `select dim`.
emit_ir(${OUT}/chosen.fab cmdline -D seq=16)
if(NOT cmdline STREQUAL without_d)
  message(FATAL_ERROR "-D seq=16 did not override chosen.fab's select dim")
endif()
