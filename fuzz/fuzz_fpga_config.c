/* fuzz_fpga_config.c — the accelerator configuration reader.
 *
 * parse -> validate; a valid configuration is written back as canonical
 * JSON, which must parse, validate and compare equal, and re-serialise to
 * the same text. */
#include "fbin.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fab_fpga_config c, c2;
  char err[256], what[64];
  if (fab_fpga_config_parse((const char *)data, size, "fuzz.json", &c, err, sizeof err) != FAB_OK)
    return 0;
  if (fab_fpga_config_validate(&c, err, sizeof err) != FAB_OK) return 0;
  (void)fab_fpga_bank_words(&c);
  char *j1 = fab_fpga_config_to_json(&c);
  FUZZ_CHECK(j1 != NULL, "to_json failed");
  fab_status st = fab_fpga_config_parse(j1, strlen(j1), "canonical", &c2, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "canonical JSON does not parse: %s\n%s", err, j1);
  st = fab_fpga_config_validate(&c2, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "canonical JSON does not validate: %s\n%s", err, j1);
  FUZZ_CHECK(fab_fpga_config_equal(&c, &c2, what, sizeof what), "field '%s' differs\n%s", what, j1);
  char *j2 = fab_fpga_config_to_json(&c2);
  FUZZ_CHECK(j2 && strcmp(j1, j2) == 0, "canonical JSON is not stable");
  free(j1);
  free(j2);
  return 0;
}
