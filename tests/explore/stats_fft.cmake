# stats_fft.cmake — `fabc stats` counts a non-power-of-two Fourier axis as
# the mixed-radix FFT lower-fourier produces (explore/stats.c), the same
# on the high-level fourier.mix and on its lowered fft.stages {radix}, and
# a lowered dense `dft` as 4n MACs per element.  tiny.fab at seq 12
# (2·2·3) and d 20 (2·2·5): along d 12 rows × (2 radix-2 stages × 2·20 +
# one radix-5 stage 4·20·4) = 12 × 400 = 4800; along seq 20 × (2·2·12 +
# 4·12·2) = 20 × 144 = 2880; 7680 in all (the old count, a dense DFT per
# non-power-of-two axis, gave 30720).
# -DFABC -DEXAMPLES -DOUT
function(macs_of json kind result)
  string(JSON n LENGTH "${json}" layers)
  math(EXPR last "${n} - 1")
  set(sum 0)
  foreach(i RANGE ${last})
    string(JSON k GET "${json}" layers ${i} kind)
    if(k STREQUAL kind)
      string(JSON m GET "${json}" layers ${i} macs)
      math(EXPR sum "${sum} + ${m}")
    endif()
  endforeach()
  set(${result} ${sum} PARENT_SCOPE)
endfunction()

function(stats file result)
  execute_process(COMMAND ${FABC} stats --json ${file} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc stats ${file}: exit ${rc}\n${err}")
  endif()
  set(${result} "${out}" PARENT_SCOPE)
endfunction()

function(lowered passes result)
  execute_process(COMMAND ${FABC} opt ${EXAMPLES}/tiny.fab -D seq=12 -D d=20 --passes ${passes} -o ${OUT}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fabc opt --passes ${passes}: exit ${rc}\n${err}")
  endif()
  stats(${OUT} j)
  set(${result} "${j}" PARENT_SCOPE)
endfunction()

function(expect_eq what got want)
  if(NOT got EQUAL want)
    message(FATAL_ERROR "${what}: ${got} MACs, expected ${want}")
  endif()
  message(STATUS "${what}: ${got} MACs")
endfunction()

stats(${EXAMPLES}/tiny.fab high -D seq=12 -D d=20)
macs_of("${high}" fourier.mix mix)
expect_eq("fourier.mix, seq 12, d 20" ${mix} 7680)
lowered(lower-fourier low)
macs_of("${low}" fft.stages fft)
expect_eq("lowered fft.stages {radix}" ${fft} 7680)
string(JSON total_high GET "${high}" total macs)
string(JSON total_low GET "${low}" total macs)
expect_eq("whole model, lowered against high level" ${total_low} ${total_high})
lowered("lower-fourier(dense-max=32)" dense)
macs_of("${dense}" dft dft)
expect_eq("lowered dense dft (dense-max=32)" ${dft} 30720)
# a power of two is unchanged: 2·n·log2 n per row (16: 16 × 128 twice)
stats(${EXAMPLES}/tiny.fab pow2)
macs_of("${pow2}" fourier.mix mix16)
expect_eq("fourier.mix, seq 16, d 16" ${mix16} 4096)
