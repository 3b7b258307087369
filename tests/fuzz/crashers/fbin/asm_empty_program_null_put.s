.config {"name":"small","device":"generic","clock_mhz":200.0,"p_be":4,"p_bu":4,"be_rams":8,"be_depth":64,"cb_depth":16384,"att_mults":64,"exp_units":8,"ppu_lanes":16,"vm_words":65536,"bw_in":256,"bw_coef":256,"bw_out":256,"format":"fp32","efficiency":0.84999999999999998}
.mem 512
.model_cycles 0
.tensor input x f32 @0 [4,64]
.tensor output y f32 @256 [4,64]
     0: ;ait=ld|ppu  ; st
